"""Working an alert from chat: snoozes (with their Alertmanager silence), notes, and the verbs
a route's cards offer.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.schema

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("snoozed_at", STAMP, nullable=True))
        batch.add_column(sa.Column("snoozed_until", STAMP, nullable=True))
        batch.add_column(sa.Column("snoozed_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("silence_id", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("note_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_note_by", sa.String(255), nullable=True))
    op.create_index("ix_events_snoozed_until", "events", ["snoozed_until"])
    op.add_column("routes", sa.Column("actions", json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routes") as batch:
        batch.drop_column("actions")
    op.drop_index("ix_events_snoozed_until", table_name="events")
    with op.batch_alter_table("events") as batch:
        for name in (
            "last_note_by",
            "note_count",
            "paused_seconds",
            "silence_id",
            "snoozed_by",
            "snoozed_until",
            "snoozed_at",
        ):
            batch.drop_column(name)
