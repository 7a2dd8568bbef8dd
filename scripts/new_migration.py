"""Write a new Alembic migration for what changed in storage/models.py since the newest migration.

    python scripts/new_migration.py "photos gain camera"      (PYTHONPATH=backend, or the venv's install)

It upgrades a scratch SQLite database to the current head, lets Alembic compare it with the models, and
writes backend/photosearch/storage/migrations/versions/NNNN_<slug>.py revising the head (one linear
history). Read what it wrote before committing: autogenerate misses renames and server defaults.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from photosearch.storage.db import alembic_config, migrate


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit('usage: new_migration.py "what changed"')
    message = sys.argv[1].strip()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        engine = create_engine(url)
        migrate(engine)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        number = f"{int(head) + 1:04d}"
        slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
        with engine.begin() as connection:
            config = alembic_config(connection)
            script = command.revision(config, message=message, autogenerate=True, rev_id=number,
                                      head=head)
        engine.dispose()
    path = Path(script.path)
    target = path.with_name(f"{number}_{slug}.py")
    path.rename(target)
    print(target)


if __name__ == "__main__":
    main()
