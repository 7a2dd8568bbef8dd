"""The tables (SQLAlchemy 2 ORM). One photo row per distinct photo of a profile; the description is 1:1.

    Profile 1─* Photo 1─1 Description        Profile 1─* Job 1─* JobItem        PhotoChange (log)

A photo is identified inside its profile by the SHA-256 of its bytes (`content_hash`), so the same photo
added twice, from a URL and from a folder, is stored once. Vectors are float32 blobs (numpy `tobytes`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the zone; SQLite hands datetimes back naive, and we only ever store UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


class Base(DeclarativeBase):
    pass


class Profile(Base):
    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # URL-safe id: letters, digits, . _ -
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # "Été à Paris"; None: name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    photos: Mapped[list[Photo]] = relationship(back_populates="profile", cascade="all, delete-orphan")
    jobs: Mapped[list[Job]] = relationship(back_populates="profile", cascade="all, delete-orphan")


class Photo(Base):
    __tablename__ = "photos"
    # ix_photos_profile_deleted: search checks "were photos deleted or restored?" on every query (vectors.py)
    __table_args__ = (UniqueConstraint("profile_id", "content_hash"), Index("ix_photos_profile", "profile_id"),
                      Index("ix_photos_profile_deleted", "profile_id", "deleted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)  # URL, path, upload:<name>, instagram:<uri>
    kind: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    poster_caption: Mapped[str | None] = mapped_column(Text, nullable=True)
    hashtags: Mapped[list] = mapped_column(JSON, default=list)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # EXIF/post, UTC
    camera: Mapped[str | None] = mapped_column(String(128), nullable=True)  # EXIF make + model
    # EXIF carries a position (the position itself is never stored or served)
    has_gps: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    byte_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the original, as read
    # Soft delete: set -> hidden everywhere at once; the row, index doc and files go at purge (after the undo
    # window), so "Undo" only has to clear it.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    post_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    profile: Mapped[Profile] = relationship(back_populates="photos")
    description: Mapped[Description | None] = relationship(
        back_populates="photo", cascade="all, delete-orphan", uselist=False
    )


class Description(Base):
    """What the models said about a photo."""

    __tablename__ = "descriptions"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    caption: Mapped[str | None] = mapped_column(Text, nullable=True)
    alternatives: Mapped[list] = mapped_column(JSON, default=list)  # [{"text", "score"}], best first
    attention: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"grid", "words", "maps"}
    labels: Mapped[list] = mapped_column(JSON, default=list)  # [{"label", "score"}], top-5
    model: Mapped[str] = mapped_column(String(128))  # which models wrote this (name + version)
    # Grounding (vision/captioner/grounding.py): how far to trust the caption, the labels' own sentence,
    # and the captioner name@version that wrote the caption (`photosearch redescribe` updates older ones).
    caption_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    grounded_caption: Mapped[str | None] = mapped_column(Text, nullable=True)
    caption_model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    image_vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # joint image-text space
    text_vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # MiniLM of the caption text

    photo: Mapped[Photo] = relationship(back_populates="description")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # urls | folder | upload | instagram
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    spec: Mapped[dict] = mapped_column(JSON, default=dict)  # what to read, so a restarted server can resume
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The process running the job ("host:pid") and when it last showed it is alive (claimed the job, or went on to
    # the next batch), so that `check` tells a job in progress in another process from one whose process was
    # killed (services/jobs.py, `runner_alive`). Both None while no process runs it.
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    profile: Mapped[Profile] = relationship(back_populates="jobs")
    items: Mapped[list[JobItem]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobItem.position"
    )


class JobItem(Base):
    """One photo of a job: its outcome is recorded as soon as it is known, so a crash loses nothing."""

    __tablename__ = "job_items"
    __table_args__ = (Index("ix_job_items_job_status", "job_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed | skipped
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"), nullable=True)

    job: Mapped[Job] = relationship(back_populates="items")


class PhotoChange(Base):
    """One photo was stored, changed or deleted (written by the session hook in storage/db.py, in the same
    transaction). Every process's full-text index follows these rows in id order (services/index_sync.py),
    so a photo stored by any worker is searchable from every API process. No foreign key: the row outlives
    the photo, which is how a deletion reaches the other indexes."""

    __tablename__ = "photo_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    photo_id: Mapped[int] = mapped_column(Integer)
