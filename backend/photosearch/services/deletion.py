"""Deleting photos, with Undo.

Deleting is two steps, like the trash of a photo app:

1. **Soft delete** (`delete`): the photo's `deleted_at` is set. From that moment it is hidden everywhere: the
   timeline, search, similar photos, counts and its detail page. Nothing is removed yet, so `restore` (the
   "Undo" button) only has to clear the mark.
2. **Purge** (`purge`): once the undo window has passed (`Settings.undo_seconds`, 30 s by default), the
   database row (with its description and vectors), the full-text document and the two files are removed for
   good. A server purges on a timer after each delete and whenever it deletes again; `photosearch purge` does
   it at once for everything deleted.

Purging is idempotent and safe across processes: the rows to purge are chosen and removed in one
transaction, and only then are the index documents and files removed (the database is the source of truth;
`photosearch check --repair` cleans anything a crash leaves between the two).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from photosearch.config import Settings
from photosearch.errors import InvalidInput, NotFound
from photosearch.services.library import profile_by_name
from photosearch.storage.db import Database
from photosearch.storage.index import PhotoIndex
from photosearch.storage.models import Photo

log = logging.getLogger(__name__)
MAX_SELECTION = 10_000


def check_ids(ids: object) -> list[int]:
    """A selection from a client: a non-empty list of photo ids."""
    if not isinstance(ids, list) or not ids:
        raise InvalidInput("send the photos as {\"ids\": [1, 2, ...]}")
    if len(ids) > MAX_SELECTION:
        raise InvalidInput(f"at most {MAX_SELECTION} photos at a time")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids):
        raise InvalidInput("photo ids are positive whole numbers")
    return list(dict.fromkeys(ids))


class Deletion:
    def __init__(self, settings: Settings, db: Database, index: PhotoIndex) -> None:
        self.settings = settings
        self.db = db
        self.index = index
        self._timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()

    @property
    def undo_seconds(self) -> float:
        return float(getattr(self.settings, "undo_seconds", 30.0))

    def delete(self, ids: list[int], profile: str | None = None) -> dict:
        """Hide these photos now; they can be restored until purged. Every id must name a visible photo (of
        `profile` when given), else nothing is deleted: a selection is all or nothing."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            photos = self._photos(session, ids, profile, deleted=False)
            for photo in photos:
                photo.deleted_at = now
        self.schedule_purge()
        return {"deleted": ids, "undo_seconds": self.undo_seconds,
                "purge_after": (now + timedelta(seconds=self.undo_seconds)).isoformat()}

    def restore(self, ids: list[int], profile: str | None = None) -> dict:
        """Undo: bring deleted photos back (they keep their place in the timeline). Photos that are not
        deleted are left as they are; photos already purged are gone (404)."""
        with self.db.session() as session:
            photos = self._photos(session, ids, profile, deleted=None)
            for photo in photos:
                photo.deleted_at = None
        return {"restored": ids}

    def _photos(self, session, ids: list[int], profile: str | None, deleted: bool | None) -> list[Photo]:  # noqa: ANN001
        stmt = select(Photo).where(Photo.id.in_(ids))
        if profile is not None:
            stmt = stmt.where(Photo.profile_id == profile_by_name(session, profile).id)
        if deleted is False:
            stmt = stmt.where(Photo.deleted_at.is_(None))
        photos = list(session.scalars(stmt))
        missing = sorted(set(ids) - {p.id for p in photos})
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            where = f" in {profile!r}" if profile else ""
            raise NotFound(f"no photo{'s' if len(missing) > 1 else ''} {shown}{where}")
        return photos

    # -- purge ---------------------------------------------------------------------------------------
    def purge(self, older_than: float | None = None) -> dict:
        """Remove for good the photos deleted more than `older_than` seconds ago (None: all deleted)."""
        stmt = select(Photo).where(Photo.deleted_at.is_not(None))
        if older_than is not None:
            stmt = stmt.where(Photo.deleted_at <= datetime.now(UTC) - timedelta(seconds=older_than))
        with self.db.session() as session:
            photos = list(session.scalars(stmt))
            ids = [p.id for p in photos]
            for photo in photos:
                session.delete(photo)  # its description goes with it (cascade); job items keep a NULL
        self.index.delete(ids)
        for photo_id in ids:
            for folder in (self.settings.images_dir, self.settings.thumbs_dir):
                (folder / f"{photo_id}.jpg").unlink(missing_ok=True)
        return {"purged": len(ids), "ids": ids}

    def purge_due(self) -> dict:
        """Purge what is past its undo window (the server's timer calls this)."""
        return self.purge(older_than=self.undo_seconds)

    def schedule_purge(self) -> None:
        """Purge what is due now, and again once the photos just deleted are past their window."""
        self.purge_due()
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.undo_seconds + 0.5, self._timed_purge)
            self._timer.daemon = True
            self._timer.start()

    def _timed_purge(self) -> None:
        try:
            self.purge_due()
        except Exception:  # noqa: BLE001 - a failed purge is retried at the next delete or `photosearch purge`
            log.exception("purging deleted photos failed")

    def close(self) -> None:
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
