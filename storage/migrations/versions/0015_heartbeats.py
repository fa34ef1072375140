"""Heartbeats: things expected to ping, and the alert a missed one raises; an index for
response reports, which read a tenant's alerts by when they were first seen.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.schema

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("grace_seconds", sa.Float(), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("watchdog", sa.String(255), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("last_ping_at", STAMP, nullable=True),
        sa.Column("paused_until", STAMP, nullable=True),
        sa.Column("paused_by", sa.String(255), nullable=True),
        sa.Column("alert_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_events_tenant_first_seen", "events", ["tenant_id", "first_seen"])


def downgrade() -> None:
    op.drop_index("ix_events_tenant_first_seen", table_name="events")
    op.drop_table("heartbeats")
