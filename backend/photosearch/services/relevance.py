"""What a search means for a person: which results are real matches, what the query was understood as, and
why each photo matched, in plain words.

- **Query plan** (`plan_query`): a query without usable words ("猫", "🚀") gets a notice and no results; a query
  whose unknown words are typos of the collection's words ("astronot") is searched as corrected
  ("astronaut"), and the correction is offered as "did you mean".
- **Matches** (`RELEVANCE_CUTOFF`, `LABEL_MATCH`, `is_keyword`): results whose fused score reaches the cut-off,
  whose sure labels alone mean what the query says, or whose texts contain a one-word query, are `strong`
  matches; the rest are weaker results a client folds away. The cut-off is calibrated on the Flickr8k dev split
  (docs/search-cutoff.md: for each threshold, the share of queries whose photo passes it, how many photos pass
  on average, and how many off-topic queries get no match at all).
- **Reasons** (`reasons`): "espresso (in labels, 90 %)", "'dog', 'beach' in the description", "#paris in your
  caption", "looks like a bird (label 'crane', 62 %)", "looks like your words".
- **The collection's texts** (`ProfileTexts`): every word its texts use (with how many photos use it) and
  every photo's labels as arrays, cached per profile until a photo is added, deleted or restored.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from photosearch.storage.db import Database
from photosearch.storage.index import stems
from photosearch.storage.models import Description, Photo
from photosearch.storage.snapshots import (
    SAVE_AGAIN_AFTER,
    Snapshots,
    newest_change,
    only_added_since,
    pack_strings,
    unpack_strings,
)
from photosearch.text.query_terms import correct, has_usable_words, words

# Fused score at or above which a result is a match. Chosen on the Flickr8k dev split: see
# docs/search-cutoff.md for the table and the rule.
RELEVANCE_CUTOFF = 0.45
# A photo is also a match when its label meaning alone reaches this (a sure label whose plain word is the query's
# meaning). Chosen on the Flickr8k dev split (docs/search-cutoff.md): at 0.6 it adds 0.1 matches per caption
# query and 0.1 per off-topic query, so the fused cut-off's calibration holds.
LABEL_MATCH = 0.6
# A photo "looks like your words" when the joint image-text similarity alone reaches this.
LOOKS_LIKE = 0.50
# A label meets the query's meaning when its class word is this close (MiniLM cosine) and the label is this sure.
LABEL_MEANING_MIN_SIM = 0.5
LABEL_MEANING_MIN_PROB = 0.15


@dataclass(frozen=True)
class QueryPlan:
    query: str  # as typed (normalised spaces)
    search_text: str | None  # what is searched: the query or its correction; None = nothing to search
    did_you_mean: str | None = None
    notice: str | None = None


def plan_query(query: str, vocabulary: Counter[str] | dict[str, int]) -> QueryPlan:
    if not has_usable_words(query):
        return QueryPlan(query, None, notice=(
            f"No usable English words in “{query}”: photosearch understands descriptions in English, "
            "e.g. “a cat on a sofa”."))
    corrected = correct(query, vocabulary) if vocabulary else None
    if corrected is not None:
        return QueryPlan(query, corrected, did_you_mean=corrected)
    return QueryPlan(query, query)


def is_keyword(query: str) -> bool:
    """One word as the index reads it (stop words aside: "a dog", "espresso"). For such a query a photo whose
    texts contain the word is a match: one word is far from every photo in the joint image-text space, so the
    fused cut-off, calibrated on sentences, would turn away the very photos that say it."""
    return len(set(stems(query))) == 1


# -- reasons -------------------------------------------------------------------------------------------
def _percent(p: float) -> str:
    return f"{round(100 * p)} %"


def reasons(query: str, matched: dict[str, set[str]], labels: list[dict], poster: str, hashtags: list[str],
            semantic: float | None, label_meaning: tuple[str, str, float] | None, strong: bool = False) -> list[dict]:
    """Plain-word reasons for one result, strongest evidence first.

    `matched`: index field -> the query stems it matched (caption, alternatives, labels, poster, hashtags);
    `label_meaning`: (class word, label name, label probability) when the query's meaning met a sure label;
    `strong`: whether the result is a match (its scores together passed the cut-off).
    """
    out: list[dict] = []
    query_words = list(dict.fromkeys(words(query)))

    def typed(stem_set: set[str]) -> list[str]:
        return [w for w in query_words if set(stems(w)) & stem_set or w in stem_set]

    label_stems = matched.get("labels", set())
    credited: set[str] = set()
    # Each word is credited to the likeliest label that holds it, in its name or in its plain noun and categories
    # (as the index's labels field does): "monkey" in a mandrill's photo is "monkey (label baboon, 74 %)", not its
    # fifth label "proboscis monkey (in labels, 1 %)".
    for lab in labels if label_stems else []:  # most probable first
        hit = [w for w in typed(label_stems & _label_stems(lab["label"], lab.get("index"))) if w not in credited]
        if not hit:
            continue
        credited.update(hit)
        named = typed(label_stems & set(stems(lab["label"].replace(",", " "))))
        text = (f"{lab['label']} (in labels, {_percent(lab['score'])})" if set(hit) <= set(named)
                else f"{', '.join(hit)} (label {lab['label']}, {_percent(lab['score'])})")
        out.append({"text": text, "kind": "label"})
    # The caption field holds the sentence the card shows (ingest.index_doc); the captioner's other sentences,
    # an unsure caption among them, are only in the photo's view: say which.
    caption_words = typed(matched.get("caption", set()))
    if caption_words:
        quoted = ", ".join(f"“{w}”" for w in caption_words)
        out.append({"text": f"{quoted} in the description", "kind": "caption"})
    other_words = [w for w in typed(matched.get("alternatives", set())) if w not in caption_words]
    if other_words:
        quoted = ", ".join(f"“{w}”" for w in other_words)
        out.append({"text": f"{quoted} in the captioner's other sentences", "kind": "caption"})
    poster_words = typed(matched.get("poster", set()))
    tags = [t for t in hashtags if t.lower() in matched.get("hashtags", set())]
    if poster_words or tags:
        shown = [f"“{w}”" for w in poster_words] + [f"#{t}" for t in tags]
        out.append({"text": f"{', '.join(shown)} in the poster's text", "kind": "text"})
    if label_meaning is not None and not any(r["kind"] == "label" for r in out):
        word, label, prob = label_meaning
        out.append({"text": f"looks like {_article(word)} {word} ({label}, {_percent(prob)})", "kind": "label"})
    if semantic is not None and semantic >= LOOKS_LIKE:
        out.append({"text": "looks like your words", "kind": "semantic"})
    if not out and strong:  # no one signal is sure, but together they pass the cut-off
        out.append({"text": "close to your words overall", "kind": "semantic"})
    if not out:
        out.append({"text": "a loose match: nothing more similar in this collection", "kind": "semantic"})
    return out


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# -- the collection's vocabulary -----------------------------------------------------------------------
READ_CHUNK = 5_000  # photos per database read while loading
# Snapshots (storage/snapshots.py): the version changes with ProfileText's arrays or with what makes the words
# (_TOKEN, _label_words).
TEXTS_SNAPSHOT_VERSION = 1
_TOKEN = re.compile(r"[^\W_]+")  # the words of query_terms.words: "café" stays "café"


@dataclass(frozen=True)
class ProfileText:
    """What a profile's texts say, for typo correction and label meaning (rows sorted by photo id)."""

    vocabulary: Counter[str]  # word -> number of photos whose texts use it
    ids: np.ndarray  # int64 [N]
    label_index: np.ndarray  # int16 [N, 5] ImageNet classes, -1 = none
    label_prob: np.ndarray  # float32 [N, 5]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """For a snapshot (storage/snapshots.py); `from_arrays` reads them back."""
        words = list(self.vocabulary)
        packed = pack_strings(words)
        return {"words": packed["bytes"], "word_ends": packed["ends"],
                "counts": np.array([self.vocabulary[w] for w in words], np.int64),
                "ids": self.ids, "label_index": self.label_index, "label_prob": self.label_prob}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ProfileText:
        words = unpack_strings(arrays["words"], arrays["word_ends"])
        return cls(Counter(dict(zip(words, arrays["counts"].tolist(), strict=True))), arrays["ids"],
                   arrays["label_index"], arrays["label_prob"])

    def label_rows(self, photo_ids: np.ndarray) -> np.ndarray:
        """Row of each photo id, -1 for photos not known (yet)."""
        if not len(self.ids):
            return np.full(len(photo_ids), -1, np.int64)
        at = np.clip(np.searchsorted(self.ids, photo_ids), 0, len(self.ids) - 1)
        return np.where(self.ids[at] == photo_ids, at, -1)


