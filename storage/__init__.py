"""Persistence: the SQLAlchemy schema, repositories and Alembic migrations.

Most repositories return `domain` records; a few configuration repositories (`admin`,
`syncs`) still hand ORM rows to `bot/core`, which alone uses them and never passes them on."""
