"""Escalation policies, the policy running for each alert, people's direct messages, and
where a schedule announces its hand-offs.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.schema

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "escalation_policies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document", json, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "event_id",
            sa.String(32),
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("policy_name", sa.String(255), nullable=False),
        sa.Column("policy", json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("next_at", STAMP, nullable=True),
        sa.Column("remind_at", STAMP, nullable=True),
        sa.Column("unack_at", STAMP, nullable=True),
        sa.Column("due_at", STAMP, nullable=True),
        sa.Column("acknowledger", sa.String(255), nullable=True),
        sa.Column("fired", json, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_index("ix_escalations_due", "escalations", ["due_at"])
    with op.batch_alter_table("notification_channels") as batch:
        batch.add_column(sa.Column("person_id", sa.String(32), nullable=True))
        batch.create_foreign_key(
            "fk_notification_channels_person_id_people",
            "people",
            ["person_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("routes") as batch:
        batch.add_column(sa.Column("escalation_policy", sa.String(255), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("paging", sa.String(255), nullable=True))
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("announce_channel", sa.String(255), nullable=True))
        batch.add_column(sa.Column("slack_usergroup", sa.String(64), nullable=True))
        batch.add_column(sa.Column("last_on_call", sa.String(255), nullable=True))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("teams_user_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("teams_service_url", sa.String(2048), nullable=True))
        batch.add_column(sa.Column("teams_conversation_id", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        for name in ("last_on_call", "slack_usergroup", "announce_channel"):
            batch.drop_column(name)
    with op.batch_alter_table("people") as batch:
        for name in ("teams_conversation_id", "teams_service_url", "teams_user_id"):
            batch.drop_column(name)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("paging")
    with op.batch_alter_table("routes") as batch:
        batch.drop_column("escalation_policy")
    with op.batch_alter_table("notification_channels") as batch:
        batch.drop_constraint("fk_notification_channels_person_id_people", type_="foreignkey")
        batch.drop_column("person_id")
    op.drop_index("ix_escalations_due", table_name="escalations")
    op.drop_table("escalations")
    op.drop_table("escalation_policies")
