"""The base schema: the tables as they were before migrations existed (create_all).

Data directories made before Alembic are stamped with this revision and upgraded from it.
Revision 0001, the first; written 2026-11-28.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = '0001', None


def _columns(nullable: str = "", **types: sa.types.TypeEngine) -> list[sa.Column]:
    """A table's columns in order, NOT NULL except those named in `nullable` (as create_all made them).
    Frozen with this migration: change nothing here, add a migration instead."""
    optional = set(nullable.split())
    return [sa.Column(name, type_, nullable=name in optional) for name, type_ in types.items()]


def upgrade() -> None:
    op.create_table('profiles',
                    *_columns(id=sa.Integer(), name=sa.String(length=64), created_at=sa.DateTime(timezone=True)),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('name'))
    op.create_table('jobs',
                    *_columns(id=sa.Integer(), profile_id=sa.Integer(), kind=sa.String(length=16),
                              status=sa.String(length=16), spec=sa.JSON(), error=sa.Text(),
                              created_at=sa.DateTime(timezone=True), finished_at=sa.DateTime(timezone=True),
                              nullable="error finished_at"),
                    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_table('photos',
                    *_columns(id=sa.Integer(), profile_id=sa.Integer(), source=sa.Text(), kind=sa.String(length=16),
                              content_hash=sa.String(length=64), width=sa.Integer(), height=sa.Integer(),
                              status=sa.String(length=16), poster_caption=sa.Text(), hashtags=sa.JSON(),
                              taken_at=sa.DateTime(timezone=True), post_id=sa.String(length=128),
                              created_at=sa.DateTime(timezone=True), nullable="poster_caption taken_at post_id"),
                    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('profile_id', 'content_hash'))
    op.create_index('ix_photos_profile', 'photos', ['profile_id'], unique=False)
    op.create_table('descriptions',
                    *_columns(photo_id=sa.Integer(), caption=sa.Text(), alternatives=sa.JSON(), attention=sa.JSON(),
                              labels=sa.JSON(), model=sa.String(length=128), image_vector=sa.LargeBinary(),
                              text_vector=sa.LargeBinary(), nullable="caption attention image_vector text_vector"),
                    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('photo_id'))
    op.create_table('job_items',
                    *_columns(id=sa.Integer(), job_id=sa.Integer(), position=sa.Integer(), source=sa.Text(),
                              status=sa.String(length=16), error=sa.Text(), photo_id=sa.Integer(),
                              nullable="error photo_id"),
                    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], ondelete='SET NULL'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_job_items_job_status', 'job_items', ['job_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_items_job_status', table_name='job_items')
    op.drop_table('job_items')
    op.drop_table('descriptions')
    op.drop_index('ix_photos_profile', table_name='photos')
    op.drop_table('photos')
    op.drop_table('jobs')
    op.drop_table('profiles')
