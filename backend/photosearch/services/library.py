"""Profiles and photos: create, list, look up, delete. What the API and the CLI show about a photo is
shaped here once (`PhotoSummary`, `PhotoDetail`, plain dataclasses); api/serialize.py turns them into JSON
and adds the URLs of the photo's files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from photosearch.config import Settings
from photosearch.errors import Conflict, InvalidInput, NotFound
from photosearch.storage.db import Database
from photosearch.storage.index import PhotoIndex
from photosearch.storage.models import Description, Job, Photo, Profile
from photosearch.storage.snapshots import remove_snapshots
from photosearch.vision.captioner import caption_model_today

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_DISPLAY_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a profile needs a name")
    name = name.strip()
    if not NAME_RE.match(name):
        raise InvalidInput(
            "profile names are 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def profile_by_name(session: Session, name: str) -> Profile:
    """The profile called `name`, or NotFound: the one place a profile is looked up by its name. The name a
    person gave it works too ("Été à Paris" finds Ete-a-Paris, the URL-safe name it was created under), so
    `photosearch ingest "Été à Paris" ...` and a later `photosearch search "Été à Paris" ...` meet the same one."""
    profile = session.scalar(select(Profile).where(Profile.name == name))
    if profile is None and isinstance(name, str) and (safe := url_safe_name(name)) and safe != name:
        profile = session.scalar(select(Profile).where(Profile.name == safe))
    if profile is None:
        raise NotFound(f"no profile named {name!r}")
    return profile


def url_safe_name(display_name: str) -> str:
    """'Été à Paris 2024' -> 'Ete-a-Paris-2024': accents folded, anything else between words becomes '-'."""
    folded = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", folded).strip("-._")[:64].rstrip("-._")
    return slug


def names_for(name: object, display_name: object = None) -> tuple[str, str | None]:
    """(URL-safe name, display name or None) for a new profile. A name with spaces or accents ("Été à Paris")
    becomes the display name and its URL-safe form the name."""
    if display_name is not None and (not isinstance(display_name, str) or len(display_name) > MAX_DISPLAY_NAME):
        raise InvalidInput(f"'display_name' must be text of at most {MAX_DISPLAY_NAME} characters")
    display = " ".join(display_name.split()) if isinstance(display_name, str) else None
    if isinstance(name, str) and _CONTROL.search(name) or isinstance(display, str) and _CONTROL.search(display):
        raise InvalidInput("a collection name cannot contain control characters")
    if isinstance(name, str) and name.strip() and re.search(r"[^A-Za-z0-9._-]", name.strip()):
        if len(name) > MAX_DISPLAY_NAME:
            raise InvalidInput(f"a collection name has at most {MAX_DISPLAY_NAME} characters")
        display = display or " ".join(name.split())
        name = url_safe_name(name)
        if not name:
            raise InvalidInput("the name needs at least one letter or digit (a-z, 0-9) for its web address")
    elif (name is None or name == "") and display:
        name = url_safe_name(display)
        if not name:
            raise InvalidInput("the name needs at least one letter or digit (a-z, 0-9) for its web address")
    name = validate_name(name)
    return name, (display if display and display != name else None)


@dataclass
class ProfileInfo:
    name: str  # URL-safe, what links and the CLI use
    display_name: str  # what people see ("Été à Paris"); the name when none was given
    photo_count: int
    created_at: datetime | None


@dataclass
class OutdatedPhotos:
    """A collection's photos that older models described (or none did): `photosearch redescribe` redoes them."""

    profile: str
    photos: int | None  # None where today's models cannot be told (no captioner weights)
    caption_model: str | None  # what describes photos today ("captioner-flickr8k@open-vocab-1+hedged-8")


@dataclass
class PhotoSummary:
    """What a list or a search result shows of a photo (the API adds the URLs of its files)."""

    id: int
    profile: str
    source: str
    caption: str | None
    labels: list[dict]  # [{"label", "score"}], most probable first
    poster_caption: str | None
    taken_at: datetime | None  # when it was taken, else when it was added (see date_source)
    date_source: str  # "taken" | "added"
    added_at: datetime | None
    width: int
    height: int
    # {"caption", "caption_confidence", "grounded_caption", "shown": "caption"|"grounded"}: description_json
    description: dict = field(default_factory=dict)


@dataclass
class PhotoDetail(PhotoSummary):
    """Everything about one photo: the summary plus the captioner's alternatives and attention, and what the
    file said about itself."""

    alternatives: list[dict] = field(default_factory=list)  # [{"text", "score"}], best first
    attention: dict | None = None  # {"grid": [7, 7], "words": [...], "maps": [[49 floats], ...]}
    hashtags: list[str] = field(default_factory=list)
    model: str | None = None
    camera: str | None = None
    has_gps: bool = False
    bytes: int | None = None  # None: stored before sizes were recorded


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; we only ever store UTC, so say so."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def profile_info(profile: Profile, photo_count: int) -> ProfileInfo:
    return ProfileInfo(profile.name, profile.display_name or profile.name, photo_count, _utc(profile.created_at))


