"""People who can be on call, on-call schedules and their overrides.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.schema

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("slack_user_id", sa.String(64), nullable=True),
        sa.Column("teams_aad_object_id", sa.String(64), nullable=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("layers", json, nullable=False),
        sa.Column("feed_token", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "schedule_id",
            sa.String(32),
            sa.ForeignKey("schedules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("starts_at", STAMP, nullable=False),
        sa.Column("ends_at", STAMP, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index(
        "ix_schedule_overrides_schedule_end", "schedule_overrides", ["schedule_id", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_schedule_overrides_schedule_end", "schedule_overrides")
    op.drop_table("schedule_overrides")
    op.drop_table("schedules")
    op.drop_table("people")
