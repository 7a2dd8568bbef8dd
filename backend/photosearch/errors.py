"""Errors a person can act on.

Every layer raises these; the API maps them to JSON (`status`, `error`) and the CLI to a one-line message.
Anything else is a bug and is logged, never shown to a client.
"""

import errno
from collections.abc import Iterator


class PhotosearchError(Exception):
    """Base class: `message` is shown to the person as is."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PhotosearchError):
    """The request, or data it names, is wrong; the message says how."""
    status = 400


class Unauthorized(PhotosearchError):
    """No API token, or a wrong one."""
    status = 401


class Forbidden(PhotosearchError):
    """Not allowed (a folder outside the allowed roots, a link out of them)."""
    status = 403


class NotFound(PhotosearchError):
    """No such profile, photo, job or file."""
    status = 404


class Conflict(PhotosearchError):
    """Not now: the state forbids it (a name taken, a job already finished)."""
    status = 409


class TooLarge(PhotosearchError):
    """Over a size limit."""
    status = 413


class FetchError(PhotosearchError):
    """A photo could not be fetched (network, refused destination, limits)."""
    status = 422


class ImageError(PhotosearchError):
    """Bytes that are not a usable image (truncated, not an image, too many pixels)."""
    status = 422


class ModelError(PhotosearchError):
    """Weights missing or incompatible."""
    status = 500


class DiskFull(PhotosearchError):
    """The disk holding the data directory (or the database) has no space left. Nothing stored is lost:
    the write that failed is rolled back, and a job stopped by it resumes where it stopped."""

    status = 507  # Insufficient Storage

    def __init__(self, message: str = "disk full: no space is left for photosearch's data; free some space "
                                      "and try again (an interrupted job resumes where it stopped)") -> None:
        super().__init__(message)


class DatabaseDamaged(PhotosearchError):
    """SQLite finds the database file malformed, or no database at all (a disk fault, a copy cut short, another
    file put in its place). photosearch never rewrites such a file: the person restores a backup or recovers it."""

    status = 500

    def __init__(self, detail: str, where: str | None = None) -> None:
        name = f"the database {where}" if where else "the database"
        super().__init__(f"{name} is damaged: {detail}. photosearch has not changed it. Restore your last "
                         "`photosearch backup` (README.md, \"Backups\")")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: SQLAlchemy's `orig`, then `__cause__` / `__context__`, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) means "no space left": ENOSPC/EDQUOT from the OS, SQLITE_FULL from
    SQLite ("database or disk is full", also under SQLAlchemy's OperationalError)."""
    for current in _causes(exc):
        if isinstance(current, DiskFull):
            return True
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(current) or "No space left on device" in str(current):
            return True
    return False


# What SQLite says of a file it cannot read as a database (SQLITE_CORRUPT, SQLITE_NOTADB), in plain words.
DAMAGE_SIGNS = {"database disk image is malformed": "SQLite finds it malformed",
                "is not a database": "it is not an SQLite database"}


def database_damage(exc: BaseException, where: str | None = None) -> DatabaseDamaged | None:
    """The DatabaseDamaged error `exc` (or what it wraps) means, or None when it means something else."""
    for current in _causes(exc):
        if isinstance(current, DatabaseDamaged):
            return current
        sign = next((sign for sign in DAMAGE_SIGNS if sign in str(current)), None)
        if sign:
            return DatabaseDamaged(DAMAGE_SIGNS[sign], where)
    return None
