"""Photos lose `status`: it was "described" on every row and nothing read it.

Revision 0006, after 0005; written 2026-11-28 18:05:30.104542.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0006', '0005'


def upgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), never batch mode: on SQLite a batch migration recreates `photos`, and
    # dropping it with foreign keys on cascades into `descriptions` and deletes every description.
    op.drop_column('photos', 'status')


def downgrade() -> None:
    op.add_column('photos', sa.Column('status', sa.String(length=16), server_default='described', nullable=False))
