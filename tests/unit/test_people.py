"""people.py: person words are banned from the captions of photos the joint space sees no people in."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from photosearch.vision.captioner import people


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_people_score_is_best_person_prompt_minus_best_other_prompt() -> None:
    n_people, n_other = len(people.PERSON_PROMPTS), len(people.OTHER_PROMPTS)
    prompts = np.eye(n_people + n_other, dtype=np.float32)  # each prompt its own axis
    person_photo = unit([0.9] + [0.0] * (n_people - 1) + [0.1] + [0.0] * (n_other - 1))
    thing_photo = unit([0.1] + [0.0] * (n_people - 1) + [0.0] * (n_other - 1) + [0.9])
    scores = people.people_scores(np.stack([person_photo, thing_photo]), prompts)
    assert scores[0] == pytest.approx(person_photo[0] - person_photo[n_people], abs=1e-6)
    assert scores[0] > 0 > scores[1]
    bans = people.banned_words(scores)
    assert bans[0] == () and "man" in bans[1] and "people" in bans[1]
    # no one to wear a jacket either ("a daisy in a yellow jacket")
    assert {"jacket", "shirt", "wearing"} <= set(bans[1])


def test_a_word_the_classifier_asks_for_is_not_banned() -> None:
    """A photo the people check sees no one in may still be of a helmet: the constraint wins over the ban, and the
    other banned words stay banned."""
    from photosearch.vision.captioner.captioner import Captioner

    captioner = Captioner.load()
    grid = torch.zeros(1, 49, 1280)
    banned = [people.BANNED_WITHOUT_PEOPLE]
    free = captioner.caption(grid, beam_size=3, banned=banned)[0][0]
    helmet = captioner.caption(grid, beam_size=3, required=[[("helmet", "helmets")]], banned=banned)[0][0]
    assert "helmet" in helmet.words or "helmets" in helmet.words, helmet.words
    for caption in (free, helmet):
        assert not (set(caption.words) - {"helmet", "helmets"}) & set(people.BANNED_WITHOUT_PEOPLE), caption.words


def test_the_app_keeps_people_out_of_an_espresso_and_in_a_portrait() -> None:
    """Through the product's Describer: skimage's espresso photo used to be 'a brown dog is sitting on a ...'
    or 'a man ...'; the astronaut's portrait must still be about a person."""
    from skimage import data

    from photosearch.services.describe import Describer

    describer = Describer.default()
    coffee, astronaut = describer.describe([Image.fromarray(data.coffee()), Image.fromarray(data.astronaut())])
    assert not set(coffee.caption.split()) & set(people.PERSON_WORDS), coffee.caption
    assert set(astronaut.caption.split()) & {"man", "woman", "person", "girl", "boy", "lady"}, astronaut.caption
    assert all(not set(a["text"].split()) & set(people.PERSON_WORDS) for a in coffee.alternatives)
    # nor a dog: the classifier's dog breeds hold almost nothing of an espresso (grounding.no_dog_bans)
    assert all(not set(a["text"].split()) & {"dog", "dogs", "puppy"} for a in coffee.alternatives)


def test_the_caption_confidence_compares_both_sentences_in_the_joint_space() -> None:
    """Through the product's Describer: each photo's confidence is 0.5 + cos(photo, caption) - cos(photo, grounded
    sentence) in the retrieval head's space, worked out here on its own; the card shows whichever is closer."""
    from skimage import data

    from photosearch.services.describe import Describer

    describer = Describer.default()
    photos = [Image.fromarray(p).convert("RGB") for p in (data.coffee(), data.astronaut(), data.chelsea())]
    head, text = describer.retrieval, describer.text_embedder
    for d in describer.describe(photos):
        caption, grounded = head.text_vectors(text.embed([d.caption, d.grounded_caption]))
        expected = 0.5 + float(d.image_vector @ caption) - float(d.image_vector @ grounded)
        assert d.caption_confidence == pytest.approx(min(1.0, max(0.0, expected)), abs=2e-3)
        assert d.shown == ("caption" if d.caption_confidence >= 0.5 else "grounded"), d
