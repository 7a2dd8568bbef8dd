"""What every source is: the `SourcePhoto` record it yields, and the `Source` interface the registry holds.

A source only says *where* a photo is and how to read its bytes; fetching happens lazily in the ingest
job (so a failure is recorded per photo and never stops the job).

A `Source` turns what a person gave (JSON in an API request, an option on the command line, uploaded
files) into a job *spec*, a small JSON-able dict stored with the job, and later turns that spec into
photos. Checks that can fail fast (a folder outside the allowed roots, an export that is not a ZIP) run
when the spec is made, so the person hears about them before any job exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from photosearch.config import Settings
from photosearch.errors import InvalidInput


@dataclass
class SourcePhoto:
    source: str  # what the person recognises: the URL, the file path, "upload:<name>", "instagram:<post>/<file>"
    kind: str  # "url" | "file" | "upload" | "instagram"
    read: Callable[[], bytes]  # returns the raw bytes; raises PhotosearchError with a reason
    poster_caption: str | None = None  # the poster's own text (Instagram)
    hashtags: list[str] = field(default_factory=list)
    taken_at: datetime | None = None
    post_id: str | None = None
    skip_reason: str | None = None  # set when the item is known unusable (e.g. a video post)


@dataclass(frozen=True)
class SavedFile:
    """An uploaded file, saved under a generated name; `name` is what the person called it."""

    path: Path
    name: str


@dataclass
class ListContext:
    """What a source may use while listing its photos: the settings and the shared, SSRF-safe fetch."""

    settings: Settings
    fetch: Callable[[str], bytes]


@dataclass(frozen=True)
class JsonField:
    """`{"<name>": ...}` in POST /api/profiles/<p>/sources; `hint` says what goes there ("a list of URLs")."""

    name: str
    hint: str


@dataclass(frozen=True)
class CliOption:
    """`photosearch ingest NAME <flag> METAVAR`, with its --help line."""

    flag: str
    metavar: str
    help: str

    @property
    def dest(self) -> str:
        """The argparse attribute: "--instagram-export" -> "instagram_export"."""
        return self.flag.lstrip("-").replace("-", "_")


_KINDS: dict[str, type[Source]] = {}  # kind -> its class, filled as `sources/` modules are imported


class Source:
    """One kind of source. A subclass names its kind and place in lists in its header, and so registers:

        class FolderSource(Source, kind="folder", rank=20): ...

    It implements `photos` and `title`, plus the ways in it accepts: `from_json` (with `json`: a field of
    POST /api/profiles/<p>/sources), `from_cli` (with `cli`: an `ingest` option) or `from_files` (a multipart
    upload). Put it in its own module under `sources/`: the API, the CLI and the jobs find it through
    `sources/registry.py` and never branch on kinds."""

    kind: ClassVar[str]  # stored in Job.kind; never rename one, stored jobs resume by it
    rank: ClassVar[int] = 100  # order in messages and --help (lower first)
    json: ClassVar[JsonField | None] = None  # the request field that selects this source
    cli: ClassVar[CliOption | None] = None  # the `photosearch ingest` option that selects it

    def __init_subclass__(cls, *, kind: str, rank: int = 100, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if kind in _KINDS and _KINDS[kind] is not cls:
            raise RuntimeError(f"two sources claim the kind {kind!r}")
        cls.kind, cls.rank = kind, rank
        _KINDS[kind] = cls

    def from_json(self, value: object, body: dict, settings: Settings) -> dict:
        """The job spec for an API request whose `json` field holds `value` (`body` is the whole request)."""
        raise InvalidInput(f"{self.kind} sources can't be added with JSON")

    def from_cli(self, value: str, options: dict, settings: Settings) -> dict:
        """The job spec for `photosearch ingest NAME <cli.flag> value` (`options`: the other flags)."""
        raise InvalidInput(f"{self.kind} sources can't be added from the command line")

    def from_files(self, files: list[SavedFile], folder: Path, settings: Settings) -> dict:
        """The job spec for uploaded files saved in `folder` (removed when the job is done)."""
        raise InvalidInput(f"{self.kind} sources can't be uploaded")

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        """Every photo the spec names, lazily readable. Raises PhotosearchError when the source can't be
        listed at all (the job then fails with that message)."""
        raise NotImplementedError

    def title(self, spec: dict) -> str:
        """A few words naming the source for people: "12 URLs", "folder ~/Pictures", "Instagram @nasa"."""
        raise NotImplementedError


def source_classes() -> dict[str, type[Source]]:
    """Every `Source` subclass defined so far, by kind (the registry imports all of `sources/` first)."""
    return dict(_KINDS)
