"""Jobs gain `runner` and `heartbeat_at`: which process runs a job and when it last showed it is alive, so that
`check` can tell a job in progress in another process from one whose process was killed.

Revision 0007, after 0006; written 2026-12-07 08:57:38.322499.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0007', '0006'


def upgrade() -> None:
    op.add_column('jobs', sa.Column('runner', sa.String(length=200), nullable=True))
    op.add_column('jobs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('jobs', 'heartbeat_at')
    op.drop_column('jobs', 'runner')
