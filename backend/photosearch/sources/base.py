"""The one record every source yields.

A source only says *where* a photo is and how to read its bytes; fetching happens lazily in the ingest
job (so a failure is recorded per photo and never stops the job).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


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
