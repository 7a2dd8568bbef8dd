"""BM25F over one profile's texts from posting arrays in memory: a plain-word query costs a few numpy operations.

Whoosh (storage/index.py) stays the full-text index on disk. Its analyzer, its query parser and its BM25F define
what a text match is and how it scores, and it answers every query that uses syntax (a "quoted phrase", NOT,
wildcards). But Whoosh scores each matching document in Python, so a common word costs time in proportion to
the collection: at 100,000 photos a query took 0.3 s at the median and 1.5 s at p95 in Whoosh alone
(docs/performance.md). This module is the serving copy of the same formula for plain-word queries, the common
case. Its scores equal Whoosh's to float rounding where the statistics are the same (one profile per index, no
deleted documents waiting for a merge): tests/unit/test_postings.py compares them.

For a query leaf (field f, term t) and a photo p (Whoosh's BM25F with B = 0.75, K1 = 1.2):
    w      = tf(t in f of p) * boost_f                    the posting's weight, as Whoosh stores it
    bm25   = idf * w * (K1 + 1) / (w + K1 * (1 - B + B * len_f(p) / avglen_f))
    idf    = log(N / (df + 1)) + 1                        N photos, df of them with t in f
len_f(p) is the field's token count rounded as Whoosh stores it (one byte, `length_to_byte`). The query's score
is the sum over its leaves, as Whoosh's OR adds its children; a leaf's boost ("dog^2") multiplies its part.

Layout: for each field, term -> (rows int32, term counts uint8) appended as photos arrive; a photo is a row. A
photo that changes (described again, deleted, restored) gets a new row and its old row is marked dead: dead rows
score nothing and count in no statistic. `ProfilePostings` keeps one profile's rows in step with the database
by following its change log (`photo_changes`, written in the same transaction as every photo write, as
services/index_sync.py does for Whoosh), so a query that finds nothing new costs one indexed SELECT.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from math import log
from pathlib import Path

import numpy as np
from sqlalchemy import Row, Select, and_, func, select
from whoosh import query as wq
from whoosh.util.numeric import byte_to_length, length_to_byte

from photosearch.storage.db import Database
from photosearch.storage.index import FIELD_BOOSTS, IndexDoc, stems
from photosearch.storage.models import Description, Photo, PhotoChange
from photosearch.storage.snapshots import (
    SAVE_AGAIN_AFTER,
    Snapshots,
    changed_since,
    newest_change,
    pack_strings,
    unpack_strings,
)

B = 0.75  # whoosh.scoring.BM25F defaults, which PhotoIndex uses
K1 = 1.2
READ_CHUNK = 5000  # photos per database read while loading
COMPACT_DEAD_SHARE = 0.5  # rebuild the arrays once half the rows are dead
# Snapshots (storage/snapshots.py): the version changes with the layout below or with what `field_tokens` makes of
# a text (storage/index.py's analyzer), or with what services/ingest.py's `index_doc` puts in a field (2: the
# caption field holds the sentence the card shows).
SNAPSHOT_VERSION = 2

Leaf = tuple[str, str, float]  # (field, term, boost)


def field_tokens(field: str, doc: IndexDoc) -> list[str]:
    """The terms Whoosh indexes for one field of a document (storage/index.py's schema)."""
    if field == "hashtags":  # KEYWORD(lowercase=True, commas=True)
        return [t.strip().lower() for t in ",".join(doc.hashtags).split(",") if t.strip()]
    value = getattr(doc, field)
    return stems(" . ".join(value) if isinstance(value, list) else value or "")


def plain_leaves(parsed: wq.Query) -> list[Leaf] | None:
    """The (field, term, boost) leaves of a query made only of terms joined by OR; None for anything else
    (phrases, NOT, AND, ranges, wildcards), which Whoosh answers itself."""
    if isinstance(parsed, wq.Term):
        text = parsed.text.decode("utf-8") if isinstance(parsed.text, bytes) else str(parsed.text)
        return [(parsed.fieldname, text, float(parsed.boost))]
    if isinstance(parsed, wq.Or) and type(parsed) is wq.Or and parsed.boost == 1.0:
        leaves: list[Leaf] = []
        for child in parsed.children():
            found = plain_leaves(child)
            if found is None:
                return None
            leaves += found
        return leaves
    return None


# Whoosh stores a field's length in one byte; this table turns the byte back into the length it scores with.
BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], np.float64)
MAX_TF = 255  # term counts are stored in a byte: a word said more than 255 times in one field counts 255 times
MAX_LENGTH = 65_535  # exact field lengths in two bytes: a longer field counts as this many words


