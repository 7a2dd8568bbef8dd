"""`photosearch backup DEST`: a consistent copy of a library, which photosearch can open as it is.

A library (config.py) is the SQLite database, the normalised photos (images/) and their thumbnails (thumbs/).
The full-text index and search's snapshots are not copied: they are rebuilt from the database when the copy is
first opened (the index follows the database's change log, storage/index.py), or at once by `photosearch
reindex`.

Why not `cp -r ~/.photosearch`: the database runs in WAL mode, and a copy taken while photosearch writes can pair
an old database file with a newer log, or catch a page half-written. SQLite's online backup API copies the
database as one snapshot, even while a server ingests. The files are copied for exactly the photos of that
snapshot, so the backup lists no photo without its files (a photo stored meanwhile waits for the next backup).

Backing up again into the same folder copies only what changed: a file whose size and modification time match
the copy's is already there (copies keep the time). The order keeps the previous backup whole until the new one
is: the snapshot is written beside it and checked (SQLite's quick_check), the new files are copied, the snapshot
replaces the previous database, and only then are the files of photos purged since removed. A damaged library
therefore never overwrites a good backup, and an interrupted backup leaves a usable one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from photosearch.config import Settings
from photosearch.errors import DatabaseDamaged, DiskFull, InvalidInput, NotFound, database_damage

DATABASE = "photosearch.db"
FOLDERS = ("images", "thumbs")  # as config.Settings names them under the data dir
PARTIAL = ".partial"


@dataclass
class BackupReport:
    destination: str
    photos: int  # photos in the backup (deleted ones that can still be restored included)
    files_copied: int = 0
    bytes_copied: int = 0
    files_unchanged: int = 0
    files_removed: int = 0  # of photos purged since the last backup
    files_missing: list[str] = field(default_factory=list)  # photos whose file went away while we copied
    seconds: float = 0.0


def backup(settings: Settings, destination: Path,
           progress: Callable[[int, int], None] | None = None) -> BackupReport:
    """Copy the library of `settings` into `destination` (created if needed); progress(done, total) per file."""
    started = time.monotonic()
    source = _database_file(settings)
    dest = _destination(settings, destination)
    try:
        ids = _snapshot(source, dest / f"{DATABASE}{PARTIAL}")
        report = BackupReport(destination=str(dest), photos=len(ids))
        _copy_files(settings, dest, ids, report, progress)
        os.replace(dest / f"{DATABASE}{PARTIAL}", dest / DATABASE)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"disk full: no space left in {dest} for the backup; the previous backup there, if "
                           "any, is still whole") from exc
        raise InvalidInput(f"the backup stopped: {_why(exc)}; the previous backup there, if any, is still "
                           "whole") from exc
    finally:
        (dest / f"{DATABASE}{PARTIAL}").unlink(missing_ok=True)
    report.files_removed = _remove_purged(dest, set(ids))
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _database_file(settings: Settings) -> Path:
    url = make_url(settings.database)
    if url.get_backend_name() != "sqlite":
        raise InvalidInput("photosearch backup copies an SQLite library; this one keeps its database in "
                           f"{url.get_backend_name()}: back that up with its own tools (pg_dump), and copy "
                           f"{settings.images_dir} and {settings.thumbs_dir}")
    path = Path(url.database or "")
    if not path.is_file():
        raise NotFound(f"no library at {settings.data_dir}: there is nothing to back up")
    return path


def _destination(settings: Settings, destination: Path) -> Path:
    dest = destination.expanduser().resolve()
    library = settings.data_dir.expanduser().resolve()
    if dest == library or library in dest.parents:
        raise InvalidInput(f"back up to a folder outside the library ({library}), better on another disk")
    if dest in library.parents:
        raise InvalidInput(f"the library ({library}) is inside {dest}: back up to a folder outside it")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / DATABASE).is_file():
        raise InvalidInput(f"{dest} is not empty and holds no photosearch backup: choose a new or empty folder")
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest} is a file: choose a folder")
    log = dest / f"{DATABASE}-wal"
    if log.is_file() and log.stat().st_size:  # SQLite would replay it onto the new copy and damage it
        raise InvalidInput(f"the backup in {dest} is open in photosearch, or was when photosearch stopped "
                           f"({log.name} is there): close it, or run `photosearch check --data-dir {dest}` once, "
                           "then back up again")
    try:
        for folder in FOLDERS:
            (dest / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"can't make the backup folder {dest}: {_why(exc)}") from exc
    return dest


def _why(exc: OSError) -> str:
    """"Permission denied: /media/usb/x" from an OSError, without Python's "[Errno 13]"."""
    return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc)


def _snapshot(source: Path, target: Path) -> list[int]:
    """The database as one consistent snapshot in `target`, checked and made one self-contained file; -> the
    ids of its photos."""
    target.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            verdict = dst.execute("PRAGMA quick_check").fetchall()
            if verdict != [("ok",)]:
                raise DatabaseDamaged(f"SQLite's check says {verdict[0][0]!r}", str(source))
            dst.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside it: the one file is the database
            return [row[0] for row in dst.execute("SELECT id FROM photos ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        damaged = database_damage(exc, str(source))
        if damaged is not None:
            raise damaged from exc
        raise


def _copy_files(settings: Settings, dest: Path, ids: list[int], report: BackupReport,
                progress: Callable[[int, int], None] | None) -> None:
    sources = {"images": settings.images_dir, "thumbs": settings.thumbs_dir}
    total, done = len(ids) * len(FOLDERS), 0
    for folder in FOLDERS:
        for photo_id in ids:
            name = f"{photo_id}.jpg"
            source, target = sources[folder] / name, dest / folder / name
            try:
                stat = source.stat()
            except FileNotFoundError:  # purged meanwhile: `photosearch check` on the backup reports it
                report.files_missing.append(f"{folder}/{name}")
            else:
                if _same(stat, target):
                    report.files_unchanged += 1
                else:
                    partial = target.with_name(name + PARTIAL)
                    shutil.copy2(source, partial)
                    os.replace(partial, target)
                    report.files_copied += 1
                    report.bytes_copied += stat.st_size
            done += 1
            if progress:
                progress(done, total)


def _same(stat: os.stat_result, target: Path) -> bool:
    try:
        copy = target.stat()
    except FileNotFoundError:
        return False
    return copy.st_size == stat.st_size and copy.st_mtime_ns == stat.st_mtime_ns


def _remove_purged(dest: Path, ids: set[int]) -> int:
    """Remove the backup's files of photos its database no longer has, and copies cut short earlier."""
    removed = 0
    for folder in FOLDERS:
        for path in (dest / folder).iterdir():
            stem = path.name.split(".", 1)[0]
            if path.name.endswith(PARTIAL) or not stem.isdigit() or int(stem) not in ids:
                path.unlink(missing_ok=True)
                removed += not path.name.endswith(PARTIAL)
    return removed
