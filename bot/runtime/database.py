"""The database as `chatops db` sees it: migrations applied or pending."""

from __future__ import annotations

from bot.infra.settings import Settings
from storage.db import Database


async def upgrade(settings: Settings) -> str:
    """Apply pending migrations; one line saying what was done."""
    db = Database(settings.database_url)
    try:
        pending = await db.pending_migrations()
        await db.upgrade()
    finally:
        await db.dispose()
    if pending:
        return f"applied {len(pending)} migration(s); schema is current"
    return "schema is already current"


async def pending(settings: Settings) -> list[str]:
    """Migrations not applied yet."""
    db = Database(settings.database_url)
    try:
        return await db.pending_migrations()
    finally:
        await db.dispose()


def database_refusal(exc: BaseException) -> list[str] | None:
    """What to tell a person when the database refused the work (a locked SQLite file, a
    server that is down), in a line or two; None when `exc` is something else."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    lines = [f"the database refused the work: {reason}"]
    if "locked" in reason:
        lines.append("another process holds a write on it; try again")
    return lines