class _FieldPostings:
    def __init__(self) -> None:
        self.terms: dict[str, tuple[array, array]] = {}  # term -> (rows 'i', term counts 'B')
        self.length_bytes = bytearray()  # per row, Whoosh's one-byte token count
        self.exact_lengths = array("H")  # per row, the exact token count (kept to subtract when a row dies)
        self.total_length = 0  # sum of exact token counts over live rows (Whoosh's field_length)


class Postings:
    """Rows of documents with their per-field postings; `scores(leaves)` ranks the live rows.

    Memory, per photo: 5 bytes per posting (a row number and a term count; the field's boost multiplies at
    query time) plus ~30 bytes of row bookkeeping. The benchmark's texts make 42.7 postings per photo: ~230 MB
    at 1M photos (docs/performance.md).
    """

    def __init__(self) -> None:
        self.fields = {name: _FieldPostings() for name in FIELD_BOOSTS}
        self.photo_ids = array("q")  # row -> photo id
        self.alive = bytearray()  # row -> 1 live, 0 dead
        self._row_by_id = np.full(0, -1, np.int32)  # photo id -> its live row, -1 none (4 bytes per id, no dict)
        self._live = 0

    def __len__(self) -> int:
        return self._live

    @property
    def dead(self) -> int:
        return len(self.photo_ids) - self._live

    def row_of(self, photo_id: int) -> int:
        """The photo's live row, -1 when it has none."""
        return int(self._row_by_id[photo_id]) if 0 <= photo_id < len(self._row_by_id) else -1

    def add(self, docs: Iterable[IndexDoc]) -> None:
        """Index documents; a photo already here is replaced (its old row dies)."""
        for doc in docs:
            self.remove([doc.photo_id])
            row = len(self.photo_ids)
            self.photo_ids.append(doc.photo_id)
            self.alive.append(1)
            if doc.photo_id >= len(self._row_by_id):
                grown = np.full(max(doc.photo_id + 1, 2 * len(self._row_by_id)), -1, np.int32)
                grown[: len(self._row_by_id)] = self._row_by_id
                self._row_by_id = grown
            self._row_by_id[doc.photo_id] = row
            self._live += 1
            for name, postings in self.fields.items():
                tokens = field_tokens(name, doc)
                length = min(len(tokens), MAX_LENGTH)
                postings.length_bytes.append(length_to_byte(length))
                postings.exact_lengths.append(length)
                postings.total_length += length
                for term, tf in Counter(tokens).items():
                    found = postings.terms.get(term)
                    if found is None:
                        found = postings.terms[term] = (array("i"), array("B"))
                    found[0].append(row)
                    found[1].append(min(tf, MAX_TF))

    def remove(self, photo_ids: Iterable[int]) -> None:
        for photo_id in photo_ids:
            row = self.row_of(photo_id)
            if row >= 0:
                self._row_by_id[photo_id] = -1
                self._live -= 1
                self.alive[row] = 0
                for postings in self.fields.values():
                    postings.total_length -= postings.exact_lengths[row]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array as numpy (for a snapshot, storage/snapshots.py); `from_arrays` reads them back."""
        out = {"photo_ids": np.frombuffer(self.photo_ids, np.int64), "alive": np.frombuffer(self.alive, np.uint8)}
        for name, postings in self.fields.items():
            terms = list(postings.terms)
            packed = pack_strings(terms)
            out |= {
                f"{name}.terms": packed["bytes"], f"{name}.term_ends": packed["ends"],
                f"{name}.posting_ends": np.cumsum([len(postings.terms[t][0]) for t in terms], dtype=np.int64),
                f"{name}.rows": np.frombuffer(b"".join(postings.terms[t][0].tobytes() for t in terms), np.int32),
                f"{name}.tfs": np.frombuffer(b"".join(postings.terms[t][1].tobytes() for t in terms), np.uint8),
                f"{name}.length_bytes": np.frombuffer(postings.length_bytes, np.uint8),
                f"{name}.exact_lengths": np.frombuffer(postings.exact_lengths, np.uint16),
                f"{name}.total_length": np.array(postings.total_length, np.int64),
            }
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Postings:
        made = cls()
        made.photo_ids.frombytes(arrays["photo_ids"].astype(np.int64).tobytes())
        made.alive = bytearray(arrays["alive"].astype(np.uint8).tobytes())
        live = np.flatnonzero(arrays["alive"])
        made._live = len(live)
        ids = arrays["photo_ids"][live]
        made._row_by_id = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, np.int32)
        made._row_by_id[ids] = live
        for name, postings in made.fields.items():
            terms = unpack_strings(arrays[f"{name}.terms"], arrays[f"{name}.term_ends"])
            rows, tfs = arrays[f"{name}.rows"].astype(np.int32), arrays[f"{name}.tfs"].astype(np.uint8)
            start = 0
            for term, end in zip(terms, arrays[f"{name}.posting_ends"].tolist(), strict=True):
                term_rows, term_tfs = array("i"), array("B")
                term_rows.frombytes(rows[start:end].tobytes())
                term_tfs.frombytes(tfs[start:end].tobytes())
                postings.terms[term] = (term_rows, term_tfs)
                start = end
            postings.length_bytes = bytearray(arrays[f"{name}.length_bytes"].astype(np.uint8).tobytes())
            postings.exact_lengths.frombytes(arrays[f"{name}.exact_lengths"].astype(np.uint16).tobytes())
            postings.total_length = int(arrays[f"{name}.total_length"])
        return made

    def scores(self, leaves: list[Leaf]) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, BM25F scores) of the live rows that match any leaf, in row order."""
        n_rows = len(self.photo_ids)
        live_count = self._live
        if not n_rows or not live_count or not leaves:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        alive = np.frombuffer(self.alive, np.uint8).astype(bool)
        total = np.zeros(n_rows, np.float64)
        for field, term, boost in leaves:
            postings = self.fields.get(field)
            found = postings.terms.get(term) if postings is not None else None
            if found is None:
                continue
            rows = np.frombuffer(found[0], np.int32)
            live = alive[rows]
            rows = rows[live]
            if not len(rows):
                continue
            weights = np.frombuffer(found[1], np.uint8)[live] * FIELD_BOOSTS[field]  # tf * boost, as Whoosh's w
            idf = log(live_count / (len(rows) + 1)) + 1
            avg = postings.total_length / live_count or 1.0
            lengths = BYTE_LENGTHS[np.frombuffer(postings.length_bytes, np.uint8)[rows]]
            total[rows] += boost * idf * weights * (K1 + 1) / (weights + K1 * (1 - B + B * lengths / avg))
        hit = np.flatnonzero(total > 0)
        return np.frombuffer(self.photo_ids, np.int64)[hit].copy(), total[hit].astype(np.float32)


