"""joint_nouns.py: the joint space names places and nature where the ImageNet classifier is unsure."""

from __future__ import annotations

import numpy as np
import pytest
from test_grounding import probs_for  # a class-probability vector with the named shares

from photosearch.vision.captioner import joint_nouns, people
from photosearch.vision.captioner.grounding import grounded_sentence, noun_masses
from photosearch.vision.captioner.joint_nouns import NOUNS, JointNoun, SeenNoun


def noun(word: str) -> JointNoun:
    return next(n for n in NOUNS if word in n.forms)


def test_the_nouns_are_things_and_places_each_with_its_article() -> None:
    words = {form for n in NOUNS for form in n.forms}
    assert {"beach", "flowers", "sky", "lake", "tree", "snow", "dog"} <= words
    assert not words & set(people.PERSON_WORDS)  # people.py decides about people
    assert all(n.article in ("a", "the", "") for n in NOUNS)
    assert [noun(w).phrase for w in ("dog", "umbrella", "sky", "flowers")] == ["a dog", "an umbrella", "the sky",
                                                                             "flowers"]
    assert joint_nouns.phrases()[:2] == [NOUNS[0].phrase, NOUNS[1].phrase]


def test_the_likeliest_noun_and_its_probability_at_the_heads_temperature() -> None:
    phrases = np.eye(len(NOUNS), dtype=np.float32)  # each noun's phrase its own axis
    sky, lake = NOUNS.index(noun("sky")), NOUNS.index(noun("lake"))
    photo = np.zeros((2, len(NOUNS)), np.float32)
    photo[0, sky] = 1.0  # cos 1 with "the sky", 0 with every other phrase
    photo[1, [sky, lake]] = np.sqrt(0.5)  # halfway between two
    seen = joint_nouns.likeliest(photo, phrases, scale=20.0)
    assert seen[0].noun == noun("sky")
    expected = np.exp(20.0) / (np.exp(20.0) + len(NOUNS) - 1)  # softmax of scale * cosines
    assert seen[0].probability == pytest.approx(expected, rel=1e-5)
    assert seen[1].noun in (noun("sky"), noun("lake")) and seen[1].probability == pytest.approx(0.5, abs=0.01)
    assert joint_nouns.sure_nouns(seen, sure=0.6) == [seen[0], None]


def test_the_grounded_sentence_names_what_the_joint_space_is_sure_of_first() -> None:
    sky = SeenNoun(noun("sky"), 0.8)
    unsure = noun_masses(probs_for(parachute=0.19, wing=0.08))
    assert grounded_sentence(unsure, sky) == "Possibly the sky or a parachute."
    assert grounded_sentence(unsure) == "Possibly a parachute."
    # a sure classifier keeps its noun; the joint space's agreeing noun adds nothing ("flowers" over a daisy)
    assert grounded_sentence(noun_masses(probs_for(espresso=0.9)), sky) == "A photo of an espresso."
    daisy = noun_masses(probs_for(daisy=0.2, bee=0.05))
    assert grounded_sentence(daisy, SeenNoun(noun("flowers"), 0.7)) == grounded_sentence(daisy)
    assert grounded_sentence([], sky) == "Possibly the sky."


class PhraseAxes:
    """A text model that puts each joint noun's phrase on its own axis and every other sentence at 0."""

    dim = len(NOUNS)

    def embed(self, sentences: list[str]) -> np.ndarray:
        axes = {phrase: i for i, phrase in enumerate(joint_nouns.phrases())}
        out = np.zeros((len(sentences), self.dim), np.float32)
        for row, sentence in enumerate(sentences):
            if sentence in axes:
                out[row, axes[sentence]] = 1.0
        return out


class SeesOneNoun:
    """A joint space in which every photo lies on one noun's axis."""

    name = "sees-one-noun"
    scale = 20.0

    def __init__(self, word: str) -> None:
        self.axis = NOUNS.index(noun(word))

    def image_vectors(self, grid) -> np.ndarray:  # noqa: ANN001 - the encoder's grid [B, 49, 1280]
        out = np.zeros((grid.shape[0], PhraseAxes.dim), np.float32)
        out[:, self.axis] = 1.0
        return out

    def text_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, np.float32)


def test_the_describer_names_the_joint_spaces_noun_where_the_classifier_is_unsure() -> None:
    """Through the Describer, with the real encoder and captioner: a photo of green noise, of which the classifier
    is unsure, in a joint space that sees the sky in it: the grounded sentence names the sky first. The caption
    is made as without the joint space (no constraint from it). With the joint space unsure, the sentence is
    the classifier's alone."""
    from PIL import Image

    from photosearch.services.describe import Describer
    from photosearch.vision.captioner.captioner import Captioner
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    rng = np.random.default_rng(0)
    noise = np.clip(np.array([60, 140, 50]) + rng.normal(0, 30, (224, 224, 3)), 0, 255).astype(np.uint8)
    photo = Image.fromarray(noise)
    encoder, captioner = EfficientNetLite0Encoder(), Captioner.load()
    (sure,) = Describer(encoder, captioner, SeesOneNoun("sky"), PhraseAxes()).describe([photo])
    assert max(label["score"] for label in sure.labels) < 0.3  # the classifier is unsure
    assert sure.grounded_caption.startswith("Possibly the sky or "), sure.grounded_caption
    unsure = SeesOneNoun("sky")
    unsure.scale = 0.0  # every noun equally likely: none is sure
    (plain,) = Describer(encoder, captioner, unsure, PhraseAxes()).describe([photo])
    assert plain.grounded_caption.startswith("Possibly ") and "sky" not in plain.grounded_caption
    guess = plain.grounded_caption.removeprefix("Possibly ").split(" or ")[0].rstrip(".")  # the classifier's
    assert sure.grounded_caption == f"Possibly the sky or {guess}."
    assert sure.caption == plain.caption
