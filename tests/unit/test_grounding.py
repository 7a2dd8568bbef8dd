"""Grounding captions in the classifier (vision/captioner/grounding.py): which nouns a caption must use,
the labels' own sentence, and the caption's confidence."""

from __future__ import annotations

import torch

from photosearch.vision.captioner.grounding import (
    CONSTRAINT_MIN_MASS,
    caption_confidence,
    confident_nouns,
    grounded_sentence,
    hedged_masses,
    noun_masses,
    plural,
    shown_text,
    with_article,
)
from photosearch.vision.labels import IMAGENET_CLASSES


def probs_for(**shares: float) -> torch.Tensor:
    """A probability vector [1000] giving each named class its share; the rest spread thinly."""
    probs = torch.full((1000,), 0.0)
    for name, share in shares.items():
        probs[IMAGENET_CLASSES.index(name.replace("_", " "))] = share
    rest = 1.0 - probs.sum()
    probs[probs == 0] = rest / int((probs == 0).sum())
    return probs


def test_breeds_add_up_to_one_sure_noun() -> None:
    """Three dog breeds at 0.3, 0.25, 0.2: no breed is sure, but "dog" is (0.75)."""
    probs = probs_for(golden_retriever=0.3, Labrador_retriever=0.25, kuvasz=0.2)
    masses = noun_masses(probs)
    assert masses[0].noun == "dog" and abs(masses[0].mass - 0.75) < 1e-3
    assert [n.noun for n in confident_nouns(masses)] == ["dog"]


def test_no_constraint_when_the_classifier_is_unsure_and_at_most_two() -> None:
    assert confident_nouns(noun_masses(probs_for(espresso=0.2, cup=0.15))) == []
    two = confident_nouns(noun_masses(probs_for(espresso=0.55, zebra=0.4)), min_mass=0.3)
    assert [n.noun for n in two] == ["espresso", "zebra"]
    assert len(confident_nouns(noun_masses(probs_for(espresso=0.3, zebra=0.3, tabby=0.3)), min_mass=0.2)) == 2


def test_grounded_sentence_says_only_what_the_labels_say() -> None:
    assert grounded_sentence(noun_masses(probs_for(espresso=0.9))) == "A photo of an espresso."
    assert grounded_sentence(noun_masses(probs_for(zebra=0.3, sorrel=0.25))) == "Possibly a zebra or a horse."
    assert grounded_sentence(noun_masses(probs_for(zebra=0.3, sorrel=0.05))) == "Possibly a zebra."
    assert grounded_sentence([]) == "A photo."
    assert with_article("sunglasses") == "sunglasses" and with_article("bus") == "a bus"


def test_confidence_says_which_sentence_the_joint_space_finds_closer_to_the_photo() -> None:
    assert caption_confidence(0.40, 0.40) == 0.5  # a tie
    assert caption_confidence(0.60, 0.25) == 0.85 > 0.5 > caption_confidence(0.20, 0.45) == 0.25
    assert caption_confidence(0.9, -0.3) == 1.0 and caption_confidence(-0.3, 0.9) == 0.0  # clipped


def test_the_card_shows_the_grounded_sentence_only_for_an_unsure_or_missing_caption() -> None:
    assert shown_text("a cat on a bed", 0.7, "A photo of a cat.") == "caption"
    assert shown_text("a man on a clock", 0.45, "A photo of a clock.") == "grounded"
    assert shown_text(None, None, "Possibly a cat.") == "grounded"  # labels only
    assert shown_text("a cat on a bed", None, "A photo of a cat.") == "caption"  # no joint space to ask
    assert shown_text("a cat on a bed", 0.1, None) == "caption"  # nothing else to show


def test_a_split_subject_falls_back_to_its_category() -> None:
    """No single flower is sure, but together they are: the caption must say "flower"."""
    probs = probs_for(**{"daisy": 0.2, "yellow lady's slipper": 0.15})  # a daisy or an orchid: a flower
    masses = noun_masses(probs)
    assert masses[0].mass < CONSTRAINT_MIN_MASS
    assert [n.noun for n in confident_nouns(masses)] == ["flower"]
    assert confident_nouns(noun_masses(probs_for(daisy=0.15, zebra=0.15))) == []


