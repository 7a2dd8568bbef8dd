"""Redescribing a library: every stored photo is described again by today's models.

    photosearch redescribe [PROFILE]            # CLI, with a progress bar
    POST /api/profiles/<p>/redescribe           # API: returns the job, like an ingest

A redescribe is an ordinary job (kind "redescribe", one JobItem per photo, "photo:<id>"), run by `Redescribe`
behind the same `JobKind` interface as ingests (services/jobs.py), so it has the same progress, resumes after a
crash, can be cancelled, and runs on the same workers. Photos are read back from the library's own normalised
copies (no source is fetched again) in batches; each batch's descriptions are committed and its index
documents replaced at once, so searches keep working while it runs and see each photo either as before or as
redescribed. A photo whose description was already written by the current captioner and grounding version
(Description.caption_model, Describer.caption_model) is skipped, so running it twice costs nothing.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PIL import Image
from sqlalchemy import select

from photosearch.services.describe import Describer, PhotoDescription
from photosearch.services.describe_pool import DescriberPool
from photosearch.services.ingest import Ingestor, index_doc
from photosearch.storage.models import Description, JobItem, Photo

if TYPE_CHECKING:
    from photosearch.services.jobs import JobRun

SOURCE_PREFIX = "photo:"


class Redescribe:
    """The "redescribe" job kind: describe a profile's stored photos again, batch by batch."""

    KIND = "redescribe"
    SKIPS_ARE_FINE = True  # a skipped photo is already described by today's models, or deleted: nothing failed

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor  # its database, settings, index and (shared, loaded once) models

    def title(self, spec: dict) -> str:
        return "Describe again with today's models"

    def photo_ids(self, profile_id: int) -> list[int]:
        """The profile's photos (not deleted), oldest first."""
        with self.ingestor.db.session() as session:
            return list(session.scalars(
                select(Photo.id)
                .where(Photo.profile_id == profile_id, Photo.deleted_at.is_(None))
                .order_by(Photo.id)
            ))

    def run(self, run: JobRun) -> None:
        items = run.pending_items(lambda: [f"{SOURCE_PREFIX}{i}" for i in self.photo_ids(run.profile_id)])
        pending = [(item_id, int(source.removeprefix(SOURCE_PREFIX))) for item_id, _, source in items]
        describer = self.ingestor.describer()
        # As an ingest does (services/jobs.py): `ahead` batches with the describer (its worker processes describe
        # side by side), each stored in order as its descriptions come back.
        describing: deque[tuple[list[tuple[int, int]], Future[list[PhotoDescription]] | None]] = deque()
        for batch in run.batches(pending):
            describing.append(self._start_batch(describer, batch))
            if len(describing) >= describer.ahead:
                self._store_batch(*describing.popleft())
        while describing:
            self._store_batch(*describing.popleft())

    def _start_batch(self, describer: Describer | DescriberPool, batch: list[tuple[int, int]]
                     ) -> tuple[list[tuple[int, int]], Future[list[PhotoDescription]] | None]:
        """Read `batch` [(item id, photo id)] back and hand it to the describer; items with nothing to do (deleted,
        already described by these models, unreadable) are settled now. -> (the items described, their future)."""
        current = describer.caption_model
        db, settings = self.ingestor.db, self.ingestor.settings
        images, todo = [], []
        with db.session() as session:
            for item_id, photo_id in batch:
                item = session.get(JobItem, item_id)
                photo = session.get(Photo, photo_id)
                if photo is None:  # deleted meanwhile
                    item.status, item.error = "skipped", "the photo was deleted"
                    continue
                if current and photo.description is not None and photo.description.caption_model == current:
                    item.status, item.photo_id = "skipped", photo_id
                    item.error = f"already described by {current}"
                    continue
                path = settings.images_dir / f"{photo_id}.jpg"
                try:
                    with Image.open(path) as img:
                        images.append(img.convert("RGB"))
                except OSError as exc:
                    item.status, item.error = "failed", f"cannot read the stored image: {exc}"
                    continue
                todo.append((item_id, photo_id))
        return todo, describer.submit(images) if images else None

    def _store_batch(self, todo: list[tuple[int, int]], described: Future[list[PhotoDescription]] | None) -> None:
        """Commit a batch's new descriptions and replace their index documents."""
        descriptions = described.result() if described else []
        db = self.ingestor.db
        docs = []
        with db.session() as session:
            for (item_id, photo_id), desc in zip(todo, descriptions, strict=True):
                photo = session.get(Photo, photo_id)
                item = session.get(JobItem, item_id)
                item.photo_id = photo_id
                if photo is None:
                    item.status, item.error = "skipped", "the photo was deleted"
                    continue
                d = photo.description or Description(photo_id=photo_id)
                d.caption = desc.caption
                d.alternatives = desc.alternatives
                d.attention = desc.attention
                d.labels = desc.labels
                d.model = desc.model
                d.caption_confidence = desc.caption_confidence
                d.grounded_caption = desc.grounded_caption
                d.caption_model = desc.caption_model
                # image_vector stays: same encoder and retrieval head, same vector (and search caches it).
                d.text_vector = None if desc.text_vector is None else desc.text_vector.tobytes()
                photo.description = d
                item.status = "done"
                docs.append(index_doc(photo, d))
        self.ingestor.index.add(docs)  # replaces each photo's document
