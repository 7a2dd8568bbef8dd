"""What the joint space recognises: a second, open source of subject nouns beside the ImageNet classifier.

The classifier (grounding.py) knows 1,000 things but no places and few scenes of nature: a pier in fog is a
"beacon" at 0.19, a forest path a "mountain tent" at 0.09, a field of flowers a "daisy" at 0.15. The joint
image-text space of semantic search (text/retrieval.py) learned from Flickr8k's captions, so it knows what
those talk about: places (beach, lake, street), nature (flowers, trees, sky, snow) and what people hold or
ride. NOUNS (joint_nouns.json, made by scripts/make_joint_nouns.py) are those nouns, each as the forms a
caption may use (["flowers", "flower"]) and the article the captions put before it ("a dog", "the sky",
"flowers"). A photo's vector is compared with each noun's phrase, at the head's own learned temperature:

    p(noun | photo) = softmax over NOUNS of  scale * cos(photo, "the sky")     photos [N, d], phrases [V, d]

Where the classifier is sure of nothing, the joint space's likeliest noun at p >= SURE (0.4) is what the grounded
sentence names first ("Possibly the sky or a parachute." for a kite in the sky, where the classifier alone said
"Possibly a parachute."). On the 577 Flickr8k dev photos where the classifier is unsure, the joint space's
likeliest noun is in the photo's references twice as often as the classifier's (37 % vs 17 %; on the 249 where
the joint space is sure, 55 % vs 26 %: scripts/eval_joint_nouns.py). It is weak where Flickr8k is silent (an
espresso is "a greyhound" to it): that is why the classifier, when sure, comes first. As a constraint on the
caption it did not hold up: chosen on dev, it cost the test split's BLEU-4 (0.2123 -> 0.2096), so captions are
made as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NOUNS_FILE = Path(__file__).with_name("joint_nouns.json")
# Chosen on the Flickr8k dev split (docs/captioner-eval.md, round 14) for the grounded sentence alone: at 0.4 the
# joint space is sure on 249 of the 577 photos the classifier is unsure of and its noun is right on 136 (the
# classifier's on 64); at 0.5 (round 13, chosen when the noun was also the caption's constraint) 102 of 171. The
# shown text's dev BLEU-4 stays (0.2100 -> 0.2098); at 0.3 its CIDEr-D falls further.
SURE = 0.4


@dataclass(frozen=True)
class JointNoun:
    forms: tuple[str, ...]  # the words that name it, the usual one first: ("flowers", "flower")
    article: str  # what the captions most often put before it: "a" (said "an" before a vowel), "the" or ""

    @property
    def phrase(self) -> str:
        """"a dog", "an umbrella", "the sky", "flowers": how a sentence names it."""
        word = self.forms[0]
        if self.article == "a":
            return ("an " if word[0] in "aeiou" else "a ") + word
        return f"{self.article} {word}".strip()


NOUNS: tuple[JointNoun, ...] = tuple(
    JointNoun(tuple(n["forms"]), n["article"]) for n in json.loads(NOUNS_FILE.read_text())["nouns"]
)


@dataclass(frozen=True)
class SeenNoun:
    noun: JointNoun
    probability: float  # p(noun | photo) over NOUNS

    @property
    def forms(self) -> tuple[str, ...]:
        return self.noun.forms


def phrases() -> list[str]:
    """The phrase each noun is embedded as, in NOUNS order."""
    return [noun.phrase for noun in NOUNS]


def likeliest(image_vectors: np.ndarray, phrase_vectors: np.ndarray, scale: float) -> list[SeenNoun]:
    """Per photo the likeliest noun and its probability. image_vectors [N, d] and phrase_vectors [V, d] (the
    joint-space vectors of `phrases()`) have unit rows; scale is the head's inverse temperature."""
    import torch  # not numpy's matmul: OpenBLAS's own threads spun beside the models' and slowed ingest by 20 %

    photos = torch.as_tensor(np.asarray(image_vectors, np.float32))  # [N, d]
    nouns = torch.as_tensor(np.asarray(phrase_vectors, np.float32))  # [V, d]
    probs = (scale * photos @ nouns.T).softmax(dim=1)  # [N, V]
    best, index = probs.max(dim=1)  # [N]
    return [SeenNoun(NOUNS[j], p) for p, j in zip(best.tolist(), index.tolist(), strict=True)]


def sure_nouns(seen: list[SeenNoun], sure: float = SURE) -> list[SeenNoun | None]:
    """Per photo the noun the joint space is sure of, or None."""
    return [s if s.probability >= sure else None for s in seen]
