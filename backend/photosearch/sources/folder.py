"""Photos from a folder on the server's disk, only below the folders the owner allowed.

The folder name arrives through the API, so it is untrusted: `/home/me/photos/../../../etc` or a symlink
`photos/escape -> /etc` must not become a way to read the rest of the disk. The rule is simple: the
folder, and every file we read, must *resolve* (symlinks followed, `..` collapsed) to a path below one of
`Settings.folder_roots`. The folder is checked once when the job is created (`Forbidden` / `NotFound`);
each file is checked again when it is read, because the disk may change in between.

What is listed: files ending in .jpg .jpeg .png .webp .gif .bmp .tif .tiff .heic .heif .avif (any case), recursively,
sorted by their path below the folder. Hidden files and folders (names starting with ".", such as
`.thumbnails` or macOS `._IMG_0001.jpg` shadows) are skipped. Symlinked *files* are listed and must point
inside the roots; symlinked *folders* are not descended into (no cycles, no surprises). On the command line
the person names the folder themselves and can read whatever its links point to, so there a linked file may
point anywhere (a folder of links into an archive is a common way to pick photos). Nothing is read
while listing: `read()` opens the file later, refuses anything that is not a regular file (a FIFO named
`x.jpg` would otherwise block forever) and files over `max_image_bytes`, with a reason per photo.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import replace
from functools import partial
from pathlib import Path

from photosearch.config import Settings
from photosearch.errors import Forbidden, ImageError, InvalidInput, NotFound, TooLarge
from photosearch.imagebytes import IMAGE_SUFFIXES
from photosearch.sources.base import CliOption, JsonField, ListContext, Source, SourcePhoto
from photosearch.units import megabytes as _mb

log = logging.getLogger(__name__)


MAX_PATH_CHARS = 4096  # Linux's PATH_MAX


def folder_path(folder: Path | str) -> Path:
    """A folder name from a person or a client, as a path (`~` expanded); InvalidInput when it can't be one:
    a NUL byte, an unknown `~user`, longer than any path the system accepts."""
    text = str(folder)
    if not text.strip():
        raise InvalidInput("give a folder path")
    if "\x00" in text:
        raise InvalidInput("the folder path contains a NUL character")
    if len(text) > MAX_PATH_CHARS:
        raise InvalidInput(f"the folder path is longer than {MAX_PATH_CHARS} characters")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # "~nosuchuser/x": no such user, so no home directory to expand
        user = text[1:].split("/", 1)[0]
        raise InvalidInput(f"the folder path starts with ~{user}, but there is no user {user!r}") from None


def folder_photos(folder: Path | str, settings: Settings, links_anywhere: bool = False) -> list[SourcePhoto]:
    """Every image file below `folder`, as lazy photos. Raises Forbidden, NotFound or InvalidInput.
    links_anywhere: a linked file may point outside the roots (the command line's own folders)."""
    roots = _roots(settings)
    requested = folder_path(folder)
    try:
        resolved = requested.resolve()  # collapses .. and follows symlinks, so the check sees the real place
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a name too long, ...
        raise InvalidInput(f"the folder {str(requested)[:200]} can't be used: {exc}") from None
    if not _inside(resolved, roots):
        raise Forbidden(
            f"{requested} is outside the folders photosearch may read "
            f"({', '.join(str(r) for r in roots)}); set PHOTOSEARCH_FOLDER_ROOTS to allow more"
        )
    try:
        exists, is_dir = resolved.exists(), resolved.is_dir()
    except OSError as exc:  # ENAMETOOLONG, EACCES on a parent, ...
        raise InvalidInput(f"the folder {str(requested)[:200]} can't be used: {exc.strerror or exc}") from None
    if not exists:
        raise NotFound(f"folder not found: {requested}")
    if not is_dir:
        raise InvalidInput(f"not a folder: {requested}")

    read = partial(_read_file, roots=None if links_anywhere else roots, max_bytes=settings.max_image_bytes)
    return [
        SourcePhoto(source=shown_path(path), kind="file", read=partial(read, path))
        for path in sorted(_walk(resolved), key=lambda p: p.relative_to(resolved).as_posix())
    ]


def shown_path(path: Path | str) -> str:
    """A path as text that can be stored and shown. A name that is not UTF-8 (`bad\\xe9.jpg` from an old
    camera or a Latin-1 system) reaches Python with surrogate escapes, which no database or JSON encoder
    accepts; its odd bytes are written as \\xNN instead, so the photo keeps a recognisable, unique name."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _roots(settings: Settings) -> list[Path]:
    roots = [Path(root).expanduser().resolve() for root in settings.folder_roots]
    if not roots:
        raise Forbidden("reading folders is switched off (no folder roots are configured)")
    return roots


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _walk(top: Path) -> list[Path]:
    """Image files below `top`; an explicit stack instead of recursion, so deep trees are fine."""
    found: list[Path] = []
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and (
                        entry.is_symlink() or entry.is_file(follow_symlinks=False)
                    ):
                        found.append(Path(entry.path))
        except OSError as exc:  # an unreadable sub-folder costs its photos, not the whole job
            log.warning("skipping %s: %s", directory, exc.strerror or exc)
    return found


def _read_file(path: Path, *, roots: list[Path] | None, max_bytes: int) -> bytes:
    """The file's bytes, after checking again where it really is (unless `roots` is None) and how big it is."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise NotFound(f"the file is gone: {shown_path(path)}") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise ImageError(f"could not read {_name(path)}: {getattr(exc, 'strerror', None) or exc}") from None
    if roots is not None and not _inside(real, roots):
        raise Forbidden(f"{_name(path)} is a link to {shown_path(real)}, outside the folders photosearch may read "
                        "(PHOTOSEARCH_FOLDER_ROOTS)")
    try:
        # O_NOFOLLOW: the checked path can't be swapped for a symlink; O_NONBLOCK: a FIFO can't hang us
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ImageError(f"could not open {_name(path)}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{_name(path)} is not a regular file")
        if info.st_size > max_bytes:
            raise TooLarge(f"{_name(path)} is {_mb(info.st_size)}, over the {_mb(max_bytes)} limit")
        data = handle.read(max_bytes + 1)  # +1: notice a file that grew after the stat
    if len(data) > max_bytes:
        raise TooLarge(f"{_name(path)} is over the {_mb(max_bytes)} limit")
    return data


class FolderSource(Source, kind="folder", rank=20):
    """Every photo below a folder on the server (recursively), within the allowed roots."""

    json = JsonField("folder", "a path on the server")
    cli = CliOption("--folder", "DIR", "a folder of photos (searched recursively)")

    def from_json(self, value: object, body: dict, settings: Settings) -> dict:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("'folder' must be a path on the server")
        folder = folder_path(value)  # InvalidInput for NUL, ~nosuchuser, absurd lengths
        folder_photos(folder, settings)  # refuse bad folders now, not in the job
        return {"folder": str(folder)}

    def from_cli(self, value: str, options: dict, settings: Settings) -> dict:
        # On the command line the person names the folder themselves, so it becomes a root of its own;
        # the spec keeps it so that a resumed job may read it again.
        try:
            folder = folder_path(value).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise InvalidInput(f"the folder {value[:200]} can't be used: {exc}") from None
        spec = {"folder": str(folder), "root": str(folder), "links_anywhere": True}
        folder_photos(folder, _with_root(settings, spec))
        return spec

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        return folder_photos(Path(spec["folder"]), _with_root(context.settings, spec),
                             links_anywhere=bool(spec.get("links_anywhere")))

    def title(self, spec: dict) -> str:
        return f"folder {shown_path(spec['folder'])}"


def _with_root(settings: Settings, spec: dict) -> Settings:
    if not spec.get("root"):
        return settings
    return replace(settings, folder_roots=[*settings.folder_roots, Path(spec["root"])])


def _name(path: Path) -> str:
    return shown_path(path.name)
