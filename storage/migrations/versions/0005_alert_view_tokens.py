"""Each alert gets a random key that opens its read-only page.

Revision ID: 0005
Revises: 0004
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("view_token", sa.String(length=32), nullable=True))
    events = sa.table("events", sa.column("id", sa.String), sa.column("view_token", sa.String))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.select(events.c.id))]
    for event_id in ids:  # a random key each, as new alerts get them
        bind.execute(
            events.update().where(events.c.id == event_id).values(view_token=uuid.uuid4().hex)
        )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("view_token")
