"""A full-text index that follows the database, so several processes can each keep their own.

Each API process (and the CLI) has a Whoosh index on its own disk, but photos are stored by whichever
process or worker ran the job. Every write to a photo appends a row to `photo_changes` in the same
transaction (storage/db.py). Before each read, `FollowingIndex` applies the rows it has not seen yet: it
loads those photos as they are now and re-indexes them, or removes them when the row is gone. Where it
has read up to is kept beside the index (`followed-change`), so a restarted process only catches up on
what it missed, and a new one with an empty index replays the log from the start (the same as
`photosearch reindex`).

    worker A ─┐                              ┌─> API 1: index 1 (catch up before each search)
    worker B ─┼─> photos + photo_changes ────┤
    API 1/2  ─┘    (one database)            └─> API 2: index 2

Applying a change is idempotent (an update of the photo's document, or a delete), so reading a change twice,
e.g. after a crash between the index commit and the position file, does no harm. Catching up costs one
indexed SELECT when nothing changed.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from photosearch.storage.db import Database
from photosearch.storage.index import IndexDoc, PhotoIndex, TextHit
from photosearch.storage.models import Photo, PhotoChange

CHANGES_PER_ROUND = 2000  # rows read per query while catching up (bounded memory on a long replay)


class FollowingIndex(PhotoIndex):
    """A `PhotoIndex` that catches up with the database's change log before it is read."""

    def __init__(self, path: Path, db: Database) -> None:
        super().__init__(path)
        self.db = db
        self._position_file = self.path / "followed-change"
        self._follow_lock = threading.Lock()

    # -- where this index has read up to -----------------------------------------------------------
    @property
    def position(self) -> int:
        try:
            return int(self._position_file.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _save_position(self, change_id: int) -> None:
        partial = self._position_file.with_name(f"followed-change.{os.getpid()}.tmp")
        partial.write_text(str(change_id))
        partial.replace(self._position_file)  # atomic: a reader never sees half a number

    # -- following ---------------------------------------------------------------------------------
    def catch_up(self) -> set[int]:
        """Apply every change not applied yet; -> the ids of the photos re-indexed or removed."""
        from photosearch.services.ingest import index_doc  # services -> storage, not the other way

        applied: set[int] = set()
        with self._follow_lock:
            position = self.position
            while True:
                with self.db.session() as session:
                    rows = session.execute(
                        select(PhotoChange.id, PhotoChange.photo_id)
                        .where(PhotoChange.id > position)
                        .order_by(PhotoChange.id)
                        .limit(CHANGES_PER_ROUND)
                    ).all()
                    if not rows:
                        return applied
                    changed = {photo_id for _, photo_id in rows}
                    photos = session.scalars(
                        select(Photo).where(Photo.id.in_(changed)).options(selectinload(Photo.description))
                    ).all()
                    docs = [index_doc(photo, photo.description) for photo in photos]
                gone = sorted(changed - {photo.id for photo in photos})
                super().add(docs)
                super().delete(gone)
                position = rows[-1][0]
                self._save_position(position)
                applied |= changed

    def add(self, docs: list[IndexDoc]) -> None:
        """Index these documents. After an ingest commits, its photos are in the log: catching up indexes
        them (and what other processes stored) once, and only documents the log didn't cover are added
        here (e.g. by `repair_index`)."""
        applied = self.catch_up()
        super().add([doc for doc in docs if doc.photo_id not in applied])

    def clear(self) -> None:
        """Empty the index (`reindex` refills it from the database): what the log said until now is
        covered by that refill, so following resumes from the newest change."""
        with self._follow_lock, self.db.session() as session:
            newest = session.scalar(select(func.max(PhotoChange.id))) or 0
            super().clear()
            self._save_position(newest)

    # -- reads see every process's writes ------------------------------------------------------------
    def search(self, profile_id: int, text: str, limit: int = 200, taken_after: datetime | None = None,
               taken_before: datetime | None = None) -> list[TextHit]:
        self.catch_up()
        return super().search(profile_id, text, limit=limit, taken_after=taken_after, taken_before=taken_before)

    def top(self, profile_id: int, text: str, limit: int = 1000, taken_after: datetime | None = None,
            taken_before: datetime | None = None) -> tuple[list[int], list[float]]:
        self.catch_up()
        return super().top(profile_id, text, limit=limit, taken_after=taken_after, taken_before=taken_before)

    def photo_ids(self, profile_id: int | None = None) -> set[int]:
        self.catch_up()
        return super().photo_ids(profile_id)
