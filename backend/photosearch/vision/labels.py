"""ImageNet labels from the encoder's classifier head, and what they mean in plain words.

`top_labels(logits)` gives each photo's top-5 classes: {"label": "Egyptian cat", "score": 0.79, "index": 285}.
Class names are torchvision's list of the 1,000 ImageNet-1k categories, in the standard index order the
EfficientNet-Lite0 weights were trained with, copied into label_nouns.json (importing torchvision for them
cost 1.3 s of every start-up).

ImageNet's classes are WordNet 3.0 noun synsets, named the way taxonomists name them ('sorrel', 'tabby',
'Egyptian cat'). `label_nouns(index)` says what a person would call the subject and which everyday categories
it belongs to:
    label_nouns(285) == LabelNouns(noun="cat", hypernyms=("feline", "animal", "mammal"))
    label_nouns(339) == LabelNouns(noun="horse", hypernyms=("mammal", "animal"))      # sorrel
    label_nouns(967) == LabelNouns(noun="espresso", hypernyms=("coffee", "beverage", "drink", "food"))
The table (label_nouns.json) is generated from WordNet by scripts/make_label_nouns.py and committed; nothing
is looked up at run time. The index stores these words beside the label so "cat", "bird", "animal",
"vehicle" or "food" find photos whose labels sit under them (`search_terms`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from photosearch.errors import InvalidInput

if TYPE_CHECKING:  # torch only at run time of the functions given tensors: the search server never imports it
    import torch

NOUNS_FILE = Path(__file__).with_name("label_nouns.json")
_RAW = json.loads(NOUNS_FILE.read_text())  # {"0": {"wnid", "name", "noun", "hypernyms"}, ...}
# Which table made a text's label words: search's snapshots built with another one are built again.
NOUNS_DIGEST = hashlib.sha256(NOUNS_FILE.read_bytes()).hexdigest()[:16]
IMAGENET_CLASSES: tuple[str, ...] = tuple(_RAW[str(i)]["name"] for i in range(len(_RAW)))
# A label's nouns and categories go into the index only when the classifier gives it at least this much
# (or it is the photo's top label): "animal" should not find an espresso whose 5th guess is a lemur at 1 %.
CATEGORY_MIN_SCORE = 0.15


@dataclass(frozen=True)
class LabelNouns:
    noun: str  # what a person calls it: "cat" for 'Egyptian cat', "horse" for 'sorrel'
    hypernyms: tuple[str, ...]  # everyday categories above it, nearest first: ("feline", "animal", ...)


def top_labels(logits: torch.Tensor, k: int = 5) -> list[list[dict]]:
    """logits [B, 1000] -> per photo [{"label": "tabby", "score": 0.62, "index": 281}, ...], best first."""
    probs = logits.float().softmax(dim=1)  # [B, 1000]
    values, indices = probs.topk(k, dim=1)  # [B, k]
    return [
        [
            {"label": IMAGENET_CLASSES[int(i)], "score": round(float(v), 4), "index": int(i)}
            for v, i in zip(row_v, row_i, strict=True)
        ]
        for row_v, row_i in zip(values, indices, strict=True)
    ]


@cache
def _table() -> dict[int, LabelNouns]:
    return {int(k): LabelNouns(v["noun"], tuple(v["hypernyms"])) for k, v in _RAW.items()}


@cache
def classes_named(noun: str) -> tuple[int, ...]:
    """The class indexes whose plain noun is `noun` (the 118 dog breeds for "dog")."""
    return tuple(i for i, nouns in sorted(_table().items()) if nouns.noun == noun)


@cache
def _index_of_name() -> dict[str, int]:
    # For labels stored before "index" was kept. Two names repeat in ImageNet ('crane' the bird and the
    # machine, 'maillot' twice); the first wins, as it always did for display.
    out: dict[str, int] = {}
    for i, name in enumerate(IMAGENET_CLASSES):
        out.setdefault(name, i)
    return out


def label_nouns(class_index: int) -> LabelNouns:
    """ImageNet class index (0-999) -> its plain noun and everyday categories."""
    table = _table()
    if class_index not in table:
        raise InvalidInput(f"no ImageNet class {class_index!r}: indexes run 0-999")
    return table[class_index]


def class_index(label: dict) -> int | None:
    """A stored label {"label", "score"[, "index"]} -> its class index (None for an unknown name)."""
    if isinstance(label.get("index"), int):
        return label["index"]
    return _index_of_name().get(str(label.get("label", "")))


def search_terms(labels: list[dict], min_score: float = CATEGORY_MIN_SCORE) -> list[str]:
    """What the index should know about a photo's labels: each class name, and for the top label and
    any other as sure as `min_score`, its plain noun and categories (each word once)."""
    terms: list[str] = []
    for rank, label in enumerate(labels):
        terms.append(str(label.get("label", "")))
        index = class_index(label)
        if index is None or (rank > 0 and float(label.get("score", 0.0)) < min_score):
            continue
        nouns = label_nouns(index)
        for word in (nouns.noun, *nouns.hypernyms):
            if word not in terms:
                terms.append(word)
    return [t for t in terms if t]