def description_json(d: Description | None) -> dict:
    """The caption, how far to trust it, the labels' own sentence, and which one the card shows
    (vision/captioner/grounding.py). Descriptions written before grounding have no confidence: caption."""
    if d is None:
        return {"caption": None, "caption_confidence": None, "grounded_caption": None, "shown": "caption"}
    from photosearch.vision.captioner.grounding import shown_text

    return {"caption": d.caption, "caption_confidence": d.caption_confidence, "grounded_caption": d.grounded_caption,
            "shown": shown_text(d.caption, d.caption_confidence, d.grounded_caption)}


def _summary_fields(photo: Photo, profile_name: str) -> dict:
    d = photo.description
    return dict(
        id=photo.id,
        profile=profile_name,
        source=photo.source,
        caption=d.caption if d else None,
        description=description_json(d),
        labels=list(d.labels or []) if d else [],
        poster_caption=photo.poster_caption,
        taken_at=_utc(photo.taken_at or photo.created_at),
        date_source="taken" if photo.taken_at else "added",
        added_at=_utc(photo.created_at),
        width=photo.width,
        height=photo.height,
    )


def photo_summary(photo: Photo, profile_name: str) -> PhotoSummary:
    return PhotoSummary(**_summary_fields(photo, profile_name))


def photo_detail(photo: Photo, profile_name: str) -> PhotoDetail:
    d = photo.description
    return PhotoDetail(
        **_summary_fields(photo, profile_name),
        alternatives=list(d.alternatives or []) if d else [],
        attention=d.attention if d else None,
        hashtags=list(photo.hashtags or []),
        model=d.model if d else None,
        camera=photo.camera,
        has_gps=bool(photo.has_gps),
        bytes=photo.byte_size or None,
    )


class Library:
    def __init__(self, settings: Settings, db: Database, index: PhotoIndex) -> None:
        self.settings = settings
        self.db = db
        self.index = index

    def profile_id(self, name: str) -> int:
        """The id of the profile called `name` (NotFound if there is none)."""
        with self.db.session() as session:
            return profile_by_name(session, name).id

    def create_profile(self, name: object, display_name: object = None) -> ProfileInfo:
        name, display = names_for(name, display_name)
        try:
            with self.db.session() as session:
                if session.scalar(select(Profile).where(Profile.name == name)):
                    raise Conflict(f"a profile named {name!r} already exists")
                profile = Profile(name=name, display_name=display)
                session.add(profile)
                session.flush()
                return profile_info(profile, 0)
        except IntegrityError as exc:  # created concurrently
            raise Conflict(f"a profile named {name!r} already exists") from exc

    def ensure_profile(self, name: str) -> ProfileInfo:
        try:
            return self.create_profile(name)
        except Conflict:
            return self.profile(name)

    def profiles(self) -> list[ProfileInfo]:
        with self.db.session() as session:
            counts = dict(session.execute(select(Photo.profile_id, func.count()).where(Photo.deleted_at.is_(None))
                                          .group_by(Photo.profile_id)).all())
            profiles = session.scalars(select(Profile).order_by(Profile.name))
            return [profile_info(p, counts.get(p.id, 0)) for p in profiles]

    def profile(self, name: str) -> ProfileInfo:
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            count = session.scalar(select(func.count()).where(Photo.profile_id == profile.id,
                                                              Photo.deleted_at.is_(None)))
            return profile_info(profile, count or 0)

    def outdated(self, name: str) -> OutdatedPhotos:
        """How many of the collection's photos were described by other models than today's (after an upgrade).
        A full scan of the collection's descriptions (about 70 ms at 100,000 photos), so the collection page
        asks for it on its own."""
        today = caption_model_today()
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            if today is None:
                return OutdatedPhotos(profile.name, None, None)
            count = session.scalar(
                select(func.count()).select_from(Photo)
                .outerjoin(Description, Description.photo_id == Photo.id)
                .where(Photo.profile_id == profile.id, Photo.deleted_at.is_(None),
                       (Description.caption_model.is_(None)) | (Description.caption_model != today))
            )
            return OutdatedPhotos(profile.name, count or 0, today)

    def rename_profile(self, name: str, display_name: object) -> ProfileInfo:
        """Change what a collection is called on screen; its URL-safe name (and every link) stays."""
        if not isinstance(display_name, str) or not display_name.strip() or len(display_name) > MAX_DISPLAY_NAME:
            raise InvalidInput(f"'display_name' must be 1-{MAX_DISPLAY_NAME} characters")
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            profile.display_name = " ".join(display_name.split())
        return self.profile(name)

    def delete_profile(self, name: str) -> None:
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            if session.scalar(select(func.count()).where(Job.profile_id == profile.id,
                                                         Job.status.in_(("queued", "running")))):
                raise Conflict(f"profile {name!r} is being indexed; delete it when the job has finished")
            profile_id = profile.id
            photo_ids = list(session.scalars(select(Photo.id).where(Photo.profile_id == profile_id)))
            session.delete(profile)
        self.index.delete_profile(profile_id)
        remove_snapshots(self.settings.snapshots_dir, profile_id)
        for photo_id in photo_ids:
            for folder in (self.settings.images_dir, self.settings.thumbs_dir):
                (folder / f"{photo_id}.jpg").unlink(missing_ok=True)

    def photo(self, photo_id: int) -> PhotoDetail:
        with self.db.session() as session:
            photo = session.get(Photo, photo_id)
            if photo is None or photo.deleted_at is not None:
                raise NotFound(f"no photo {photo_id}")
            return photo_detail(photo, photo.profile.name)

