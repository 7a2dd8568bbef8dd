"""Photos gain EXIF camera, GPS presence, the original's size and a soft-delete mark; profiles a display name.

Revision 0002, after 0001; written 2026-11-28 15:30:11.824550.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0002', '0001'


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode: on SQLite a batch migration recreates `photos` (copy, drop, rename),
    # and dropping it with foreign keys on cascades into `descriptions` and deletes every description.
    op.add_column('photos', sa.Column('camera', sa.String(length=128), nullable=True))
    op.add_column('photos', sa.Column('has_gps', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('photos', sa.Column('byte_size', sa.Integer(), server_default='0', nullable=False))
    op.add_column('photos', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('profiles', sa.Column('display_name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), never batch mode: see upgrade().
    op.drop_column('profiles', 'display_name')
    op.drop_column('photos', 'deleted_at')
    op.drop_column('photos', 'byte_size')
    op.drop_column('photos', 'has_gps')
    op.drop_column('photos', 'camera')
