"""The ingest pipeline: a batch of photos is read, hashed, deduplicated, decoded, described, stored and
indexed. A photo that fails is recorded with its reason; the batch carries on.

    [(job item, SourcePhoto)] ─read─> bytes ─sha256─> one lookup per batch: already stored? -> done
                                          └─decode─> RGB ─describe (one encoder pass)─> DB rows + files ─> index

A batch runs in three steps so that batches overlap (services/jobs.py): `prepare` (read, hash, look up,
decode: I/O and Pillow, which release the GIL) runs on a helper thread; `describe_soon` hands the decoded batch
to the describer (worker processes, services/describe_pool.py, describe batches side by side); `finish` stores
and indexes the batch once its descriptions are back. `ingest_batch` does all three in turn.

The full-text index is brought up to date after the database, at most every INDEX_EVERY_S seconds and when a
job ends (`flush_index`), not after every batch: a Whoosh commit per batch of 16 cost ~1.9 ms a photo, one
commit per job ~0.8 (docs/performance.md). Nothing searches a stale index meanwhile: every read of the index
first applies the database's change log (services/index_sync.py), which already holds the batch.

Each batch's photos and the outcomes of its job items are committed in one transaction, so a job
interrupted between batches resumes cleanly (see services/jobs.py), and a photo stored just before a
kill is found again by its content hash: every photo ends up stored exactly once.

Two ingests into one profile at the same time (two API requests, or the server and the CLI) may both
find a photo missing and both try to store it; the database's unique (profile, content hash) constraint
refuses the second, and that batch is retried knowing the other's photos (`_store_batch`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from photosearch.config import Settings, cpu_count
from photosearch.errors import PhotosearchError
from photosearch.services.describe import Describer, PhotoDescription
from photosearch.services.describe_pool import DescriberPool
from photosearch.sources.base import SourcePhoto
from photosearch.storage.db import Database
from photosearch.storage.index import IndexDoc, PhotoIndex
from photosearch.storage.models import Description, JobItem, Photo
from photosearch.units import megabytes
from photosearch.vision.captioner.grounding import grounded_nouns, shown_text
from photosearch.vision.imageio import decode_image, make_thumbnail, model_input, normalised_jpeg
from photosearch.vision.labels import search_terms
from photosearch.vision.photo_metadata import PhotoMetadata, read_photo_metadata

log = logging.getLogger(__name__)

DECODE_MAX_SIDE = 1600  # photos are stored and described at most this big
INDEX_EVERY_S = 30.0  # an ingest updates the full-text index at most this often, and when its job ends
T = TypeVar("T")
_STORE_ATTEMPTS = 3  # a batch racing another ingest of the same profile is retried this often


# The note on a "done" item whose bytes were stored already (earlier, by another job, or twice in one job).
ALREADY = "already in the collection"


@dataclass
class Outcome:
    """What became of one job item: "done" (with the photo it is; `error` may hold the ALREADY note),
    "failed" or "skipped" (with why)."""

    status: str
    error: str | None = None
    photo_id: int | None = None


@dataclass
class _Read:
    """A photo whose bytes were read and hashed."""

    item_id: int
    photo: SourcePhoto
    data: bytes
    content_hash: str


@dataclass
class _Ready:
    """A photo that decoded fine, waiting for its batch to be described and stored. All its image work is done
    in `prepare` (on the helper thread), so `finish` only runs the models and writes."""

    item_id: int
    photo: SourcePhoto
    content_hash: str
    size: tuple[int, int]  # (width, height) as stored
    model_input: Image.Image  # the photo at the encoder's input size (vision/encoder.py: model_input)
    files: Files  # the stored copy and the thumbnail, JPEG bytes
    metadata: PhotoMetadata  # EXIF date, camera, GPS presence
    byte_size: int


@dataclass
class Files:
    stored: bytes  # the normalised copy the photo view shows
    thumbnail: bytes


PARTIAL = ".partial"  # a photo file written before its row was committed


def publish_files(settings: Settings, photo_ids: list[int]) -> None:
    """`<id>.jpg.partial` -> `<id>.jpg` for photos whose rows are committed (rename: atomic, instant)."""
    for photo_id in photo_ids:
        for folder in (settings.images_dir, settings.thumbs_dir):
            partial = folder / f"{photo_id}.jpg{PARTIAL}"
            if partial.exists():
                partial.replace(folder / f"{photo_id}.jpg")


@dataclass
class PreparedBatch:
    """A batch read and decoded by `Ingestor.prepare`, waiting for `describe_soon` and `finish`."""

    profile_id: int
    outcomes: dict[int, Outcome]  # items already settled (failed, skipped, already stored)
    ready: list[_Ready]  # decoded photos to describe
    already: list[int]  # ids of photos found stored (a deleted one is brought back by `finish`)


@dataclass
class Describing:
    """A batch's descriptions on their way (`Ingestor.describe_soon`): one per content hash, in this order."""

    hashes: list[str]
    future: Future[list[PhotoDescription]] | None  # None: nothing to describe

    def result(self) -> dict[str, PhotoDescription]:
        """{content hash: description}; waits for the describer."""
        return dict(zip(self.hashes, self.future.result(), strict=True)) if self.future else {}


