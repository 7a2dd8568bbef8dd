"""Grounding captions in the classifier: which label nouns a caption must use, and how far to trust it.

The captioner learned its words from Flickr8k (people and dogs); the ImageNet classifier in the same encoder
pass knows 1,000 kinds of thing. A few small pieces join them:

  confident_nouns(masses)  the classifier's sure subjects, hedged up WordNet (Deng et al. 2012, "Hedging
                           your bets"): class probabilities are summed per noun (118 dog breeds all say
                           "dog") and per everyday category above it (daisy + orchid -> "flower"); the most
                           specific noun or category whose mass reaches CONSTRAINT_MIN_MASS counts; at most
                           two, none when unsure. These become the beam search's constraints (beam.py),
                           each met by the noun or its nearest category ("alp" or "mountain").
  grounded_sentence(...)   a sentence made from the labels alone ("A photo of an espresso."), shown when the
                           caption is not to be trusted. Where the classifier is unsure, the noun the joint
                           space is sure of (joint_nouns.py: places and nature) comes first ("Possibly the sky
                           or a parachute.").
  no_dog_bans(probs)       the words "dog"/"puppy" a caption may not use: where the 118 dog breeds together
                           hold almost no probability (Flickr8k's decoder names a dog in photos of coffee,
                           coins and flowers). caption_bans(probs, people_scores) joins it with
                           people.py's person words: every word a caption may not use.
  caption_confidence(...)  0..1: which of the two sentences the joint image-text space of semantic search
                           (text/retrieval.py) finds closer to the photo, and by how much. 0.5 is a tie;
                           below SHOW_CAPTION_MIN the product shows the grounded sentence. On the Flickr8k
                           dev split this shows the caption for 91 % of photos (shown text BLEU-4 0.210); the
                           previous rule, agreement with a sure label plus the decoder's own word probability,
                           hid 57 % of them behind "Possibly a jersey." (0.142, docs/captioner-eval.md).

The thresholds were chosen on the Flickr8k dev split and the real-photo set (docs/captioner-eval.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photosearch.vision.captioner import people
from photosearch.vision.labels import classes_named, label_nouns

if TYPE_CHECKING:  # torch only at run time of the functions given tensors: the search server never imports it
    import torch

    from photosearch.vision.captioner.joint_nouns import SeenNoun

# Part of every description's caption_model: captions change when the grounding does (which nouns are
# forced), so `photosearch redescribe` must redo photos described under an older version.
GROUNDING_VERSION = "hedged-8"  # 3: no person words where the joint space sees no people (people.py); 4: no dog
# words where the classifier sees no dog (no_dog_bans), and the caption's confidence from the joint space; 5: five
# players and a hair spray no longer called "instrumentation" (label_nouns.json); 6: no word on both sides of
# "and" (beam.py: "a brown and brown dog"); 7: the joint space's sure noun where the classifier is unsure
# (joint_nouns.py); 8: no clothes where the people check sees no one to wear them (people.py), and the joint
# space's noun from p 0.4
# A noun's (or category's) summed class probability before the caption must use it. Chosen on the Flickr8k
# dev split (docs/captioner-eval.md): novel-object F1 0.580 / 0.616 / 0.619 at 0.5 / 0.4 / 0.3 while BLEU-4
# stayed at or above the previous product's (0.2125): 0.2135 at 0.5, 0.2134 at 0.3.
CONSTRAINT_MIN_MASS = 0.3
MAX_CONSTRAINTS = 2
GROUND_SURE_MASS = 0.5  # the grounded sentence says "A photo of X" from here, "Possibly X" below
SHOW_CAPTION_MIN = 0.5
# The summed probability of ImageNet's dog breeds under which a caption may not say "dog". On the Flickr8k dev
# split it tells photos whose references (3+ of 5) name a dog from those whose references never do with ROC AUC
# 0.986; below 0.05, 614 of the 755 dog-free photos lose the words and 4 of the 239 dog photos do.
NO_DOG_BELOW = 0.05
DOG_WORDS = ("dog", "dogs", "puppy", "puppies")
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


# Categories a hedged constraint may use. Deng et al. 2012 ("Hedging your bets") climb WordNet until the
# prediction is sure; we climb only as far as words a person would say of the subject ("a flower", "an
# insect", "a mountain"): these categories say too little ("an animal" of a cat) or are no subject at all.
TOO_BROAD = {"animal", "mammal", "canine", "feline", "primate", "reptile", "amphibian", "rodent", "shellfish",
             "ape", "plant", "food", "dish", "beverage", "drink", "vehicle", "machine", "device", "appliance",
             "equipment", "garment", "clothing", "footwear", "musical instrument", "tool", "weapon", "utensil",
             "seat", "furniture", "geological", "sport", "water", "rock", "kitchen", "wagon", "box", "toy"}


# Nearest categories that are right in WordNet but not what a person means by the word, so no caption may
# stand "ball" for a bubble or "house" for a cinema (from the 1,000 classes' noun -> nearest category list).
ODD_CATEGORIES = {("bubble", "ball"), ("website", "computer"), ("cinema", "house"), ("theater", "house"),
                  ("palace", "house"), ("monastery", "house"), ("ear", "fruit"), ("corn", "fruit"),
                  ("seed", "fruit"), ("hip", "fruit"), ("buckeye", "fruit"), ("candle", "lamp"),
                  ("brass", "monument")}


@dataclass(frozen=True)
class Hedge:
    noun: str  # a label noun or a category above some
    mass: float  # summed probability of every class at or under it
    above: frozenset[str]  # the categories above it (any class's chain)
    hypernyms: tuple[str, ...] = ()  # nearest-first categories above it, as NounMass has
    below: frozenset[str] = frozenset()  # the label nouns pooled into it (a category's members)

    @property
    def words(self) -> tuple[str, ...]:
        """The words that satisfy this constraint: the noun or its nearest everyday category ("alp" or
        "mountain", "espresso" or "coffee", "canoe" or "boat"), each also in the plural ("two dogs"); the
        decoder uses the one its sentence fits (words it does not know are dropped by the captioner)."""
        nearest = [h for h in self.hypernyms if h not in TOO_BROAD and (self.noun, h) not in ODD_CATEGORIES][:1]
        return tuple(dict.fromkeys(w for noun in (self.noun, *nearest) for w in (noun, plural(noun))))


def plural(noun: str) -> str:
    """English plural of a plain noun, the regular way (enough for a constraint's alternatives)."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def hedged_masses(masses: list[NounMass]) -> list[Hedge]:
    """Hedging up WordNet: every noun and every everyday category above it, with the probability of all the
    classes under it (daisy 0.15 + sunflower 0.1 + pot plant 0.05 -> flower 0.3), largest first."""
    pooled: dict[str, float] = {}
    above: dict[str, set[str]] = {}
    chain: dict[str, tuple[str, ...]] = {}
    below: dict[str, set[str]] = {}
    for n in masses:
        path = (n.noun, *n.hypernyms)  # the class's noun, then its categories nearest first
        counted: set[str] = set()
        for i, node in enumerate(path):
            if node in counted or (i and node in TOO_BROAD):
                continue
            counted.add(node)
            higher = tuple(h for h in path[i + 1 :] if h != node)
            pooled[node] = pooled.get(node, 0.0) + n.mass
            above.setdefault(node, set()).update(higher)
            chain.setdefault(node, higher)
            below.setdefault(node, set()).add(n.noun)
    ranked = sorted(pooled.items(), key=lambda item: item[1], reverse=True)
    return [Hedge(node, mass, frozenset(above[node]), chain[node], frozenset(below[node])) for node, mass in ranked]


def confident_nouns(
    masses: list[NounMass], min_mass: float = CONSTRAINT_MIN_MASS, limit: int = MAX_CONSTRAINTS
) -> list[Hedge]:
    """The classifier's sure subjects (at most `limit`), hedged: the most specific nouns or categories whose
    summed probability reaches `min_mass` ("daisy" when the daisy is sure, else "flower" when the flowers
    together are); a category is skipped when a sure noun under it is already chosen. None when unsure."""
    sure = [h for h in hedged_masses(masses) if h.mass >= min_mass and h.noun not in NOT_SUBJECTS]
    specific = [h for h in sure if not any(h.noun in o.above and o.noun not in h.above for o in sure)]
    return specific[:limit]


def with_article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is", "os")):
        return noun  # sunglasses, trunks: no article
    return ("an " if noun[0] in "aeiou" else "a ") + noun


# The frames grounded_sentence puts around its nouns; `grounded_nouns` takes them off again.
_FRAME = re.compile(r"^(?:A photo of|Possibly)\s+|\.$")


def grounded_nouns(sentence: str) -> str:
    """A grounded sentence without its frame, for the full-text index: "Possibly a daisy or a fungus." -> "a
    daisy or a fungus" (the index drops "a" and "or"; "photo" and "possibly" would match every such photo)."""
    return _FRAME.sub("", sentence.strip())


def grounded_sentence(masses: list[NounMass], seen: SeenNoun | None = None) -> str:
    """A sentence that says only what the recognisers say, as surely as they say it: the classifier's most
    specific sure noun or category ("A photo of a flower."); else the joint space's sure noun (`seen`,
    joint_nouns.py) before the classifier's likeliest ("Possibly the sky or a parachute."); else a likely category
    ("Possibly a building." when shelter, house and shed share 0.36) or the likeliest nouns ("Possibly a daisy
    or a fungus.")."""
    if not masses:
        return f"Possibly {seen.noun.phrase}." if seen else "A photo."
    sure = confident_nouns(masses, min_mass=GROUND_SURE_MASS, limit=1)
    if sure:
        return f"A photo of {with_article(sure[0].noun)}."
    top = masses[0]
    likely = confident_nouns(masses, min_mass=CONSTRAINT_MIN_MASS, limit=1)
    category = likely[0].noun if likely and likely[0].mass > top.mass else None  # "building": shelter + house + shed
    guess = category or top.noun
    if seen and not {guess, plural(guess), *top.hypernyms} & set(seen.forms):
        return f"Possibly {seen.noun.phrase} or {with_article(guess)}."
    if category:  # a category likelier than any one noun: "Possibly a building."
        return f"Possibly {with_article(category)}."
    if len(masses) > 1 and masses[1].mass >= 0.5 * top.mass:
        return f"Possibly {with_article(top.noun)} or {with_article(masses[1].noun)}."
    return f"Possibly {with_article(top.noun)}."


def no_dog_bans(probs: torch.Tensor, below: float = NO_DOG_BELOW) -> list[tuple[str, ...]]:
    """probs [B, 1000] class probabilities -> per photo the dog words its caption may not use."""
    dog_mass = probs.float()[:, list(classes_named("dog"))].sum(dim=1)  # [B]
    return [DOG_WORDS if mass < below else () for mass in dog_mass.tolist()]


def caption_bans(
    probs: torch.Tensor | None, people_scores: np.ndarray | None = None, people_below: float | None = None
) -> list[tuple[str, ...]]:
    """Per photo, every word its caption may not use: dog words where the classifier (probs [B, 1000]) sees no
    dog, person words where the joint space's people score (people.py, [B]) is below `people_below` (default
    people.NO_PEOPLE_BELOW). Either check is skipped when its input is None."""
    people_bans = (people.banned_words(people_scores, people.NO_PEOPLE_BELOW if people_below is None else people_below)
                   if people_scores is not None else None)
    dog_bans = no_dog_bans(probs) if probs is not None else None
    parts = [bans for bans in (people_bans, dog_bans) if bans is not None]
    return [sum(words, ()) for words in zip(*parts, strict=True)] if parts else []


def caption_confidence(caption_fit: float, grounded_fit: float) -> float:
    """0..1 from the cosines of the photo's joint-space vector with the caption's and with the grounded
    sentence's: 0.5 + (caption_fit - grounded_fit), clipped. Why the joint space: the classifier can only
    vouch for a noun ("a coffee is standing in the water" names it), the decoder's word probability is low
    for good and bad captions alike, while the joint space was trained to tell which sentence describes a photo
    (docs/search-eval-test.md) and reads the whole sentence, people and actions included."""
    return round(min(1.0, max(0.0, 0.5 + caption_fit - grounded_fit)), 3)


def joint_confidences(
    image_vectors: np.ndarray, caption_vectors: np.ndarray, grounded_vectors: np.ndarray
) -> list[float]:
    """caption_confidence of each photo from joint-space vectors, unit rows: photos [B, d], their captions [B, d]
    and their grounded sentences [B, d]."""
    caption_fit = (image_vectors * caption_vectors).sum(axis=1)  # [B] cosines
    grounded_fit = (image_vectors * grounded_vectors).sum(axis=1)
    return [caption_confidence(float(c), float(g)) for c, g in zip(caption_fit, grounded_fit, strict=True)]


def shown_text(caption: str | None, confidence: float | None, grounded: str | None) -> str:
    """Which sentence the card title and alt text use: "grounded" when there is a grounded sentence and the
    caption is missing or unsure (a confidence below SHOW_CAPTION_MIN), else "caption"."""
    unsure = confidence is not None and confidence < SHOW_CAPTION_MIN
    return "grounded" if grounded and (unsure or not caption) else "caption"
