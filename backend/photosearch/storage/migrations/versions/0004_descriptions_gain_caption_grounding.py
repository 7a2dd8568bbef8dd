"""descriptions gain caption grounding

Revision 0004, after 0003; written 2026-11-28 15:23:15.069071.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0004', '0003'


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode (a batch migration on SQLite may recreate the table: see 0002).
    op.add_column('descriptions', sa.Column('caption_confidence', sa.Float(), nullable=True))
    op.add_column('descriptions', sa.Column('grounded_caption', sa.Text(), nullable=True))
    op.add_column('descriptions', sa.Column('caption_model', sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column('descriptions', 'caption_model')
    op.drop_column('descriptions', 'grounded_caption')
    op.drop_column('descriptions', 'caption_confidence')