# What a photo's index document is made of: only these columns are read (not the attention maps or vectors).
TEXT_COLUMNS = (Photo.id, Photo.profile_id, Photo.deleted_at, Photo.poster_caption, Photo.hashtags, Photo.taken_at,
                Photo.created_at, Description.caption, Description.alternatives, Description.labels,
                Description.caption_confidence, Description.grounded_caption)  # which sentence the card shows


def _text_rows(where: object) -> Select:
    return select(*TEXT_COLUMNS).outerjoin(Description, Description.photo_id == Photo.id).where(where)


class ProfilePostings:
    """Every profile's `Postings`, following the database's change log. `document(row)` builds a photo's index
    document from a row of TEXT_COLUMNS (services/ingest.index_doc, which reads them as attributes: it knows
    the labels' plain nouns, which storage does not).

    With a `snapshot_dir`, a profile is loaded from its snapshot (storage/snapshots.py) and brought up to date
    from the change log; one built from the database, or a snapshot more than SAVE_AGAIN_AFTER changes behind, is
    saved again. Each profile remembers the change it is up to date with."""

    def __init__(self, db: Database, document: Callable[[Row], IndexDoc], snapshot_dir: Path | None = None,
                 snapshot_key: str = "") -> None:
        """snapshot_key: what else `document` depends on (the label-noun table), so a snapshot made with another
        is built again."""
        self.db = db
        self.document = document
        self.snapshots = Snapshots(snapshot_dir, "postings", f"{SNAPSHOT_VERSION}+{snapshot_key}", db)
        self._profiles: dict[int, Postings] = {}
        self._positions: dict[int, int] = {}  # profile id -> the newest change applied to its postings
        self._lock = threading.Lock()

    def scores(self, profile_id: int, leaves: list[Leaf]) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, BM25F scores) of the profile's photos that match; up to date with the database."""
        with self._lock:  # also keeps the arrays still while numpy reads them
            return self._get(profile_id).scores(leaves)

    def warm(self, profile_id: int) -> None:
        with self._lock:
            self._get(profile_id)

    def _get(self, profile_id: int) -> Postings:
        self._follow()
        postings = self._profiles.get(profile_id)
        if postings is None:
            postings = self._from_snapshot(profile_id)
        if postings is None or postings.dead > COMPACT_DEAD_SHARE * max(len(postings.photo_ids), 1):
            postings = self._load(profile_id)
        return postings

    def forget(self) -> None:
        with self._lock:
            self._profiles.clear()
            self._positions.clear()

    def _from_snapshot(self, profile_id: int) -> Postings | None:
        """The profile's snapshot brought up to date, or None (none, refused, or not what the database holds)."""
        found = self.snapshots.load(profile_id, Postings.from_arrays)
        if found is None:
            return None
        position, postings = found
        if len(changed_since(self.db, position)[1]) > len(postings) // 2 + READ_CHUNK:
            return None  # far behind (a large ingest since): `_follow` would hold every changed photo at once
        self._profiles[profile_id], self._positions[profile_id] = postings, position
        self._follow()
        with self.db.session() as session:  # a last check that it holds what the database holds
            visible = session.scalar(select(func.count(Photo.id)).where(Photo.profile_id == profile_id,
                                                                        Photo.deleted_at.is_(None)))
        if visible != len(postings):
            del self._profiles[profile_id], self._positions[profile_id]
            return None
        if self._positions[profile_id] - position > SAVE_AGAIN_AFTER:
            self.snapshots.save(profile_id, self._positions[profile_id], postings.to_arrays())
        return postings

    def _load(self, profile_id: int) -> Postings:
        """Read one profile's visible photos (changes after the position read first are applied next), and save
        its snapshot."""
        postings = Postings()
        position = newest_change(self.db)
        last_id = 0
        while True:
            with self.db.session() as session:
                rows = session.execute(
                    _text_rows(and_(Photo.profile_id == profile_id, Photo.deleted_at.is_(None), Photo.id > last_id))
                    .order_by(Photo.id).limit(READ_CHUNK)
                ).all()
            postings.add(self.document(row) for row in rows)
            if len(rows) < READ_CHUNK:
                break
            last_id = rows[-1].id
        self._profiles[profile_id], self._positions[profile_id] = postings, position
        self._follow()
        self.snapshots.save(profile_id, self._positions[profile_id], postings.to_arrays())
        return postings

    def _follow(self) -> None:
        """Apply the changes logged since each loaded profile's position."""
        if not self._profiles:
            return
        oldest = min(self._positions.values())
        with self.db.session() as session:
            rows = session.execute(
                select(PhotoChange.id, PhotoChange.photo_id).where(PhotoChange.id > oldest)).all()
            if not rows:
                return
            newest = max(change_id for change_id, _ in rows)
            changed = sorted({photo_id for _, photo_id in rows})
            docs = {}
            for start in range(0, len(changed), READ_CHUNK):
                found = session.execute(_text_rows(Photo.id.in_(changed[start : start + READ_CHUNK]))).all()
                docs.update({r.id: (r.profile_id, self.document(r)) for r in found if r.deleted_at is None})
        for profile_id, postings in self._profiles.items():
            position = self._positions[profile_id]
            mine = sorted({photo_id for change_id, photo_id in rows if change_id > position})
            postings.remove(mine)
            postings.add(docs[photo_id][1] for photo_id in mine
                         if photo_id in docs and docs[photo_id][0] == profile_id)
            self._positions[profile_id] = newest
