"""Ingestion: a job reads a source, and every photo is fetched, decoded, deduplicated, described, stored
and indexed. A photo that fails is recorded with its reason; the job carries on.

    source spec ─list─> [SourcePhoto] ─read─> bytes ─sha256─> (already stored? done)
                                           └─decode─> RGB ─describe (batch)─> DB rows + files ─> index

Jobs are rows with their spec and one JobItem per photo whose outcome is committed as soon as it is
known. A job interrupted by a crash or kill is picked up again on the next start (`resume_unfinished`):
finished items are skipped, and a photo stored just before the kill is found again by its content hash,
so every photo ends up stored exactly once.

Jobs run one at a time on a background worker thread (one index writer, one model in memory); the CLI
runs them in the foreground with `run_job`.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from photosearch.config import Settings
from photosearch.errors import ImageError, InvalidInput, NotFound, PhotosearchError
from photosearch.services.describe import Describer, PhotoDescription
from photosearch.sources.base import SourcePhoto
from photosearch.storage.db import Database
from photosearch.storage.index import IndexDoc, PhotoIndex
from photosearch.storage.models import Description, Job, JobItem, Photo, Profile, iso

log = logging.getLogger(__name__)

JOB_KINDS = ("urls", "folder", "upload", "instagram", "instagram_profile")
Progress = Callable[[dict], None]


@dataclass
class _Ready:
    """A photo that read and decoded fine, waiting for its batch to be described."""

    item_id: int
    photo: SourcePhoto
    content_hash: str
    image: Image.Image


def job_json(job: Job, counts: dict[str, int], failures: list[dict]) -> dict:
    return {
        "id": job.id,
        "profile": job.profile.name,
        "kind": job.kind,
        "status": job.status,
        "total": sum(counts.values()),
        "done": counts.get("done", 0),
        "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0),
        "error": job.error,
        "failures": failures,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }


def index_doc(photo: Photo, description: Description | None) -> IndexDoc:
    return IndexDoc(
        photo_id=photo.id,
        profile_id=photo.profile_id,
        caption=(description.caption or "") if description else "",
        alternatives=[a["text"] for a in (description.alternatives or [])[1:]] if description else [],
        labels=[lab["label"] for lab in (description.labels or [])] if description else [],
        poster=photo.poster_caption or "",
        hashtags=list(photo.hashtags or []),
        taken_at=photo.taken_at,
    )


class Ingestor:
    def __init__(
        self, settings: Settings, db: Database, index: PhotoIndex, describer: Callable[[], Describer]
    ) -> None:
        self.settings = settings
        self.db = db
        self.index = index
        self._describer_factory = describer
        self._describer: Describer | None = None
        self._describer_lock = threading.Lock()
        self._queue: queue.Queue[int] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._fetcher = None

    # -- models and fetcher are loaded on first use (start-up stays fast) --------------------------
    @property
    def describer(self) -> Describer:
        with self._describer_lock:
            if self._describer is None:
                self._describer = self._describer_factory()
            return self._describer

    def fetch(self, url: str) -> bytes:
        if self._fetcher is None:
            from photosearch.sources.fetch import Fetcher

            self._fetcher = Fetcher(self.settings)
        return self._fetcher.fetch(url)

    # -- jobs --------------------------------------------------------------------------------------
    def create_job(self, profile_name: str, kind: str, spec: dict) -> int:
        if kind not in JOB_KINDS:
            raise InvalidInput(f"unknown source kind {kind!r}")
        with self.db.session() as session:
            profile = session.scalar(select(Profile).where(Profile.name == profile_name))
            if profile is None:
                raise NotFound(f"no profile named {profile_name!r}")
            job = Job(profile_id=profile.id, kind=kind, spec=spec, status="queued")
            session.add(job)
            session.flush()
            return job.id

    def submit(self, job_id: int) -> None:
        """Run the job on the background worker."""
        with self._worker_lock:  # a worker about to exit idle can't miss this job (see _work)
            self._queue.put(job_id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="photosearch-ingest", daemon=True)
                self._worker.start()

    def resume_unfinished(self) -> list[int]:
        with self.db.session() as session:
            ids = list(session.scalars(select(Job.id).where(Job.status.in_(("queued", "running"))).order_by(Job.id)))
        for job_id in ids:
            self.submit(job_id)
        return ids

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued jobs are done (tests, CLI)."""
        self._queue.join() if timeout is None else _join_with_timeout(self._queue, timeout)

    def _work(self) -> None:
        while True:
            try:
                job_id = self._queue.get(timeout=5)
            except queue.Empty:
                with self._worker_lock:
                    if self._queue.empty():  # else a job came in while we timed out: it is ours
                        self._worker = None
                        return
                continue
            try:
                self.run_job(job_id)
            except Exception:  # noqa: BLE001 - a bug in one job must not kill the worker
                log.exception("job %s crashed", job_id)
                self._finish(job_id, "failed", "internal error while ingesting; see the server log")
            finally:
                self._queue.task_done()

    def job_status(self, job_id: int) -> dict:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            counts = dict(
                session.execute(
                    select(JobItem.status, func.count()).where(JobItem.job_id == job_id).group_by(JobItem.status)
                ).all()
            )
            failures = [
                {"source": source, "error": error}
                for source, error in session.execute(
                    select(JobItem.source, JobItem.error)
                    .where(JobItem.job_id == job_id, JobItem.status.in_(("failed", "skipped")))
                    .order_by(JobItem.position)
                    .limit(200)
                )
            ]
            return job_json(job, counts, failures)

    # -- the work ------------------------------------------------------------------------------------
    def list_sources(self, kind: str, spec: dict) -> list[SourcePhoto]:
        if kind == "urls":
            from photosearch.sources.url_list import url_photos

            photos = url_photos(spec["urls"], self.fetch)
            # Entries refused when the list was read are reported as failures of this job.
            return photos + [_refused(entry, why) for entry, why in spec.get("rejected", [])]
        if kind == "folder":
            from photosearch.sources.folder import folder_photos

            settings = self.settings
            if spec.get("root"):  # a folder named on the command line: readable again when the job resumes
                settings = replace(settings, folder_roots=[*settings.folder_roots, Path(spec["root"])])
            return folder_photos(Path(spec["folder"]), settings)
        if kind == "upload":
            return [_file_photo(Path(f["path"]), f"upload:{f['name']}", "upload") for f in spec["files"]]
        if kind == "instagram":
            from photosearch.sources.instagram import read_export

            return read_export(Path(spec["path"]), max_bytes=self.settings.max_image_bytes)
        if kind == "instagram_profile":
            from photosearch.sources.instagram import fetch_profile

            return fetch_profile(spec["username"], spec.get("limit"), fetch=self.fetch)
        raise InvalidInput(f"unknown source kind {kind!r}")

    def run_job(self, job_id: int, progress: Progress | None = None) -> dict:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            if job.status in ("done", "failed"):
                return self.job_status(job_id)
            job.status = "running"
            kind, spec, profile_id = job.kind, dict(job.spec), job.profile_id
        try:
            photos = self.list_sources(kind, spec)
        except PhotosearchError as exc:
            self._finish(job_id, "failed", exc.message)
            return self.job_status(job_id)
        items = self._ensure_items(job_id, photos)
        pending = [(item_id, photos[pos]) for pos, item_id in items]
        self.repair_index(profile_id)  # a previous run may have stopped between database and index
        for start in range(0, len(pending), self.settings.batch_size):
            self._process_batch(profile_id, pending[start : start + self.settings.batch_size])
            if progress:
                progress(self.job_status(job_id))
        if spec.get("cleanup"):
            shutil.rmtree(spec["cleanup"], ignore_errors=True)  # uploaded files: their copies are stored
        self._finish(job_id, "done", None)
        status = self.job_status(job_id)
        if progress:
            progress(status)
        return status

    def _ensure_items(self, job_id: int, photos: list[SourcePhoto]) -> list[tuple[int, int]]:
        """Create the job's items on first run; -> [(position, item id)] of those still pending."""
        with self.db.session() as session:
            existing = session.scalar(select(func.count()).where(JobItem.job_id == job_id))
            if not existing:
                session.add_all(
                    JobItem(job_id=job_id, position=i, source=p.source[:2000]) for i, p in enumerate(photos)
                )
                session.flush()
            rows = session.execute(
                select(JobItem.position, JobItem.id)
                .where(JobItem.job_id == job_id, JobItem.status == "pending")
                .order_by(JobItem.position)
            ).all()
        return [(pos, item_id) for pos, item_id in rows if pos < len(photos)]

    def _process_batch(self, profile_id: int, batch: list[tuple[int, SourcePhoto]]) -> None:
        outcomes: dict[int, tuple[str, str | None, int | None]] = {}  # item -> (status, error, photo id)
        ready: list[_Ready] = []
        seen: dict[str, int] = {}
        for item_id, photo in batch:
            if photo.skip_reason:
                outcomes[item_id] = ("skipped", photo.skip_reason, None)
                continue
            try:
                data = photo.read()
                if len(data) > self.settings.max_image_bytes:
                    raise ImageError(f"file is {len(data) / 1e6:.1f} MB, over the "
                                     f"{self.settings.max_image_bytes / 1e6:.0f} MB limit")
                digest = hashlib.sha256(data).hexdigest()
                existing = self._photo_by_hash(profile_id, digest)
                if existing is not None:
                    outcomes[item_id] = ("done", None, existing)  # already in this profile
                    continue
                if digest in seen:
                    ready.append(_Ready(item_id, photo, digest, ready[seen[digest]].image))
                    continue
                from photosearch.vision.imageio import decode_image

                image = decode_image(data, self.settings.max_image_pixels, max_side=1600)
            except PhotosearchError as exc:
                outcomes[item_id] = ("failed", exc.message, None)
                continue
            except Exception as exc:  # noqa: BLE001 - one odd photo must never stop the job
                log.exception("unexpected error reading %s", photo.source)
                outcomes[item_id] = ("failed", f"could not read this photo ({type(exc).__name__})", None)
                continue
            seen[digest] = len(ready)
            ready.append(_Ready(item_id, photo, digest, image))

        unique = [r for i, r in enumerate(ready) if seen.get(r.content_hash) == i]
        descriptions = self.describer.describe([r.image for r in unique]) if unique else []
        docs: list[IndexDoc] = []
        with self.db.session() as session:
            stored: dict[str, int] = {}
            for r, desc in zip(unique, descriptions, strict=True):
                photo = self._store(session, profile_id, r, desc)
                stored[r.content_hash] = photo.id
                docs.append(index_doc(photo, photo.description))
            for r in ready:
                outcomes[r.item_id] = ("done", None, stored[r.content_hash])
            items = {i.id: i for i in session.scalars(select(JobItem).where(JobItem.id.in_(list(outcomes))))}
            for item_id, (status, error, photo_id) in outcomes.items():  # one SELECT, not one per item
                item = items[item_id]
                item.status, item.error, item.photo_id = status, error, photo_id
        self.index.add(docs)  # after the commit: the database is the source of truth

    def _photo_by_hash(self, profile_id: int, digest: str) -> int | None:
        with self.db.session() as session:
            return session.scalar(
                select(Photo.id).where(Photo.profile_id == profile_id, Photo.content_hash == digest)
            )

    def _store(self, session, profile_id: int, r: _Ready, desc: PhotoDescription) -> Photo:  # noqa: ANN001
        from photosearch.vision.imageio import make_thumbnail, normalised_jpeg

        src = r.photo
        photo = Photo(
            profile_id=profile_id,
            source=src.source[:2000],
            kind=src.kind,
            content_hash=r.content_hash,
            width=r.image.width,
            height=r.image.height,
            status="described",
            poster_caption=src.poster_caption,
            hashtags=list(src.hashtags),
            taken_at=src.taken_at,
            post_id=src.post_id,
        )
        photo.description = Description(
            caption=desc.caption,
            alternatives=desc.alternatives,
            attention=desc.attention,
            labels=desc.labels,
            model=desc.model,
            image_vector=None if desc.image_vector is None else desc.image_vector.tobytes(),
            text_vector=None if desc.text_vector is None else desc.text_vector.tobytes(),
        )
        session.add(photo)
        session.flush()  # assigns photo.id, which names its files
        self.settings.ensure_dirs()
        (self.settings.images_dir / f"{photo.id}.jpg").write_bytes(normalised_jpeg(r.image))
        (self.settings.thumbs_dir / f"{photo.id}.jpg").write_bytes(make_thumbnail(r.image))
        return photo

    def _finish(self, job_id: int, status: str, error: str | None) -> None:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.status, job.error, job.finished_at = status, error, datetime.now(UTC)

    # -- consistency ---------------------------------------------------------------------------------
    def repair_index(self, profile_id: int | None = None) -> dict:
        """Make the index hold exactly the database's photos (of one profile, or all)."""
        with self.db.session() as session:
            stmt = select(Photo)
            if profile_id is not None:
                stmt = stmt.where(Photo.profile_id == profile_id)
            photos = {p.id: p for p in session.scalars(stmt)}
            indexed = self.index.photo_ids(profile_id)
            missing = [index_doc(photos[i], photos[i].description) for i in sorted(set(photos) - indexed)]
        extra = sorted(indexed - set(photos))
        self.index.add(missing)
        self.index.delete(extra)
        return {"added": len(missing), "removed": len(extra), "photos": len(photos)}


def _file_photo(path: Path, source: str, kind: str) -> SourcePhoto:
    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read the file: {exc.strerror or exc}") from exc

    return SourcePhoto(source=source, kind=kind, read=read)


def _refused(entry: str, why: str) -> SourcePhoto:
    def read() -> bytes:
        raise InvalidInput(why)

    return SourcePhoto(source=str(entry)[:2000], kind="url", read=read)


def _join_with_timeout(q: queue.Queue, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while q.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)