def test_hedging_climbs_to_the_category_that_is_sure() -> None:
    """A butterfly at 0.3 and a bee at 0.25: neither is sure, but "insect" is (0.55); "animal" is never a
    constraint (too broad), and a sure noun beats its own category."""
    masses = noun_masses(probs_for(sulphur_butterfly=0.3, bee=0.25))
    hedges = {h.noun: h.mass for h in hedged_masses(masses)}
    assert abs(hedges["insect"] - 0.55) < 1e-3 and "animal" not in hedges
    assert [h.noun for h in confident_nouns(masses, min_mass=0.5)] == ["insect"]
    assert [h.noun for h in confident_nouns(masses, min_mass=0.3)] == ["butterfly"]
    only_animal = noun_masses(probs_for(tabby=0.3, golden_retriever=0.3))  # cat 0.3, dog 0.3: "animal" 0.6
    assert confident_nouns(only_animal, min_mass=0.5) == []
    espresso = confident_nouns(noun_masses(probs_for(espresso=0.9)))
    assert [h.noun for h in espresso] == ["espresso"]


def test_a_constraint_is_met_by_the_noun_or_its_nearest_category() -> None:
    assert confident_nouns(noun_masses(probs_for(alp=0.8)))[0].words == ("alp", "alps", "mountain", "mountains")
    assert confident_nouns(noun_masses(probs_for(canoe=0.9)))[0].words == ("canoe", "canoes", "boat", "boats")
    assert confident_nouns(noun_masses(probs_for(Egyptian_cat=0.9)))[0].words == ("cat", "cats")  # not "feline"
    insect = confident_nouns(noun_masses(probs_for(sulphur_butterfly=0.3, bee=0.25)), min_mass=0.5)[0]
    assert insect.words == ("insect", "insects")
    assert confident_nouns(noun_masses(probs_for(bubble=0.8)))[0].words == ("bubble", "bubbles")  # not "ball"
    assert [plural(w) for w in ("bus", "cherry", "monkey", "dog", "match")] == [
        "buses", "cherries", "monkeys", "dogs", "matches"]


def test_grounded_sentence_uses_the_hedged_subject() -> None:
    masses = noun_masses(probs_for(sulphur_butterfly=0.3, bee=0.25))
    assert grounded_sentence(masses) == "A photo of an insect."
    # No noun and no category is sure; the insects together (0.35) are likelier than the butterfly (0.2).
    assert grounded_sentence(noun_masses(probs_for(sulphur_butterfly=0.2, bee=0.15))) == "Possibly an insect."


def test_dog_words_are_banned_only_where_the_dog_breeds_hold_almost_no_probability() -> None:
    import torch

    from photosearch.vision.captioner.grounding import DOG_WORDS, NO_DOG_BELOW, no_dog_bans
    from photosearch.vision.labels import IMAGENET_CLASSES, classes_named

    dogs = classes_named("dog")
    assert len(dogs) == 118 and IMAGENET_CLASSES.index("golden retriever") in dogs
    espresso = IMAGENET_CLASSES.index("espresso")
    probs = torch.zeros(3, 1000)
    probs[0, espresso] = 1.0  # sure of an espresso
    probs[1, espresso] = 0.9  # an espresso, and a little spread over many breeds: together enough to keep "dog"
    probs[1, list(dogs)] = 0.1 / len(dogs)
    probs[2, dogs[0]] = NO_DOG_BELOW / 2  # one breed, too little
    probs[2, espresso] = 1 - NO_DOG_BELOW / 2
    assert no_dog_bans(probs) == [DOG_WORDS, (), DOG_WORDS]


def test_caption_bans_join_the_dog_and_the_people_checks_and_skip_what_is_missing() -> None:
    import numpy as np

    from photosearch.vision.captioner import people
    from photosearch.vision.captioner.grounding import DOG_WORDS, caption_bans

    probs = torch.zeros(2, 1000)
    probs[:, IMAGENET_CLASSES.index("espresso")] = 1.0  # no dog in either photo
    scores = np.array([0.3, -0.5], np.float32)  # people in the first photo only
    assert caption_bans(probs, scores) == [DOG_WORDS, people.BANNED_WITHOUT_PEOPLE + DOG_WORDS]
    assert caption_bans(probs) == [DOG_WORDS, DOG_WORDS]  # no joint space: the dog check alone
    assert caption_bans(None, scores) == [(), people.BANNED_WITHOUT_PEOPLE]  # no classifier: the people check alone
    assert caption_bans(None) == []
    assert caption_bans(probs, scores, people_below=0.5)[0] == people.BANNED_WITHOUT_PEOPLE + DOG_WORDS
