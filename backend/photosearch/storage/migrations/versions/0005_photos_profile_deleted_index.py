"""Photos gain an index on (profile, deleted_at): search asks "were photos deleted or restored?" per query.

Revision 0005, after 0004; written 2026-11-28 15:52:51.423157.
"""

from __future__ import annotations

from alembic import op

revision, down_revision = '0005', '0004'


def upgrade() -> None:
    op.create_index('ix_photos_profile_deleted', 'photos', ['profile_id', 'deleted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_photos_profile_deleted', table_name='photos')