def _first_of_each(ready: list[_Ready]) -> dict[str, _Ready]:
    """{content hash: the photo that stands for it}: one description and one stored copy per content."""
    return {r.content_hash: r for r in ready}


def index_doc(photo: Photo, description: Description | None) -> IndexDoc:
    """The full-text document of a stored photo. Its caption field holds the sentence the photo's card shows:
    where the caption is unsure and the card shows the labels' sentence (grounding.shown_text), that sentence's
    nouns, and the caption joins the captioner's other sentences. So a word only the hidden caption says ("a
    person in a red jacket" of a flower) neither makes the photo a match for that word nor is given as the reason."""
    caption, others = "", []
    if description is not None:
        caption = description.caption or ""
        others = [a["text"] for a in description.alternatives or []]
        if shown_text(caption, description.caption_confidence, description.grounded_caption) == "grounded":
            caption = grounded_nouns(description.grounded_caption or "")
        else:
            others = others[1:]  # the first is the caption itself
    return IndexDoc(
        photo_id=photo.id,
        profile_id=photo.profile_id,
        caption=caption,
        alternatives=others,
        # Class names plus their plain nouns and categories (cat, bird, animal, food): vision/labels.py.
        labels=search_terms(description.labels or []) if description else [],
        poster=photo.poster_caption or "",
        hashtags=list(photo.hashtags or []),
        taken_at=photo.taken_at or photo.created_at,  # the date filter sees the date the person sees
    )


