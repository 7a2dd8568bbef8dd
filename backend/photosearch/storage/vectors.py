"""Every photo's vectors held in memory as one contiguous matrix per profile, so a query is one matrix product.

    ProfileVectors   ids [N] (ascending ids of the photos not deleted), image [N, d] float32 (the joint
                     image-text space), dated [N] (the date a photo is filed under: taken, else added; seconds
                     since 1970), caption text vectors only when asked for (fusion weight 0: shown for the
                     returned page only)

The database stays the source of truth. A profile's matrix is read once (in chunks, so memory peaks at the
matrix, not at a list of blobs) and afterwards kept in step cheaply:
    - on every query, `max(photo id)` of the profile and the count and latest time of its deleted photos
      (index lookups: ix_photos_profile_deleted): photos added since are appended (capacity doubles, so
      adding one photo copies nothing); a delete, restore or purge reads the matrix again;
    - at most every RECOUNT_S seconds, the profile's photo count: if photos vanished otherwise (a profile
      emptied by hand, a repair) the matrix is read again too.
Photos without a vector (models missing when they were described) get a zero row: they score 0.

Large profiles (>= ANN_THRESHOLD photos) also get a sign-bit sketch of every vector (d bits, 96 bytes for
d = 768) in a faiss binary index: a query first ranks all photos by the Hamming distance of their sketch to
the query's (a SIMD popcount scan, a fraction of the float product's cost), then scores the best `shortlist`
exactly from int8 codes. See docs/performance.md for its recall against the exact product.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from photosearch.storage.db import Database
from photosearch.storage.models import Description, Photo
from photosearch.storage.snapshots import SAVE_AGAIN_AFTER, Snapshots, newest_change, only_added_since

NO_DATE = np.iinfo(np.int64).min  # taken_at unknown: outside every date range
RECOUNT_S = 2.0  # how stale a removal may be before the matrix is read again
READ_CHUNK = 5_000  # rows per database read while loading (20K rows of blobs held ~60 MB more)
_GENERATIONS = itertools.count(1)
ANN_THRESHOLD = 50_000  # photos from which a profile is searched through the bit sketch first
SNAPSHOT_VERSION = 1  # of the arrays `to_arrays` writes (storage/snapshots.py)


def epoch_us(value: datetime | None) -> int:
    if value is None:
        return int(NO_DATE)
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we only store UTC
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1_000_000)  # microseconds, as precise as the stored datetimes


class _Growable:
    """A [capacity, d] array filled up to `n` rows; appending doubles the capacity when full."""

    def __init__(self, dim: int, dtype: np.dtype, capacity: int = 0) -> None:
        self.data = np.zeros((max(capacity, 16), dim) if dim else (max(capacity, 16),), dtype=dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self.data):
            grown = np.zeros((max(need, 2 * len(self.data)), *self.data.shape[1:]), dtype=self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : need] = rows
        self.n = need

    @classmethod
    def holding(cls, rows: np.ndarray, dtype: np.dtype) -> _Growable:
        """One that starts full with `rows`, without copying them (a snapshot's arrays: no second matrix)."""
        made = cls.__new__(cls)
        made.data = np.ascontiguousarray(rows, dtype=dtype)
        made.n = len(made.data)
        return made

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


@dataclass
class ProfileVectors:
    """One profile's vectors. Read-only for callers: `VectorStore` replaces or appends under its lock.

    Below ANN_THRESHOLD photos the image vectors are float32 and every query scores all of them exactly.
    From ANN_THRESHOLD on they are kept as int8 codes with one scale per row (a quarter of the memory;
    cosines within ~1e-3) plus the sign-bit sketch that shortlists photos before exact scoring.
    """

    profile_id: int
    _ids: _Growable = field(default_factory=lambda: _Growable(0, np.int64))
    _dated: _Growable = field(default_factory=lambda: _Growable(0, np.int64))
    _image: _Growable | None = None  # float32 [N, d] (small profiles)
    _codes: _Growable | None = None  # int8 [N, d] (large profiles)
    _scale: _Growable | None = None  # float32 [N]: code * scale = vector
    _bits: object | None = None  # faiss.IndexBinaryFlat of the packed signs, row = position (large profiles)
    dim: int = 0
    counted_at: float = 0.0
    deleted: tuple = (0, None)  # (count, latest deleted_at) of the profile's deleted photos when read
    generation: int = field(default_factory=lambda: next(_GENERATIONS))  # a new one per full read
    # Photos the caller knows are coming (a full read counts them first): from ANN_THRESHOLD on, every chunk
    # becomes int8 codes as it arrives, so loading never holds the float32 matrix (4x the codes: 307 MB per
    # 100K photos of d = 768).
    expected: int = 0
    bits_lock: threading.Lock = field(default_factory=threading.Lock)  # faiss: no search during an add

    def __len__(self) -> int:
        return self._ids.n

    @property
    def last_id(self) -> int:
        return int(self._ids.data[self._ids.n - 1]) if self._ids.n else 0

    def view(self) -> VectorView:
        """A consistent snapshot for one query: later appends never change it (they write past its end or
        into a new buffer)."""
        n = self._ids.n
        return VectorView(
            profile_id=self.profile_id, dim=self.dim, ids=self._ids.data[:n], dated=self._dated.data[:n],
            image=None if self._image is None else self._image.data[:n],
            codes=None if self._codes is None else self._codes.data[:n],
            scale=None if self._scale is None else self._scale.data[:n],
            bits=self._bits, bits_lock=self.bits_lock, stamp=(self.generation, n),
        )

    def append(self, ids: list[int], dated: list[int], image: list[bytes | None]) -> None:
        if not ids:
            return
        present = next((b for b in image if b is not None), None)
        if present is not None and not self.dim:
            self.dim = len(present) // 4
            if self.expected >= ANN_THRESHOLD:
                self._start_quantized(max(self.expected, len(self) + len(ids)))
                if len(self):  # rows before any vector
                    self._append_quantized(np.zeros((len(self), self.dim), np.float32))
            else:
                self._image = _Growable(self.dim, np.float32, len(ids))
                self._image.append(np.zeros((len(self), self.dim), np.float32))
        if self.dim:
            rows = np.zeros((len(ids), self.dim), np.float32)
            for i, blob in enumerate(image):
                if blob is not None and len(blob) == self.dim * 4:
                    rows[i] = np.frombuffer(blob, dtype=np.float32)
            if self._codes is None:
                self._image.append(rows)
            else:
                self._append_quantized(rows)
        self._ids.append(np.asarray(ids, np.int64))
        self._dated.append(np.asarray(dated, np.int64))
        if self._codes is None and self.dim and len(self) >= ANN_THRESHOLD:
            full, self._image = self._image.view, None
            self._start_quantized(len(full))
            for start in range(0, len(full), READ_CHUNK):
                self._append_quantized(full[start : start + READ_CHUNK])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array up to the last row (for a snapshot, storage/snapshots.py); `from_arrays` reads them back."""
        n = len(self)
        out = {"ids": self._ids.view, "dated": self._dated.view, "dim": np.array(self.dim, np.int64)}
        if self._image is not None:
            out["image"] = self._image.view
        if self._codes is not None:
            with self.bits_lock:
                out |= {"codes": self._codes.view, "scale": self._scale.view,
                        "bits": self._bits.reconstruct_n(0, n) if n else np.zeros((0, self._bits.code_size), np.uint8)}
        return out

    @classmethod
    def from_arrays(cls, profile_id: int, arrays: dict[str, np.ndarray]) -> ProfileVectors:
        made = cls(profile_id, counted_at=0.0, dim=int(arrays["dim"]))  # counted_at 0.0: count at the first get
        made._ids = _Growable.holding(arrays["ids"], np.int64)
        made._dated = _Growable.holding(arrays["dated"], np.int64)
        if "image" in arrays:
            made._image = _Growable.holding(arrays["image"], np.float32)
        if "codes" in arrays:
            made._codes = _Growable.holding(arrays["codes"], np.int8)
            made._scale = _Growable.holding(arrays["scale"], np.float32)
            made._bits = binary_index(made.dim)
            made._bits.add(np.ascontiguousarray(arrays.pop("bits"), np.uint8))
        return made

    def _start_quantized(self, capacity: int) -> None:
        self._codes = _Growable(self.dim, np.int8, capacity)
        self._scale = _Growable(0, np.float32, capacity)
        self._bits = binary_index(self.dim)

    def _append_quantized(self, rows: np.ndarray) -> None:
        codes, scale = quantize(rows)
        self._codes.append(codes)
        self._scale.append(scale)
        with self.bits_lock:
            self._bits.add(sign_bits(rows))


@dataclass(frozen=True)
class VectorView:
    """One profile's vectors as one query sees them (see ProfileVectors)."""

    profile_id: int
    dim: int
    ids: np.ndarray  # int64 [N], ascending
    dated: np.ndarray  # int64 [N], epoch microseconds (taken, else added) or NO_DATE
    image: np.ndarray | None  # float32 [N, d], small profiles
    codes: np.ndarray | None  # int8 [N, d], large profiles
    scale: np.ndarray | None  # float32 [N]
    bits: object | None  # faiss.IndexBinaryFlat; may already hold rows appended after this view
    bits_lock: threading.Lock | None = None
    # Changes whenever the visible photos change (a full read or an append): caches of per-photo data derived
    # from the same rows (services/relevance.py's vocabulary and label arrays) key on it instead of asking
    # the database again.
    stamp: tuple = ()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def quantized(self) -> bool:
        return self.codes is not None

    def scores(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of the query [d] with every photo (rows=None) or with the given rows: float32."""
        if self.codes is None:
            matrix = self.image if rows is None else self.image[rows]
            return matrix @ query
        if rows is None:  # a full pass over int8 codes: in chunks, so no [N, d] float copy is ever made
            out = np.empty(len(self), np.float32)
            for start in range(0, len(self), READ_CHUNK):
                part = slice(start, start + READ_CHUNK)
                out[part] = (self.codes[part] @ query) * self.scale[part]
            return out
        return (self.codes[rows].astype(np.float32) @ query) * self.scale[rows]

    def vector(self, row: int) -> np.ndarray:
        """One photo's image vector (dequantised for large profiles)."""
        if self.codes is None:
            return self.image[row].copy()
        return self.codes[row].astype(np.float32) * self.scale[row]

    def shortlist(self, query: np.ndarray, count: int, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows of up to `count` photos whose sign sketch is nearest the query's (large profiles only),
        restricted to `mask` when given."""
        n = len(self)
        want = count
        if mask is not None:  # ask for more, in proportion to what the mask keeps, and filter afterwards
            kept = int(mask.sum())
            if kept <= count:
                return np.flatnonzero(mask)
            want = min(n, int(count * n / kept * 1.5) + 1)
        with self.bits_lock:
            _, found = self.bits.search(sign_bits(query[None, :]), min(want, self.bits.ntotal))
        rows = found[0]
        rows = rows[(rows >= 0) & (rows < n)]
        if mask is not None:
            rows = rows[mask[rows]][:count]
        return rows

    def positions(self, photo_ids: np.ndarray) -> np.ndarray:
        """Row of each photo id, -1 where the profile has no such photo."""
        ids = self.ids
        photo_ids = np.asarray(photo_ids, np.int64)
        if not len(ids):
            return np.full(len(photo_ids), -1, np.int64)
        pos = np.searchsorted(ids, photo_ids)
        pos[pos >= len(ids)] = 0
        return np.where(ids[pos] == photo_ids, pos, -1)

    def in_range(self, after: datetime | None, before: datetime | None) -> np.ndarray | None:
        """Mask of the photos taken inside [after, before]; None when there is no range."""
        if after is None and before is None:
            return None
        low = epoch_us(after) if after else int(NO_DATE) + 1
        high = epoch_us(before) if before else int(np.iinfo(np.int64).max)
        return (self.dated >= low) & (self.dated <= high)



def quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, d] float32 -> int8 codes and a per-row scale (largest component maps to 127)."""
    peak = np.abs(rows).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    return np.round(rows / scale[:, None]).astype(np.int8), scale


def binary_index(dim: int):  # noqa: ANN201 - faiss type
    import faiss

    faiss.omp_set_num_threads(1)  # one query per request thread; the server runs several at once
    return faiss.IndexBinaryFlat(-(-dim // 8) * 8)


def sign_bits(rows: np.ndarray) -> np.ndarray:
    """[N, d] float -> [N, d/8] uint8: one bit per dimension, set where the value is positive."""
    return np.packbits(rows > 0, axis=1)


class VectorStore:
    """The profiles' matrices, loaded on first use and kept in step with the database (see module doc)."""

    def __init__(self, db: Database, snapshot_dir: Path | None = None) -> None:
        """With a `snapshot_dir`, a profile's first read comes from its snapshot (storage/snapshots.py) where the
        change log allows (untouched since, or photos only added after its newest: those are read), and a full
        read saves one."""
        self.db = db
        self.snapshots = Snapshots(snapshot_dir, "vectors", SNAPSHOT_VERSION, db)
        self._profiles: dict[int, ProfileVectors] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, profile_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(profile_id, threading.Lock())

    def forget(self, profile_id: int | None = None) -> None:
        """Drop cached matrices (all, or one profile's): the next query reads them again."""
        with self._guard:
            if profile_id is None:
                self._profiles.clear()
            else:
                self._profiles.pop(profile_id, None)

    def get(self, profile_id: int) -> VectorView:
        """The profile's vectors, up to date with the database."""
        with self._lock(profile_id):
            vectors = self._profiles.get(profile_id)
            restored = vectors is None and (vectors := self._from_snapshot(profile_id)) is not None
            last = vectors.last_id if vectors is not None else 0
            with self.db.session() as session:
                newest = session.scalar(select(func.max(Photo.id)).where(Photo.profile_id == profile_id))
                deleted = tuple(session.execute(
                    select(func.count(), func.max(Photo.deleted_at))
                    .where(Photo.profile_id == profile_id, Photo.deleted_at.is_not(None))).one())
                if restored:  # the snapshot holds no photo changed since (deletions included): as now
                    vectors.deleted = deleted
                stale = vectors is None or vectors.deleted != deleted
                if not stale and time.monotonic() - vectors.counted_at > RECOUNT_S:
                    visible = (Photo.profile_id == profile_id, Photo.deleted_at.is_(None))
                    count = session.scalar(select(func.count(Photo.id)).where(*visible))
                    added = 0 if newest is None or newest <= last else session.scalar(
                        select(func.count(Photo.id)).where(*visible, Photo.id > last))
                    stale = count != len(vectors) + added  # photos vanished
                    vectors.counted_at = time.monotonic()
            if stale:
                with self.db.session() as session:
                    visible = session.scalar(select(func.count(Photo.id)).where(
                        Photo.profile_id == profile_id, Photo.deleted_at.is_(None)))
                vectors = ProfileVectors(profile_id, counted_at=time.monotonic(), deleted=deleted,
                                         expected=visible or 0)
                # Saved on a profile's first read only; later full reads (a deletion) are left to the next start.
                position = newest_change(self.db) if profile_id not in self._profiles else None
                self._read(vectors, after_id=0)
                if position is not None:
                    self.snapshots.save(profile_id, position, vectors.to_arrays())
            elif newest is not None and newest > last:
                # A restored snapshot far behind is saved again; appends while serving ask nothing more.
                position, before = (newest_change(self.db), len(vectors)) if restored else (None, 0)
                self._read(vectors, after_id=last)
                if position is not None and len(vectors) - before > SAVE_AGAIN_AFTER:
                    self.snapshots.save(profile_id, position, vectors.to_arrays())
            with self._guard:
                self._profiles[profile_id] = vectors
            return vectors.view()

    def _from_snapshot(self, profile_id: int) -> ProfileVectors | None:
        """The profile's snapshot if no photo it holds has changed since (the caller reads photos added after
        it); None otherwise."""
        found = self.snapshots.load(profile_id, lambda arrays: ProfileVectors.from_arrays(profile_id, arrays))
        if found is None:
            return None
        position, vectors = found
        if not only_added_since(self.db, position, profile_id, vectors.view().ids):
            return None  # one it holds changed, or an older photo came back: read them all again
        return vectors

    def _read(self, vectors: ProfileVectors, after_id: int) -> None:
        """Append the profile's photos with id > after_id, in chunks."""
        last = after_id
        while True:
            with self.db.session() as session:
                rows = session.execute(
                    # the date a photo is filed under: taken, else added (as services/timeline.date_key)
                    select(Photo.id, func.coalesce(Photo.taken_at, Photo.created_at), Description.image_vector)
                    .join(Description, Description.photo_id == Photo.id, isouter=True)
                    .where(Photo.profile_id == vectors.profile_id, Photo.id > last, Photo.deleted_at.is_(None))
                    .order_by(Photo.id)
                    .limit(READ_CHUNK)
                ).all()
            if not rows:
                return
            vectors.append([r[0] for r in rows], [epoch_us(r[1]) for r in rows], [r[2] for r in rows])
            last = rows[-1][0]

    def caption_vectors(self, photo_ids: list[int]) -> dict[int, np.ndarray]:
        """MiniLM caption vectors of a few photos (the returned page), straight from the database."""
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(photo_ids), 5000):  # SQLite caps the number of bound parameters
            with self.db.session() as session:
                rows = session.execute(
                    select(Description.photo_id, Description.text_vector)
                    .where(Description.photo_id.in_(photo_ids[start : start + 5000]))
                ).all()
            out.update((pid, np.frombuffer(blob, dtype=np.float32)) for pid, blob in rows if blob is not None)
        return out

    def caption_matrix(self, vectors: VectorView) -> np.ndarray | None:
        """[N, 384] caption vectors aligned with `vectors.ids` (evaluation and fusions that weight them)."""
        found = self.caption_vectors(vectors.ids.tolist())
        if not found:
            return None
        dim = len(next(iter(found.values())))
        matrix = np.zeros((len(vectors), dim), np.float32)
        for i, pid in enumerate(vectors.ids.tolist()):
            if pid in found and len(found[pid]) == dim:
                matrix[i] = found[pid]
        return matrix
