"""A delivery's retry budget as a time: tries go on, with backoff, until it passes; and
console sessions ended on the server (sign-out), so a copied cookie dies with them.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.schema

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("retry_until", storage.schema.UtcDateTime(), nullable=True))
    op.create_table(
        "console_signouts",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("until", storage.schema.UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_signouts")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("retry_until")