class Ingestor:
    """Runs batches through the pipeline. Thread-safe: batches of different jobs may run side by side
    (the describer and the index serialise what must be serialised)."""

    def __init__(
        self, settings: Settings, db: Database, index: PhotoIndex, describer: Callable[[], Describer | DescriberPool]
    ) -> None:
        self.settings = settings
        self.db = db
        self.index = index
        self.describer = describer  # loads the models on first use (start-up stays fast); shared by redescribe
        self._unindexed: list[IndexDoc] = []  # stored, not yet given to the index (flush_index)
        self._indexed_at = time.monotonic()
        self._unindexed_lock = threading.Lock()

    def ingest_batch(self, profile_id: int, batch: list[tuple[int, SourcePhoto]]) -> dict[int, Outcome]:
        """Ingest `batch` [(job item id, photo)] into the profile, index included; records and returns each
        item's outcome."""
        outcomes = self.finish(self.prepare(profile_id, batch))
        self.flush_index()
        return outcomes

    def flush_index(self) -> None:
        """Give the index every document stored since the last flush (jobs call this when they end)."""
        with self._unindexed_lock:
            docs, self._unindexed = self._unindexed, []
            self._indexed_at = time.monotonic()
        self.index.add(docs)

    def _index_soon(self, docs: list[IndexDoc]) -> None:
        with self._unindexed_lock:
            self._unindexed += docs
            due = time.monotonic() - self._indexed_at >= INDEX_EVERY_S
        if due:
            self.flush_index()

    def prepare(self, profile_id: int, batch: list[tuple[int, SourcePhoto]]) -> PreparedBatch:
        """Read, hash and decode a batch (no models, nothing written): safe on a helper thread."""
        outcomes: dict[int, Outcome] = {}
        read: list[_Read] = []
        # Reads run side by side (fetches wait on the network, not the CPU); the fetcher bounds each host.
        with ThreadPoolExecutor(max(1, min(len(batch), self.settings.fetch_workers)), "photosearch-read") as pool:
            for item_id, result in zip((i for i, _ in batch), pool.map(self._read_or_fail, batch), strict=True):
                if isinstance(result, Outcome):
                    outcomes[item_id] = result
                else:
                    read.append(result)
        stored = self._stored_photos(profile_id, {r.content_hash for r in read})
        fresh: dict[str, _Read] = {}  # content hash -> the first read of bytes not stored yet (decoded once)
        for r in read:
            if r.content_hash in stored:
                outcomes[r.item_id] = Outcome("done", ALREADY, stored[r.content_hash])
            else:
                fresh.setdefault(r.content_hash, r)
        # Decoding and making the stored copy, thumbnail and model input run side by side, one photo per core:
        # Pillow releases the GIL while it works, and a 1600 px photo is ~30 ms of it.
        with ThreadPoolExecutor(max(1, min(len(fresh), cpu_count())), "photosearch-image") as pool:
            made = dict(zip(fresh, pool.map(self._image_work, fresh.values()), strict=True))
        ready: list[_Ready] = []
        for r in read:
            if r.content_hash in stored:
                continue
            result = made[r.content_hash]
            if isinstance(result, Outcome):
                outcomes[r.item_id] = replace(result)
            elif fresh[r.content_hash] is r:
                ready.append(result)
            else:  # the same bytes twice in one batch share the work; each item keeps its own source
                ready.append(replace(result, item_id=r.item_id, photo=r.photo))
        return PreparedBatch(profile_id, outcomes, ready, sorted(set(stored.values())))

    def describe_soon(self, prepared: PreparedBatch) -> Describing:
        """Start describing a prepared batch (in a worker process when the describer is a pool); `finish` takes
        the result. Each content is described once."""
        unique = _first_of_each(prepared.ready)
        images = [r.model_input for r in unique.values()]
        return Describing(list(unique), self.describer().submit(images) if images else None)

    def finish(self, prepared: PreparedBatch, describing: Describing | None = None) -> dict[int, Outcome]:
        """Store a prepared batch with its descriptions (`describe_soon`'s, else described now), and index it soon
        (`flush_index`); records and returns each item's outcome."""
        profile_id, outcomes, ready = prepared.profile_id, prepared.outcomes, prepared.ready
        self._bring_back(prepared.already)
        # Stored since `prepare` looked (an earlier batch held the same photo): found, not stored again.
        stored = self._stored_photos(profile_id, {r.content_hash for r in ready})
        self._bring_back(stored.values())
        for r in ready:
            if r.content_hash in stored:
                outcomes[r.item_id] = Outcome("done", ALREADY, stored[r.content_hash])
        ready = [r for r in ready if r.content_hash not in stored]
        if describing is None:
            describing = self.describe_soon(replace(prepared, ready=ready))
        docs = self._store_batch(profile_id, ready, outcomes, describing.result())
        self._index_soon(docs)  # after the commit: the database is the source of truth
        return outcomes

    # -- steps ---------------------------------------------------------------------------------------
    def _read_or_fail(self, entry: tuple[int, SourcePhoto]) -> _Read | Outcome:
        try:
            return self._read(*entry)
        except _Failed as failed:
            return failed.outcome

    def _read(self, item_id: int, photo: SourcePhoto) -> _Read:
        if photo.skip_reason:
            raise _Failed(Outcome("skipped", photo.skip_reason))
        data = _guarded(photo, photo.read)
        if len(data) > self.settings.max_image_bytes:
            raise _Failed(Outcome("failed", f"file is {megabytes(len(data))}, over the "
                                            f"{megabytes(self.settings.max_image_bytes)} limit"))
        return _Read(item_id, photo, data, hashlib.sha256(data).hexdigest())

    def _image_work(self, r: _Read) -> _Ready | Outcome:
        """Everything a read photo needs before the models: decoded, its files made, its metadata read."""
        try:
            image = self._decode(r)
        except _Failed as failed:
            return failed.outcome
        metadata = read_photo_metadata(r.data)  # after decoding: the bytes are a readable image
        files = Files(normalised_jpeg(image), make_thumbnail(image))
        return _Ready(r.item_id, r.photo, r.content_hash, image.size, model_input(image), files, metadata, len(r.data))

    def _decode(self, r: _Read) -> Image.Image:
        return _guarded(r.photo, lambda: decode_image(r.data, self.settings.max_image_pixels, max_side=DECODE_MAX_SIDE))

    def _bring_back(self, photo_ids) -> None:  # noqa: ANN001 - ids
        """Adding a photo again that is deleted but not yet purged undoes its deletion."""
        if photo_ids:
            with self.db.session() as session:
                session.execute(update(Photo).where(Photo.id.in_(list(photo_ids)), Photo.deleted_at.is_not(None))
                                .values(deleted_at=None))

    def _stored_photos(self, profile_id: int, hashes: set[str], session: Session | None = None) -> dict[str, int]:
        """{content hash: photo id} of the given hashes already stored in the profile: one query."""
        if not hashes:
            return {}
        stmt = select(Photo.content_hash, Photo.id).where(
            Photo.profile_id == profile_id, Photo.content_hash.in_(sorted(hashes))
        )
        if session is not None:
            return dict(session.execute(stmt).all())
        with self.db.session() as own:
            return dict(own.execute(stmt).all())

    def _store_batch(self, profile_id: int, ready: list[_Ready], outcomes: dict[int, Outcome],
                     descriptions: dict[str, PhotoDescription]) -> list[IndexDoc]:
        """Store and record the described batch in one transaction; -> the index documents of new photos."""
        unique = _first_of_each(ready)
        for attempt in range(_STORE_ATTEMPTS):
            written: list[Path] = []
            try:
                with self.db.session() as session:
                    # Stored meanwhile by another ingest of this profile (we lost a race): use theirs.
                    theirs = self._stored_photos(profile_id, set(unique), session) if attempt else {}
                    photos = {h: self._photo_row(profile_id, r, descriptions[h])
                              for h, r in unique.items() if h not in theirs}
                    session.add_all(photos.values())
                    session.flush()  # assigns ids; a concurrent duplicate raises IntegrityError here
                    for h, photo in photos.items():
                        self._write_files(photo.id, unique[h].files, written)
                    ids = {**theirs, **{h: p.id for h, p in photos.items()}}
                    for r in ready:
                        new = r.content_hash in photos and unique[r.content_hash] is r
                        outcomes[r.item_id] = Outcome("done", None if new else ALREADY, ids[r.content_hash])
                    self._record(session, outcomes)
                    docs = [index_doc(p, p.description) for p in photos.values()]
            except IntegrityError:
                _remove(written)
                if attempt == _STORE_ATTEMPTS - 1:
                    raise
                log.info("profile %s: another ingest stored some of these photos first; retrying", profile_id)
                continue
            except BaseException:  # a full disk, a failed commit: the rows are rolled back, so their files go
                _remove(written)
                raise
            publish_files(self.settings, [p.id for p in photos.values()])  # committed: give them their names
            return docs
        raise AssertionError("unreachable")

    def _photo_row(self, profile_id: int, r: _Ready, desc: PhotoDescription) -> Photo:
        src = r.photo
        photo = Photo(
            profile_id=profile_id,
            source=src.source[:2000],
            kind=src.kind,
            content_hash=r.content_hash,
            width=r.size[0],
            height=r.size[1],
            poster_caption=src.poster_caption,
            hashtags=list(src.hashtags),
            taken_at=r.metadata.taken_at or src.taken_at,  # the shutter, else the post's date (Instagram)
            camera=r.metadata.camera,
            has_gps=r.metadata.has_gps,
            byte_size=r.byte_size,
            post_id=src.post_id,
        )
        photo.description = Description(
            caption=desc.caption,
            alternatives=desc.alternatives,
            attention=desc.attention,
            labels=desc.labels,
            model=desc.model,
            caption_confidence=desc.caption_confidence,
            grounded_caption=desc.grounded_caption,
            caption_model=desc.caption_model,
            image_vector=None if desc.image_vector is None else desc.image_vector.tobytes(),
            text_vector=None if desc.text_vector is None else desc.text_vector.tobytes(),
        )
        return photo

    def _write_files(self, photo_id: int, files: Files, written: list[Path]) -> None:
        """The normalised copy and the thumbnail, written before the commit as `<id>.jpg.partial` and renamed
        to `<id>.jpg` once the row is committed (`publish_files`). A process killed before its commit leaves
        only .partial files of ids no committed row has; `check --repair` removes those once they are old, and
        finishes the rename of a committed photo's files. (SQLite may hand such an id out again: the next
        photo's own .partial file then replaces the orphan, and is published with it; PostgreSQL never does.)
        Each path is listed in `written` before it is written, so a batch that fails (a full disk) removes even a
        half written file at once."""
        self.settings.ensure_dirs()
        for path, data in ((self.settings.images_dir / f"{photo_id}.jpg{PARTIAL}", files.stored),
                           (self.settings.thumbs_dir / f"{photo_id}.jpg{PARTIAL}", files.thumbnail)):
            written.append(path)
            path.write_bytes(data)

    @staticmethod
    def _record(session: Session, outcomes: dict[int, Outcome]) -> None:
        items = session.scalars(select(JobItem).where(JobItem.id.in_(list(outcomes))))  # one SELECT
        for item in items:
            outcome = outcomes[item.id]
            item.status, item.error, item.photo_id = outcome.status, outcome.error, outcome.photo_id

    # -- consistency ---------------------------------------------------------------------------------
    def stored_photo_ids(self, profile_id: int | None = None) -> set[int]:
        """The ids of the photos in the database (of one profile, or all)."""
        with self.db.session() as session:
            stmt = select(Photo.id)
            if profile_id is not None:
                stmt = stmt.where(Photo.profile_id == profile_id)
            return set(session.scalars(stmt))

    def repair_index(self, profile_id: int | None = None) -> dict:
        """Make the index hold exactly the database's photos (of one profile, or all), beside other processes
        that may be ingesting (index_drift)."""
        photo_ids, missing_ids, extra = index_drift(self.index, lambda: self.stored_photo_ids(profile_id), profile_id)
        with self.db.session() as session:
            missing = [index_doc(p, p.description) for p in
                       session.scalars(select(Photo).where(Photo.id.in_(missing_ids)).order_by(Photo.id))]
        self.index.add(missing)
        self.index.delete(extra)
        return {"added": len(missing), "removed": len(extra), "photos": len(photo_ids)}


def index_drift(index: PhotoIndex, stored: Callable[[], set[int]],
                profile_id: int | None = None) -> tuple[set[int], list[int], list[int]]:
    """(the database's photo ids, ids missing from the index, ids the index holds but the database does not), read
    while other processes may be ingesting or deleting. The index is read before the database (a photo committed
    meanwhile cannot look stale: `check --repair` during a server's ingest removed its newest photos from the
    index) and again after it (the index follows the change log past the database read, so no committed photo
    looks missing). `stored` reads the database's ids."""
    before = index.photo_ids(profile_id)
    photo_ids = stored()
    after = index.photo_ids(profile_id)
    return photo_ids, sorted(photo_ids - after), sorted((before & after) - photo_ids)


class _Failed(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def _guarded(photo: SourcePhoto, step: Callable[[], T]) -> T:
    """Run one step for one photo; any failure becomes that photo's outcome, never the batch's."""
    try:
        return step()
    except PhotosearchError as exc:
        raise _Failed(Outcome("failed", exc.message)) from None
    except Exception as exc:  # noqa: BLE001 - one odd photo must never stop the job
        log.exception("unexpected error reading %s", photo.source)
        raise _Failed(Outcome("failed", f"could not read this photo ({type(exc).__name__})")) from None


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
