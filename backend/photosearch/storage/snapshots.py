"""Snapshots of what search builds from the database, so a restart (or a one-off `photosearch search`) does not
build it again.

Search keeps, per profile, arrays it derives from every photo's texts: the BM25F postings (storage/postings.py)
and the vocabulary and label arrays (services/relevance.py). Building them reads and tokenises every photo:
~13 s at 100,000 photos, minutes at a million (docs/performance.md), and a CLI search paid that every time.
A snapshot is those arrays in one .npz file beside the full-text index, written after a build, with the position
in the database's change log (`photo_changes`, storage/db.py) they are up to date with. A reader loads it and
applies only the changes logged since, which the change log always holds (it is never pruned).

A snapshot is a cache: any doubt means building again. It is refused when its format version differs, when it
belongs to another profile (a profile id can be reused after a deletion: name and creation time must match),
when the log holds no change as new as its position (another or a restored database), or when it is damaged.
Files are written under a temporary name and renamed, so a reader never sees half a file, and two server
processes writing the same snapshot at once both leave a whole one. No pickles: plain arrays only.

What the log does not see, a snapshot does not either: a change written without the ORM (raw SQL, a migration that
rewrites rows) must come with a new version of the snapshots it affects, or be followed by `photosearch reindex`
(which removes them), as the full-text index needs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import func, select

from photosearch.storage.db import Database
from photosearch.storage.models import Photo, PhotoChange, Profile

log = logging.getLogger(__name__)
T = TypeVar("T")
SAVE_AGAIN_AFTER = 1000  # changes (or photos read on top) since a loaded snapshot after which it is saved again
IN_CHUNK = 5000  # ids per IN (...) list: SQLite caps the bound parameters of one statement
STALE_PARTIAL_S = 3600.0  # a .partial file this old belongs to a save that will never finish


def newest_change(db: Database) -> int:
    """The id of the newest row in the change log (0 when empty)."""
    with db.session() as session:
        return session.scalar(select(func.max(PhotoChange.id))) or 0


def changed_since(db: Database, position: int) -> tuple[int, set[int]]:
    """(newest change id, ids of the photos changed after `position`) from the change log."""
    with db.session() as session:
        rows = session.execute(select(PhotoChange.id, PhotoChange.photo_id).where(PhotoChange.id > position)).all()
    return max((change for change, _ in rows), default=position), {photo for _, photo in rows}


def only_added_since(db: Database, position: int, profile_id: int, ids: np.ndarray) -> bool:
    """Whether the profile's photos `ids` (ascending; what a snapshot holds) are still exactly its visible photos
    up to the last of them: no change logged after `position` touches one of them or brings back an older photo.
    Photos added after the last one may exist; the caller reads those."""
    _, changed = changed_since(db, position)
    if not changed:
        return True
    changed_ids = np.fromiter(changed, np.int64, len(changed))
    if np.isin(changed_ids, ids).any():
        return False  # described again, deleted or purged
    last = int(ids[-1]) if len(ids) else 0
    older = changed_ids[changed_ids <= last].tolist()
    with db.session() as session:
        return not any(session.scalar(select(func.count(Photo.id)).where(  # restored, or moved here
            Photo.id.in_(older[start : start + IN_CHUNK]), Photo.profile_id == profile_id,
            Photo.deleted_at.is_(None))) for start in range(0, len(older), IN_CHUNK))


def profile_identity(db: Database, profile_id: int) -> str | None:
    """What tells this profile from an earlier one with the same id: its name and creation time."""
    with db.session() as session:
        profile = session.get(Profile, profile_id)
        return None if profile is None else f"{profile.name}@{profile.created_at.isoformat()}"


def pack_strings(strings: list[str]) -> dict[str, np.ndarray]:
    """Strings as one UTF-8 byte array and their end offsets (exact for any text, no fixed width)."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    return {"bytes": np.frombuffer(b"".join(encoded), np.uint8),
            "ends": np.cumsum([len(e) for e in encoded], dtype=np.int64)}


def unpack_strings(packed_bytes: np.ndarray, ends: np.ndarray) -> list[str]:
    blob, ends = packed_bytes.tobytes(), ends.tolist()
    starts = [0, *ends[:-1]]
    return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends, strict=True)] if ends else []


class Snapshots:
    """Snapshot files of one kind ("postings", "texts", "vectors") in a folder: `save` and `load` per profile.
    `version` names everything the arrays depend on besides the database (their layout, the label-noun table)."""

    def __init__(self, folder: Path | None, kind: str, version: int | str, db: Database) -> None:
        self.folder = folder
        self.kind = kind
        self.version = str(version)
        self.db = db

    def path(self, profile_id: int) -> Path:
        return Path(self.folder) / f"{self.kind}-{profile_id}.npz"

    def save(self, profile_id: int, position: int, arrays: dict[str, np.ndarray]) -> None:
        """Write the profile's arrays, up to date with change `position`. A failure (a full disk, a read-only
        folder) is logged and costs only the next start's time."""
        if self.folder is None:
            return
        meta = {"version": self.version, "position": position, "profile": profile_identity(self.db, profile_id)}
        target = self.path(profile_id)
        partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.npz")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale_partials(target)
            with open(partial, "wb") as out:
                np.savez(out, meta=np.array(json.dumps(meta)), **arrays)
            partial.replace(target)
        except OSError as exc:
            log.warning("could not save the %s snapshot of profile %s: %s", self.kind, profile_id, exc)
            partial.unlink(missing_ok=True)

    @staticmethod
    def _remove_stale_partials(target: Path) -> None:
        """Half-written files of a process killed while saving (up to a GB at a million photos): gone once they are
        older than any save could take."""
        for stale in target.parent.glob(f"{target.stem}.*.partial.npz"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > STALE_PARTIAL_S:
                    stale.unlink()

    def load(self, profile_id: int, read: Callable[[dict[str, np.ndarray]], T]) -> tuple[int, T] | None:
        """(position, read(arrays)) of a snapshot this database can bring up to date; None when there is none or
        it is refused (see the module's notes), also when `read` finds the arrays damaged (KeyError, ValueError,
        TypeError, UnicodeDecodeError)."""
        found = self._arrays(profile_id)
        if found is None:
            return None
        try:
            return found[0], read(found[1])
        except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
            log.warning("ignoring a damaged %s snapshot of profile %s: %s", self.kind, profile_id, exc)
            return None

    def _arrays(self, profile_id: int) -> tuple[int, dict[str, np.ndarray]] | None:
        if self.folder is None or not self.path(profile_id).exists():
            return None
        try:
            with np.load(self.path(profile_id), allow_pickle=False) as found:
                arrays = {name: found[name] for name in found.files}
            meta = json.loads(str(arrays.pop("meta")))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            log.warning("ignoring a damaged %s snapshot of profile %s: %s", self.kind, profile_id, exc)
            return None
        position = meta.get("position")
        if (meta.get("version") != self.version or not isinstance(position, int)
                or meta.get("profile") != profile_identity(self.db, profile_id)
                or position > newest_change(self.db)):
            return None
        return position, arrays



def remove_snapshots(folder: Path, profile_id: int | None = None) -> None:
    """Remove one profile's snapshots (its deletion), or all (`photosearch reindex` rebuilds everything)."""
    for path in Path(folder).glob("*.npz" if profile_id is None else f"*-{profile_id}.npz"):
        with contextlib.suppress(OSError):
            path.unlink()
