"""An event's labels (and the silence muting it); a route's label matchers and whether later
routes also take its alerts and when they are quiet; silences, inhibition rules and named
time intervals.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.schema

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = storage.schema.UtcDateTime()


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("labels", json, nullable=True))
        batch.add_column(sa.Column("muted_by", sa.String(64), nullable=True))
    op.create_table(
        "silences",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("matchers", json, nullable=False),
        sa.Column("starts_at", STAMP, nullable=False),
        sa.Column("ends_at", STAMP, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("expired_by", sa.String(255), nullable=True),
        sa.Column("released_at", STAMP, nullable=True),
    )
    op.create_index("ix_silences_tenant_ends", "silences", ["tenant_id", "ends_at"])
    op.create_table(
        "time_intervals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("time_intervals", json, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "inhibit_rules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source_matchers", json, nullable=False),
        sa.Column("target_matchers", json, nullable=False),
        sa.Column("equal", json, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
    )
    with op.batch_alter_table("routes") as batch:
        batch.add_column(sa.Column("matchers", json, nullable=True))
        batch.add_column(
            sa.Column("continues", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("mute_time_intervals", json, nullable=True))
        batch.add_column(sa.Column("active_time_intervals", json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routes") as batch:
        batch.drop_column("active_time_intervals")
        batch.drop_column("mute_time_intervals")
        batch.drop_column("continues")
        batch.drop_column("matchers")
    op.drop_table("inhibit_rules")
    op.drop_table("time_intervals")
    op.drop_index("ix_silences_tenant_ends", table_name="silences")
    op.drop_table("silences")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("muted_by")
        batch.drop_column("labels")
