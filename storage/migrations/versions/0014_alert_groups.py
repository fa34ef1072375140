"""A route's grouping (`group_by` and its intervals) and the groups of alerts shown as one
card; events that may inhibit others are marked, so inhibition reads only those.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.schema

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("routes") as batch:
        batch.add_column(sa.Column("grouping", json, nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("inhibits", sa.Boolean(), nullable=True))
    op.create_index("ix_events_tenant_inhibits", "events", ["tenant_id", "inhibits"])
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "channel_id",
            sa.String(32),
            sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("route_id", sa.String(32), nullable=False),
        sa.Column("group_key", sa.String(160), nullable=False),
        sa.Column("labels", json, nullable=False),
        sa.Column("card_id", sa.String(32), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("repeat_seconds", sa.Float(), nullable=False),
        sa.Column("changes", json, nullable=True),
        sa.Column("notified_at", STAMP, nullable=True),
        sa.Column("check_at", STAMP, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("closed_at", STAMP, nullable=True),
    )
    op.create_index(
        "ux_alert_groups_open",
        "alert_groups",
        ["channel_id", "route_id", "group_key"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index("ix_alert_groups_card", "alert_groups", ["card_id"])
    op.create_index("ix_alert_groups_check", "alert_groups", ["closed_at", "check_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_groups_check", table_name="alert_groups")
    op.drop_index("ix_alert_groups_card", table_name="alert_groups")
    op.drop_index("ux_alert_groups_open", table_name="alert_groups")
    op.drop_table("alert_groups")
    op.drop_index("ix_events_tenant_inhibits", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("inhibits")
    with op.batch_alter_table("routes") as batch:
        batch.drop_column("grouping")
