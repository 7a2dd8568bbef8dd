"""photo_changes: the log every process's full-text index follows; seeded with every stored photo.

Revision 0003, after 0002; written 2026-11-28.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0003', '0002'


def upgrade() -> None:
    op.create_table('photo_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # Photos stored before the log existed: an index that starts following now still learns of them.
    op.execute("INSERT INTO photo_changes (photo_id) SELECT id FROM photos ORDER BY id")


def downgrade() -> None:
    op.drop_table('photo_changes')
