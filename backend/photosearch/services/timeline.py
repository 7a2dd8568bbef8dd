"""Browsing a collection without a query: the photo timeline and the search suggestions.

Timeline: every photo that is not deleted, ordered by its date (when it was taken, from EXIF or the Instagram
post; else when it was added), newest first, in pages. Pages are chained by an opaque cursor holding the
last photo's (date, id), so a photo added or deleted while someone scrolls never shifts a page boundary
(offsets would repeat or skip photos). Ties in the date break by id, so the order is total.

Suggestions: words that will find something in *this* collection, drawn from its own labels and captions,
most common first (the empty search page offers them instead of fixed examples).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select

from photosearch.errors import InvalidInput
from photosearch.services.library import Library, photo_summary, profile_by_name
from photosearch.storage.db import Database
from photosearch.storage.models import Description, Photo

SORTS = ("newest", "oldest")
SUGGESTION_PHOTOS = 2000  # the most recent photos are enough to say what a collection holds
LABEL_MIN_SCORE = 0.25  # a label the classifier is unsure of would suggest something that is not there
# Caption words that describe no thing a person looks for (the captioner's glue words and poses, and the
# grounded sentences' "A photo of" and "Possibly").
_GLUE_WORDS = """
a an the and or of in on at to with from by for into onto over under near next front top side back while
is are was be being its it this that there their his her he she they them who his one two three four five
some other another each very large small big little young old people person group side
sitting standing walking running holding wearing looking playing lying laying riding jumping posing
stands sits walks runs holds wears looks plays lies rides jumps poses watching watches carrying carries
through down up out off around behind across along toward towards together
photo possibly
"""
_NOT_SUGGESTIONS = frozenset(_GLUE_WORDS.split())
_WORD = re.compile(r"[a-z]{3,}")


def date_key():  # noqa: ANN201 - an SQL expression
    """The date a photo is filed under: taken, else added (both stored as UTC)."""
    return func.coalesce(Photo.taken_at, Photo.created_at)


def parse_date(raw: str, name: str = "date", end: bool = False) -> datetime:
    """'2024-05-31' or an ISO date-time -> aware datetime (UTC when no zone is given). A bare date as the `end`
    of a range means the end of that day, so before=2024-05-31 keeps the photos of the 31st."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date like 2024-05-31") from None
    try:
        if end and len(raw.strip()) == 10:
            value += timedelta(days=1, microseconds=-1)
        if not value.tzinfo:
            return value.replace(tzinfo=UTC)
        value.astimezone(UTC)  # can it be compared with UTC times at all? (see below)
        return value
    except OverflowError:  # 9999-12-31 as an end, 0001-01-01T00:00+14:00 (before year 1 in UTC): the edge of time
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def encode_cursor(when: datetime, photo_id: int) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    raw = json.dumps([when.isoformat(), photo_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when_text, photo_id = json.loads(raw)
        when = datetime.fromisoformat(when_text)
        if not isinstance(photo_id, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("this 'cursor' was not given by the server; start again without it") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), photo_id


class Timeline:
    def __init__(self, db: Database, library: Library) -> None:
        self.db = db
        self.library = library

    def photos(self, name: str, sort: str = "newest", limit: int = 60, cursor: str | None = None,
               after: datetime | None = None, before: datetime | None = None) -> dict:
        """One page of a collection's photos by date: {"photos", "next_cursor", "total"}."""
        if sort not in SORTS:
            raise InvalidInput(f"'sort' is one of {', '.join(SORTS)}")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be between 1 and 200")
        key = date_key()
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            visible = [Photo.profile_id == profile.id, Photo.deleted_at.is_(None)]
            if after:
                visible.append(key >= after)
            if before:
                visible.append(key <= before)
            total = session.scalar(select(func.count()).select_from(Photo).where(*visible)) or 0
            stmt = select(Photo, key).where(*visible)
            if cursor:
                when, last_id = decode_cursor(cursor)
                if sort == "newest":
                    stmt = stmt.where(or_(key < when, and_(key == when, Photo.id < last_id)))
                else:
                    stmt = stmt.where(or_(key > when, and_(key == when, Photo.id > last_id)))
            order = (key.desc(), Photo.id.desc()) if sort == "newest" else (key.asc(), Photo.id.asc())
            rows = session.execute(stmt.order_by(*order).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            photos = [photo_summary(photo, name) for photo, _ in rows]
            next_cursor = encode_cursor(rows[-1][1], rows[-1][0].id) if more and rows else None
        return {"photos": photos, "next_cursor": next_cursor, "total": total}

    def suggestions(self, name: str, limit: int = 8) -> dict:
        """Words to try, from this collection's labels and the sentences its cards show: {"suggestions": [str]}."""
        if not 1 <= limit <= 50:
            raise InvalidInput("limit must be between 1 and 50")
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            rows = session.execute(
                select(Description.labels, Description.caption, Description.caption_confidence,
                       Description.grounded_caption)
                .join(Photo, Photo.id == Description.photo_id)
                .where(Photo.profile_id == profile.id, Photo.deleted_at.is_(None))
                .order_by(Photo.id.desc()).limit(SUGGESTION_PHOTOS)
            ).all()
        return {"suggestions": suggest(rows, limit)}


def suggest(rows: list[tuple[list, str | None, float | None, str | None]], limit: int) -> list[str]:
    """[(labels, caption, caption confidence, grounded sentence)] of photos -> up to `limit` words, each found in at
    least one photo, most photos first; labels and words of the cards' sentences alternate so both kinds show. A card
    whose caption is unsure shows the grounded sentence (grounding.shown_text), and so do its words here: an unsure
    caption's "man in a red shirt" in a photo of coins suggested "man" and "shirt" for a collection of objects."""
    from photosearch.vision.captioner.grounding import shown_text

    labels: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for photo_labels, caption, confidence, grounded in rows:
        labels.update({lab["label"].lower() for lab in photo_labels or [] if lab.get("score", 0) >= LABEL_MIN_SCORE})
        text = grounded if shown_text(caption, confidence, grounded) == "grounded" else caption
        words.update({w for w in _WORD.findall((text or "").lower()) if w not in _NOT_SUGGESTIONS})
    by_count = [sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for c in (words, labels)]
    chosen: list[str] = []
    for pair in _interleave(*by_count):
        term = pair[0]
        if term not in chosen:
            chosen.append(term)
        if len(chosen) == limit:
            break
    return chosen


def _interleave(a: list, b: list) -> list:
    out = []
    for i in range(max(len(a), len(b))):
        out.extend(x[i] for x in (a, b) if i < len(x))
    return out


