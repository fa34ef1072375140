"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from bot.infra.settings import Settings
from storage.db import Database
from storage.schema import Base


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        assert await db.pending_migrations() == []
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
            mode = None
            if db.is_sqlite:
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        assert diff == []
        if db.is_sqlite:
            assert mode == "wal"
    finally:
        await db.dispose()


async def test_the_unacknowledged_view_lists_open_critical_and_high_oldest_first(
    settings: Settings,
) -> None:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        async with db.engine.begin() as conn:
            for i, (priority, rank, state) in enumerate(
                [
                    ("CRITICAL", 5, "triggered"),
                    ("HIGH", 4, "triggered"),
                    ("MEDIUM", 3, "triggered"),
                    ("CRITICAL", 5, "acknowledged"),
                ]
            ):
                await conn.execute(
                    text(
                        "INSERT INTO events (id, tenant_id, event_type, priority, priority_rank, title, "
                        "body, source, dedup_key, state, occurrences, first_seen, last_seen, "
                        "escalation_level, stakeholders, facts, metadata, created_at, updated_at) VALUES "
                        f"('e{i}', 'default', 't', '{priority}', {rank}, 'x', '', 'api', 'k{i}', '{state}',"
                        f" 1, '2026-01-0{5 - i} 00:00:00', '2026-01-05 00:00:00', 0, '[]', '{{}}', '{{}}',"
                        " '2026-01-05 00:00:00', '2026-01-05 00:00:00')"
                    )
                )
            rows = (
                (await conn.execute(text("SELECT id FROM unacknowledged_critical"))).scalars().all()
            )
        assert list(rows) == ["e1", "e0"]
    finally:
        await db.dispose()