class ProfileTexts:
    """`get(profile_id) -> ProfileText`, read once per profile and again only after a photo was added, purged,
    deleted or restored. The caller may pass the `stamp` of the profile's vectors (storage/vectors.py), which
    changes exactly then; without it a count over the profile's photos tells (tens of ms at 100K photos).

    With a `snapshot_dir` the first read of a profile comes from its snapshot (storage/snapshots.py) where the
    change log allows: untouched since, or only photos added after its newest (those are read); otherwise, or
    after a full read, it is built and saved again."""

    def __init__(self, db: Database, snapshot_dir: Path | None = None, snapshot_key: str = "") -> None:
        """snapshot_key: what else the words depend on (the label-noun table `_label_words` reads), so a snapshot
        made with another is built again."""
        self.db = db
        self.snapshots = Snapshots(snapshot_dir, "texts", f"{TEXTS_SNAPSHOT_VERSION}+{snapshot_key}", db)
        self._cache: dict[int, tuple[tuple, ProfileText]] = {}
        self._lock = threading.Lock()

    def get(self, profile_id: int, stamp: tuple | None = None) -> ProfileText:
        cached = self._cache.get(profile_id)
        if stamp and cached is not None and cached[0] == stamp:
            return cached[1]
        with self.db.session() as session:
            key = stamp or tuple(session.execute(
                select(func.count(Photo.id), func.max(Photo.id), func.count(Photo.deleted_at),
                       func.max(Photo.deleted_at)).where(Photo.profile_id == profile_id)).one())
            if cached is not None and cached[0] == key:
                return cached[1]
            # Photos only added since (the same generation of the vectors, more rows): read just those.
            grown = stamp and cached is not None and cached[0][0] == stamp[0] and stamp[1] > cached[0][1]
        result = self._from_snapshot(profile_id) if cached is None else None
        if result is None:
            position = newest_change(self.db)
            result = self._read(profile_id, cached[1] if grown else None)
            if cached is None:  # later full reads (a deletion) are left to the next start's snapshot check
                self.snapshots.save(profile_id, position, result.to_arrays())
        with self._lock:
            self._cache[profile_id] = (key, result)
        return result

    def _from_snapshot(self, profile_id: int) -> ProfileText | None:
        found = self.snapshots.load(profile_id, ProfileText.from_arrays)
        if found is None:
            return None
        position, text = found
        if not only_added_since(self.db, position, profile_id, text.ids):
            return None  # a photo it holds changed, or an older one came back: build it again
        newest = newest_change(self.db)
        if newest > position:  # photos added since: read them on top
            text = self._read(profile_id, text)
            if newest - position > SAVE_AGAIN_AFTER:
                self.snapshots.save(profile_id, newest, text.to_arrays())
        return text

    def _read(self, profile_id: int, before: ProfileText | None) -> ProfileText:
        """The texts of the profile's visible photos after those of `before`, READ_CHUNK rows at a time, so a large
        profile's rows are never all held as Python objects at once."""
        from photosearch.text.label_meaning import label_arrays

        counts: Counter[str] = Counter(before.vocabulary) if before is not None else Counter()
        parts = [(before.ids, before.label_index, before.label_prob)] if before is not None else []
        last_id = int(before.ids[-1]) if before is not None and len(before.ids) else 0
        while True:
            with self.db.session() as session:
                rows = session.execute(
                    select(Photo.id, Description.caption, Description.alternatives, Description.labels,
                           Photo.poster_caption, Photo.hashtags)
                    .join(Photo, Photo.id == Description.photo_id)
                    .where(Photo.profile_id == profile_id, Photo.deleted_at.is_(None), Photo.id > last_id)
                    .order_by(Photo.id).limit(READ_CHUNK)
                ).all()
            for _, caption, alternatives, labels, poster, hashtags in rows:
                text = " ".join([caption or "", *(a.get("text", "") for a in alternatives or []),
                                 *(_label_words(lab) for lab in labels or []), poster or "", *(hashtags or [])])
                counts.update(set(_TOKEN.findall(text.lower())))
            index, prob = label_arrays([r[3] for r in rows])
            parts.append((np.array([r[0] for r in rows], np.int64), index, prob))
            if len(rows) < READ_CHUNK:
                break
            last_id = rows[-1][0]
        ids, index, prob = (np.concatenate(column) for column in zip(*parts, strict=True))
        return ProfileText(counts, ids, index, prob)


@functools.lru_cache(maxsize=4096)
def _label_stems(name: str, index: int | None) -> frozenset[str]:
    """The stems of a label's name, plain noun and categories: kept, as a page of results asks for the same few
    hundred labels over and over."""
    return frozenset(stems(_label_words({"label": name, "index": index})))


def _label_words(label: dict) -> str:
    """A stored label's name plus its plain noun and categories when the WordNet table is there."""
    name = label.get("label", "")
    try:
        from photosearch.vision.labels import class_index, label_nouns

        index = class_index(label)
        if index is not None:
            nouns = label_nouns(index)
            return " ".join([name, nouns.noun, *nouns.hypernyms])
    except ImportError:
        pass
    return name
