"""The schema comes from Alembic migrations, on SQLite and PostgreSQL alike.

- the migrations at head build exactly what storage/models.py declares (a model change without its
  migration fails here: add one with scripts/new_migration.py);
- a data directory from before migrations (tables, no alembic_version) is upgraded in place, rows kept;
- opening a Database twice does not migrate twice.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text

from photosearch.config import Settings
from photosearch.storage.db import BASE_REVISION, Database, current_revision, head_revision, migrate
from photosearch.storage.models import Base, Photo, Profile

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def test_migrations_at_head_match_the_models(settings: Settings) -> None:
    settings.ensure_dirs()
    db = Database(settings.database)
    try:
        assert current_revision(db.engine) == head_revision()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == [], f"models and migrations disagree; add a migration (scripts/new_migration.py): {diff}"
    finally:
        db.dispose()


def test_a_data_dir_from_before_migrations_is_upgraded_in_place(settings: Settings) -> None:
    settings.ensure_dirs()
    engine = create_engine(Database(settings.database, migrate_schema=False).url)
    migrate(engine, BASE_REVISION)
    with engine.begin() as connection:  # what create_all left behind: the tables, no version
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("INSERT INTO profiles (id, name, created_at) VALUES (1, 'old', '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO photos (id, profile_id, source, kind, content_hash, width, height, status, hashtags,"
            " created_at) VALUES (7, 1, 'a.jpg', 'folder', 'abc', 10, 10, 'described', '[]', '2026-01-01')"
        ))
        connection.execute(text(  # a migration that recreated `photos` would cascade into this row
            "INSERT INTO descriptions (photo_id, caption, alternatives, labels, model)"
            " VALUES (7, 'a dog on the grass', '[]', '[]', 'old-model')"
        ))
    engine.dispose()

    db = Database(settings.database)
    try:
        assert current_revision(db.engine) == head_revision()
        with db.session() as session:
            assert session.scalar(select(Profile.name)) == "old"
            assert session.scalar(select(func.count()).select_from(Photo)) == 1
            assert session.get(Photo, 7).source == "a.jpg"
            assert session.get(Photo, 7).description.caption == "a dog on the grass"
    finally:
        db.dispose()


def test_opening_an_up_to_date_database_changes_nothing(settings: Settings) -> None:
    settings.ensure_dirs()
    first = Database(settings.database)
    with first.session() as session:
        session.add(Profile(name="kept"))
    first.dispose()
    second = Database(settings.database)
    try:
        assert current_revision(second.engine) == head_revision()
        with second.session() as session:
            assert list(session.scalars(select(Profile.name))) == ["kept"]
    finally:
        second.dispose()
