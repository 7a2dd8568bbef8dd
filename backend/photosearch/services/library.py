"""Profiles and photos: create, list, look up, delete. Everything the API and CLI show about a photo is
shaped here (`photo_summary`, `photo_detail`) so both speak the same JSON.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from photosearch.config import Settings
from photosearch.errors import Conflict, InvalidInput, NotFound
from photosearch.storage.db import Database
from photosearch.storage.index import PhotoIndex
from photosearch.storage.models import Job, Photo, Profile, iso

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    """The profile called `name`, or NotFound: the one place a profile is looked up by its name."""
    profile = session.scalar(select(Profile).where(Profile.name == name))
    if profile is None:
        raise NotFound(f"no profile named {name!r}")
    return profile


def profile_json(profile: Profile, photo_count: int) -> dict:
    return {"name": profile.name, "photo_count": photo_count, "created_at": iso(profile.created_at)}


def photo_summary(photo: Photo, profile_name: str) -> dict:
    d = photo.description
    return {
        "id": photo.id,
        "profile": profile_name,
        "source": photo.source,
        "thumbnail_url": f"/api/photos/{photo.id}/thumbnail",
        "image_url": f"/api/photos/{photo.id}/image",
        "caption": d.caption if d else None,
        "labels": list(d.labels or []) if d else [],
        "poster_caption": photo.poster_caption,
        "taken_at": iso(photo.taken_at),
        "width": photo.width,
        "height": photo.height,
    }


def photo_detail(photo: Photo, profile_name: str) -> dict:
    d = photo.description
    return {
        **photo_summary(photo, profile_name),
        "alternatives": list(d.alternatives or []) if d else [],
        "attention": d.attention if d else None,
        "hashtags": list(photo.hashtags or []),
        "model": d.model if d else None,
        "status": photo.status,
        "error": None,
    }


class Library:
    def __init__(self, settings: Settings, db: Database, index: PhotoIndex) -> None:
        self.settings = settings
        self.db = db
        self.index = index

    def profile_id(self, name: str) -> int:
        """The id of the profile called `name` (NotFound if there is none)."""
        with self.db.session() as session:
            return profile_by_name(session, name).id

    def create_profile(self, name: object) -> dict:
        name = validate_name(name)
        try:
            with self.db.session() as session:
                if session.scalar(select(Profile).where(Profile.name == name)):
                    raise Conflict(f"a profile named {name!r} already exists")
                profile = Profile(name=name)
                session.add(profile)
                session.flush()
                return profile_json(profile, 0)
        except IntegrityError as exc:  # created concurrently
            raise Conflict(f"a profile named {name!r} already exists") from exc

    def ensure_profile(self, name: str) -> dict:
        try:
            return self.create_profile(name)
        except Conflict:
            return self.profile(name)

    def profiles(self) -> list[dict]:
        with self.db.session() as session:
            counts = dict(session.execute(select(Photo.profile_id, func.count()).group_by(Photo.profile_id)).all())
            profiles = session.scalars(select(Profile).order_by(Profile.name))
            return [profile_json(p, counts.get(p.id, 0)) for p in profiles]

    def profile(self, name: str) -> dict:
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            count = session.scalar(select(func.count()).where(Photo.profile_id == profile.id))
            return profile_json(profile, count or 0)

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
        for photo_id in photo_ids:
            for folder in (self.settings.images_dir, self.settings.thumbs_dir):
                (folder / f"{photo_id}.jpg").unlink(missing_ok=True)

    def photo(self, photo_id: int) -> dict:
        with self.db.session() as session:
            photo = session.get(Photo, photo_id)
            if photo is None:
                raise NotFound(f"no photo {photo_id}")
            return photo_detail(photo, photo.profile.name)

    def photos(self, name: str, limit: int = 60, offset: int = 0) -> dict:
        """A profile's photos, newest first (what the app shows before anything is typed)."""
        if not 1 <= limit <= 200 or not 0 <= offset <= 1_000_000:
            raise InvalidInput("limit must be 1-200 and offset 0 or more")
        with self.db.session() as session:
            profile = profile_by_name(session, name)
            total = session.scalar(select(func.count()).where(Photo.profile_id == profile.id)) or 0
            newest = select(Photo).where(Photo.profile_id == profile.id).order_by(Photo.id.desc())
            photos = session.scalars(newest.limit(limit).offset(offset))
            return {"total": total, "photos": [photo_summary(p, name) for p in photos]}
