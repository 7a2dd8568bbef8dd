"""Alembic migrations of the photosearch schema (one linear history; `photosearch.storage.db` applies them).

Adding a column: change storage/models.py, then `python scripts/new_migration.py "what changed"` writes
versions/NNNN_what_changed.py against the current head; review it (batch_alter_table keeps SQLite working)
and commit both. tests/unit/test_migrations.py fails while the models and the migrations disagree.
"""
