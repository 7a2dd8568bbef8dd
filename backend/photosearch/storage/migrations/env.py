"""Alembic environment: run by `photosearch.storage.db.migrate` (a connection is handed in) or by the
`alembic` command line with -x url=... (scripts/new_migration.py does that against a scratch database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from photosearch.storage.models import Base

config = context.config


def _configure(connection) -> None:  # noqa: ANN001 - a SQLAlchemy Connection
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # Plain ALTERs, never batch mode: on SQLite a batch migration recreates the table (copy, drop, rename),
        # and dropping `photos` with foreign keys on cascades into `descriptions`. SQLite 3.35+ adds and drops
        # columns itself; anything it can't do needs a hand-written migration.
        render_as_batch=False,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure(conn)
    engine.dispose()
