"""Grounding captions in the classifier: which label nouns a caption must use, and how far to trust it.

The captioner learned its words from Flickr8k (people and dogs); the ImageNet classifier in the same encoder
pass knows 1,000 kinds of thing. Three small pieces join them:

  confident_nouns(masses)  the classifier's sure subjects as plain nouns (vision/labels.py): class
                           probabilities are summed per noun (118 dog breeds all say "dog"), and a noun
                           counts when its mass reaches CONSTRAINT_MIN_MASS; at most two, none when unsure.
                           These become the beam search's constraints (beam.py).
  grounded_sentence(...)   a sentence made from the labels alone ("A photo of an espresso."), shown when the
                           caption is not to be trusted.
  caption_confidence(...)  0..1 from (a) agreement: does the caption name what the classifier is sure of (the
                           noun or one of its categories)? and (b) the decoder's own geometric-mean word
                           probability. Below SHOW_CAPTION_MIN the product shows the grounded sentence.

The thresholds were chosen on the Flickr8k dev split and the real-photo set (docs/captioner-eval.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from photosearch.vision.labels import label_nouns

CONSTRAINT_MIN_MASS = 0.5  # a noun's summed class probability before the caption must use it
MAX_CONSTRAINTS = 2
GROUND_SURE_MASS = 0.5  # the grounded sentence says "A photo of X" from here, "Possibly X" below
SHOW_CAPTION_MIN = 0.5
NOT_SUBJECTS = {"web site", "menu", "comic book", "book jacket", "envelope"}  # label nouns that are no subject


@dataclass(frozen=True)
class NounMass:
    noun: str
    mass: float  # summed probability of the classes with this noun
    hypernyms: tuple[str, ...]


def noun_masses(probs: torch.Tensor) -> list[NounMass]:
    """probs [1000] (softmax of one photo's logits) -> nouns by summed probability, largest first."""
    values, indices = probs.float().topk(20)
    masses: dict[str, float] = {}
    hypernyms: dict[str, tuple[str, ...]] = {}
    for value, index in zip(values.tolist(), indices.tolist(), strict=True):
        nouns = label_nouns(index)
        masses[nouns.noun] = masses.get(nouns.noun, 0.0) + value
        hypernyms.setdefault(nouns.noun, nouns.hypernyms)
    ranked = sorted(masses.items(), key=lambda item: item[1], reverse=True)
    return [NounMass(noun, mass, hypernyms[noun]) for noun, mass in ranked]


def category_masses(masses: list[NounMass]) -> list[NounMass]:
    """Nouns pooled by their nearest everyday category (daisy 0.3 + sunflower 0.2 -> flower 0.5)."""
    pooled: dict[str, float] = {}
    above: dict[str, tuple[str, ...]] = {}
    for n in masses:
        category = n.hypernyms[0] if n.hypernyms else n.noun
        pooled[category] = pooled.get(category, 0.0) + n.mass
        above.setdefault(category, n.hypernyms[1:] if n.hypernyms else ())
    ranked = sorted(pooled.items(), key=lambda item: item[1], reverse=True)
    return [NounMass(c, m, above[c]) for c, m in ranked]


def confident_nouns(
    masses: list[NounMass], min_mass: float = CONSTRAINT_MIN_MASS, limit: int = MAX_CONSTRAINTS
) -> list[NounMass]:
    """The classifier's sure subjects (at most `limit`) from noun_masses(probs); when no single noun is sure,
    the category they share if that is ("flower" for a photo split between daisy and sunflower); none when
    the classifier is unsure."""
    sure = [n for n in masses if n.mass >= min_mass and n.noun not in NOT_SUBJECTS][:limit]
    if sure or not limit:
        return sure
    return [c for c in category_masses(masses) if c.mass >= min_mass and c.noun not in NOT_SUBJECTS][:1]


def with_article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is", "os")):
        return noun  # sunglasses, trunks: no article
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def grounded_sentence(masses: list[NounMass]) -> str:
    """A sentence that says only what the classifier says, as surely as it says it."""
    if not masses:
        return "A photo."
    top = masses[0]
    if top.mass >= GROUND_SURE_MASS:
        return f"A photo of {with_article(top.noun)}."
    if len(masses) > 1 and masses[1].mass >= 0.5 * top.mass:
        return f"Possibly {with_article(top.noun)} or {with_article(masses[1].noun)}."
    return f"Possibly {with_article(top.noun)}."


def caption_confidence(words: list[str], logprob: float, masses: list[NounMass]) -> float:
    """0..1: half agreement with the classifier's sure subject, half the decoder's own word probability."""
    model = math.exp(logprob / (len(words) + 1))  # geometric-mean probability per word (incl. <end>)
    sure = [m for m in masses if m.mass >= CONSTRAINT_MIN_MASS]
    if sure:
        said = set(words)
        agreement = 1.0 if any(m.noun in said or said & set(m.hypernyms) for m in sure) else 0.0
    else:
        agreement = 0.5  # the classifier cannot vouch either way
    return round(0.5 * agreement + 0.5 * model, 3)
