"""Redescribing a library: every stored photo is described again by today's models.

    photosearch redescribe [PROFILE]            # CLI, with a progress bar
    POST /api/profiles/<p>/redescribe           # API: returns the job, like an ingest

A redescribe is an ordinary job (kind "redescribe", one JobItem per photo, "photo:<id>"), so it has the
same progress, resumes after a crash, and runs on the same worker as ingests. Photos are read back from the
library's own normalised copies (no source is fetched again) in batches; each batch's descriptions are
committed and its index documents replaced at once, so searches keep working while it runs and see each
photo either as before or as redescribed. A photo whose description was already written by the current
captioner version (Description.caption_model) is skipped, so running it twice costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PIL import Image
from sqlalchemy import select

from photosearch.storage.models import Description, JobItem, Photo

if TYPE_CHECKING:
    from photosearch.services.jobs import Jobs

KIND = "redescribe"
SOURCE_PREFIX = "photo:"


def photo_sources(jobs: Jobs, profile_id: int) -> list[int]:
    """The profile's described photos (not deleted), oldest first."""
    with jobs.db.session() as session:
        return list(
            session.scalars(
                select(Photo.id)
                .where(Photo.profile_id == profile_id, Photo.status == "described", Photo.deleted_at.is_(None))
                .order_by(Photo.id)
            )
        )


def run(jobs: Jobs, job_id: int, profile_id: int, progress: Callable[[object], None] | None) -> None:
    """Describe the profile's photos again; items are committed batch by batch. Stops between batches
    when the job is cancelled."""
    from photosearch.services.ingest import index_doc

    ingestor = jobs.ingestor

    with ingestor.db.session() as session:
        if not session.scalar(select(JobItem.id).where(JobItem.job_id == job_id).limit(1)):
            session.add_all(
                JobItem(job_id=job_id, position=i, source=f"{SOURCE_PREFIX}{photo_id}")
                for i, photo_id in enumerate(photo_sources(jobs, profile_id))
            )
            session.flush()
        pending = [
            (item_id, int(source.removeprefix(SOURCE_PREFIX)))
            for item_id, source in session.execute(
                select(JobItem.id, JobItem.source)
                .where(JobItem.job_id == job_id, JobItem.status == "pending")
                .order_by(JobItem.position)
            )
        ]
    describer = ingestor._describer()  # the ingest pipeline's models (loaded once, shared)
    current = describer.captioner.name if describer.captioner else None
    batch_size = ingestor.settings.batch_size
    for start in range(0, len(pending), batch_size):
        if jobs._cancelled(job_id):
            break
        batch = pending[start : start + batch_size]
        images, todo = [], []
        with ingestor.db.session() as session:
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
                path = ingestor.settings.images_dir / f"{photo_id}.jpg"
                try:
                    with Image.open(path) as img:
                        images.append(img.convert("RGB"))
                except OSError as exc:
                    item.status, item.error = "failed", f"cannot read the stored image: {exc}"
                    continue
                todo.append((item_id, photo_id))
        descriptions = describer.describe(images) if images else []
        docs = []
        with ingestor.db.session() as session:
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
        ingestor.index.add(docs)  # replaces each photo's document
        if progress:
            progress(jobs.job_status(job_id))
