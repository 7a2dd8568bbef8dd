"""Label meaning: how close a query comes to what the classifier saw, in plain words.

The classifier names ImageNet classes the way taxonomists do ('Egyptian cat', 'sorrel', 'bald eagle'). Their
plain nouns and everyday categories ('cat' / feline, animal; 'horse' / animal; 'eagle' / bird, animal) come from
WordNet (`photosearch.vision.labels.label_nouns`). A query meets a photo's labels through MiniLM:

    class_score(c) = max( cos(q, name(c)), cos(q, noun(c)),  HYPERNYM_WEIGHT * max_h cos(q, hypernym_h(c)) )
    label_meaning(p) = sum over the photo's top-5 labels l of  prob(l) * class_score(class(l))

where name(c) is the class's own name ("ladybug", whose WordNet noun is "beetle"), so "a ladybug" meets
'ladybug', "a kitten" meets 'tabby' (noun "cat"), "a large bird standing at the edge of the water" meets 'crane' and
and 'bald eagle' (category "bird") and not 'pagoda', and a sure label counts more than a 3 % guess.
Categories count a little less than the noun itself, so "a cat" prefers a cat to any other animal.

Cost: the ~1,500 distinct nouns and categories are embedded once per process (one MiniLM batch, ~2 s on a
small CPU); a query is then one [W, 384] @ [384] product and a gather over the profile's [N, 5] labels.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

HYPERNYM_WEIGHT = 0.9  # a category ("animal") counts a little less than the noun itself ("cat")
CLASSES = 1000


@dataclass(frozen=True)
class ClassWords:
    """Every class's words as rows of one word matrix: noun[c] and up to H hypernyms (padded with -1)."""

    words: list[str]
    name: np.ndarray  # int [1000] the class's own name, lowercased ("ladybug", "egyptian cat")
    noun: np.ndarray  # int [1000]
    hypernyms: np.ndarray  # int [1000, H], -1 = none


def class_words() -> ClassWords | None:
    """The WordNet nouns of the 1,000 classes, or None when the label-noun table is not installed."""
    try:
        from photosearch.vision.labels import label_nouns
    except ImportError:
        return None
    vocab: dict[str, int] = {}

    def at(word: str) -> int:
        return vocab.setdefault(word, len(vocab))

    from photosearch.vision.labels import IMAGENET_CLASSES

    names, nouns, hypers = [], [], []
    for c in range(CLASSES):
        entry = label_nouns(c)
        names.append(at(IMAGENET_CLASSES[c].lower()))
        nouns.append(at(entry.noun))
        hypers.append([at(h) for h in entry.hypernyms])
    width = max(1, max(len(h) for h in hypers))
    hyper = np.full((CLASSES, width), -1, np.int64)
    for c, row in enumerate(hypers):
        hyper[c, : len(row)] = row
    return ClassWords(list(vocab), np.array(names, np.int64), np.array(nouns, np.int64), hyper)


class LabelMeaning:
    """`class_scores(query_vector) -> [1000]`; `photo_scores(class_scores, label_index, label_prob) -> [N]`."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self._embed = embed  # MiniLM: list of texts -> float32 [N, 384], L2-normalised rows
        self._lock = threading.Lock()
        self._ready = False
        self._words: ClassWords | None = None
        self._matrix: np.ndarray | None = None  # [W, 384]

    def _load(self) -> bool:
        with self._lock:
            if not self._ready:
                self._words = class_words()
                if self._words is not None:
                    self._matrix = np.asarray(self._embed(self._words.words), np.float32)
                    if self._matrix.ndim != 2 or len(self._matrix) != len(self._words.words):
                        self._words = self._matrix = None  # an embedder that is not MiniLM: no label meaning
                self._ready = True
        return self._words is not None

    @property
    def available(self) -> bool:
        return self._load()

    def class_scores(self, query_vector: np.ndarray) -> np.ndarray | None:
        """float32 [1000]: how close the query is to each class's name or noun, or (a little less) its
        categories."""
        if not self._load() or self._matrix.shape[1] != len(query_vector):
            return None
        sims = self._matrix @ np.asarray(query_vector, np.float32)  # [W]
        words = self._words
        own = np.maximum(sims[words.name], sims[words.noun])
        padded = np.append(sims, -1.0).astype(np.float32)  # index -1 -> the appended -1.0
        hyper = padded[words.hypernyms].max(axis=1)
        return np.maximum(own, HYPERNYM_WEIGHT * hyper).astype(np.float32)

    @staticmethod
    def photo_scores(class_scores: np.ndarray, label_index: np.ndarray, label_prob: np.ndarray) -> np.ndarray:
        """[N] = sum_k prob[n, k] * class_scores[index[n, k]]; index -1 (no label) adds nothing."""
        if label_index.size == 0:
            return np.zeros(len(label_index), np.float32)
        gathered = np.append(class_scores, 0.0)[label_index]  # -1 -> the appended 0
        return (gathered * label_prob).sum(axis=1).astype(np.float32)

    def word_sims(self, query_vector: np.ndarray) -> np.ndarray | None:
        """float32 [W]: the query's cosine with every class word (names, nouns, categories)."""
        if not self._load() or self._matrix.shape[1] != len(query_vector):
            return None
        return self._matrix @ np.asarray(query_vector, np.float32)

    def best_words(self, query_vector: np.ndarray, class_index: int,
                   sims: np.ndarray | None = None) -> tuple[str, float] | None:
        """The class word (name, noun or category) closest to the query, with its similarity (for 'why').
        `sims` = word_sims(query_vector), when the caller asks about many classes for one query."""
        if not self._load():
            return None
        words = self._words
        rows = [int(words.name[class_index]), int(words.noun[class_index]),
                *[int(h) for h in words.hypernyms[class_index] if h >= 0]]
        # Without `sims` (one class): only its few words.
        picked = sims[rows] if sims is not None else self._matrix[rows] @ np.asarray(query_vector, np.float32)
        best = int(np.argmax(picked))
        return words.words[rows[best]], float(picked[best])


def label_arrays(labels_per_photo: list[list[dict]], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Stored labels [{"label", "score"[, "index"]}] per photo -> (index int16 [N, k] (-1 = none), prob [N, k])."""
    index = np.full((len(labels_per_photo), k), -1, np.int16)  # 1,000 classes: 10 bytes a photo, not 40
    prob = np.zeros((len(labels_per_photo), k), np.float32)
    lookup = _class_index_lookup()
    for n, labels in enumerate(labels_per_photo):
        for j, lab in enumerate((labels or [])[:k]):
            c = lab.get("index")
            if not isinstance(c, int):
                c = lookup.get(lab.get("label"))
            if c is not None and 0 <= c < CLASSES:
                index[n, j] = c
                prob[n, j] = float(lab.get("score") or 0.0)
    return index, prob


@functools.cache
def _class_index_lookup() -> dict[str, int]:
    from photosearch.vision.labels import IMAGENET_CLASSES

    out: dict[str, int] = {}
    for i, name in enumerate(IMAGENET_CLASSES):
        out.setdefault(name, i)  # 'crane' and 'maillot' repeat: the first, as the labels were always shown
    return out
