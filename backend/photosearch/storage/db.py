"""The database: one engine per process, sessions per unit of work, the schema kept up to date by Alembic.

SQLite is the embedded default (a file in the data directory, WAL mode so searches keep reading while
a job writes); PostgreSQL (`postgresql+psycopg://user@host/db`, psycopg 3) is the shared store when several
API processes and workers serve one library. Any other SQLAlchemy URL may work but is not tested.

Opening a `Database` migrates its schema to the newest revision (storage/migrations), the way Immich or
LibrePhotos upgrade on start: a data directory from before migrations existed (tables but no
`alembic_version`) is recognised as the base revision and upgraded in place. Processes starting together
migrate one at a time (a PostgreSQL advisory lock; a lock file beside a SQLite database).

Every session records which photos it stored, changed or deleted in `photo_changes`, in the same
transaction (an ORM hook, so no caller can forget; bulk UPDATE/DELETE statements bypass it and must add
their rows themselves). The full-text index of every process follows that log (services/index_sync.py).
On PostgreSQL, writers of the log take a transaction lock first, so change ids become visible in id order
and a follower that has read up to id N never later meets a smaller id committed late.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from photosearch.storage.models import Description, Photo, PhotoChange

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASE_REVISION = "0001"  # the schema every data directory had before migrations existed
_MIGRATION_LOCK_KEY = 0x70686F74  # any constant: PostgreSQL advisory lock held while migrating
_CHANGE_LOG_LOCK_KEY = 0x70686F75  # held by each transaction that appends to photo_changes, until commit


def normalise_url(url: str) -> str:
    """postgresql://... means psycopg 3 here (SQLAlchemy's bare default is psycopg2, which we don't ship)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    def __init__(self, url: str, migrate_schema: bool = True) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgresql = self.url.startswith("postgresql")
        self.engine: Engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 30} if self.is_sqlite else {},
            pool_pre_ping=not self.is_sqlite,  # a restarted PostgreSQL leaves dead pooled connections
        )
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate_schema:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "after_flush", _record_photo_changes)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default the newest); nothing happens when it is already there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "profiles" in tables:
            command.stamp(config, BASE_REVISION)  # made by create_all before migrations: it is the base
        command.upgrade(config, revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite: a lock file beside the database, so two processes don't both run the same migration."""
    database = make_url(engine.url).database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(Path(database).with_suffix(".migrate.lock"), "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _record_photo_changes(session: Session, _flush_context: object) -> None:
    """After each flush: one photo_changes row per photo whose row or description was written."""
    photo_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):  # still the flush's lists at this point
        if isinstance(obj, Photo):
            photo_ids.add(obj.id)
        elif isinstance(obj, Description):
            photo_ids.add(obj.photo_id)
    photo_ids.discard(None)
    if not photo_ids:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGE_LOG_LOCK_KEY})
    connection.execute(insert(PhotoChange), [{"photo_id": photo_id} for photo_id in sorted(photo_ids)])


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
