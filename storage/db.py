"""Engine, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Insert, Select, Table, Update, event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


# A pooled PostgreSQL connection idle this long is pinged before use (a restart or a failover
# may have closed it); one in steady use is not (a ping is three round trips on asyncpg).
PING_AFTER_SECONDS = 5.0


class Database:
    """One engine and its session factory; `sessions()` opens a unit of work."""

    def __init__(
        self, url: str, *, pool_size: int = 10, ping_after: float = PING_AFTER_SECONDS
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_parent_dir(url)
            # One connection: writers queue in asyncio instead of in SQLite's sleeping busy handler.
            self.engine: AsyncEngine = create_async_engine(
                url, pool_size=1, max_overflow=0, pool_timeout=300
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
            _ping_when_idle(self.engine, ping_after)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A new session; use it as `async with db.session() as s, s.begin(): ...`."""
        return self.sessions()

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def upgrade(self) -> None:
        """Apply every pending migration."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_upgrade)

    async def pending_migrations(self) -> list[str]:
        """Revisions not yet applied; empty when the schema is current."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_heads)
        script = ScriptDirectory.from_config(alembic_config())
        if set(script.get_heads()) <= current:
            return []
        lower = tuple(current) if current else "base"
        return sorted(rev.revision for rev in script.iterate_revisions("heads", lower))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


# PostgreSQL's codes for a transaction it gave up so that another could go on: run it again.
TRANSIENT_STATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
TRANSIENT_TRIES = 4

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL choosing this transaction as a deadlock's (or a
    serialization conflict's) victim: nothing is wrong with it, and a new try will pass."""
    for error in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state in TRANSIENT_STATES:
            return True
    return isinstance(exc, DBAPIError) and "DeadlockDetectedError" in str(exc)


async def retry_transient(work: Callable[[], Awaitable[T]], *, tries: int = TRANSIENT_TRIES) -> T:
    """`work()` (one whole transaction), run again after a short random pause when the
    database gave it up to break a deadlock, up to `tries` times."""
    for attempt in range(1, tries + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == tries or not is_transient(exc):
                raise
            log.warning(
                "transaction chosen as a deadlock victim; trying again", extra={"try": attempt}
            )
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at our migrations, optionally bound to a connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _run_upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _ensure_parent_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and write locks taken up front.

    `BEGIN IMMEDIATE` makes concurrent writers queue on the busy timeout instead of
    failing at once when a reader tries to upgrade its lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """Ping a pooled connection before it is handed out when it was idle `after` seconds or
    more; a dead one is replaced (DisconnectionError makes the pool take another)."""
    pool_events = engine.sync_engine

    @event.listens_for(pool_events, "connect")
    @event.listens_for(pool_events, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(pool_events, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection was closed: {exc}") from exc


_RETURNED = "chatops.returned"


# Writes a transaction gathers and says once as it commits (never if it rolls back): a batch of
# sends' tries in one insert, one wake-up however many writes queued outbox rows.
AtCommit = Callable[[Session, list[Any]], None]
_AT_COMMIT = "chatops.at_commit"
# Rows a transaction gathers and writes in one statement before anything reads them: before
# the session's next statement, or as it commits.
_BEHIND = "chatops.write_behind"


def at_commit(session: AsyncSession, write: AtCommit, item: Any = None) -> None:
    """Add `item` to what `write` will be given, once, as this session's transaction commits."""
    pending: dict[AtCommit, list[Any]] = session.info.setdefault(_AT_COMMIT, {})
    pending.setdefault(write, []).append(item)


def write_behind(session: AsyncSession, table: Table, row: dict[str, Any]) -> None:
    """Add `row` to the rows of `table` inserted in one statement before the session's next
    statement that reads or changes that table (so the transaction sees it, as the ORM's
    autoflush would) or as it commits."""
    pending: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_BEHIND, {})
    pending.setdefault(table, []).append(row)


def _write_behind(session: Session) -> None:
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_BEHIND, None)
    if not pending:
        return
    if session.autoflush:
        session.flush()  # the objects the rows refer to first (a Core statement skips autoflush)
    for table, rows in pending.items():
        session.execute(_insert_into(table), rows)


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    pending: dict[Table, list[dict[str, Any]]] | None = state.session.info.get(_BEHIND)
    if not pending:
        return
    touched = _tables_of(state.statement)
    if touched is None or any(table.name in touched for table in pending):
        _write_behind(state.session)


_TOUCHED: weakref.WeakKeyDictionary[Any, frozenset[str] | None] = weakref.WeakKeyDictionary()


def _tables_of(statement: Any) -> frozenset[str] | None:
    """The tables a SELECT, INSERT or UPDATE reads or changes, aliases and subqueries too
    (kept per statement: most are built once); None when not known (text, a DELETE: anything
    else writes the rows first)."""
    try:
        return _TOUCHED[statement]
    except (KeyError, TypeError):
        pass
    found: frozenset[str] | None = None
    if isinstance(statement, Select | Insert | Update):
        names = set()
        for table in find_tables(
            statement,
            include_aliases=True,
            include_joins=True,
            include_selects=True,
            include_crud=True,
        ):
            name = getattr(getattr(table, "element", table), "name", None)
            if isinstance(name, str):
                names.add(name)
        found = frozenset(names) if names else None
    try:
        _TOUCHED[statement] = found
    except TypeError:
        pass
    return found


@event.listens_for(Session, "before_commit")
def _run_at_commit(session: Session) -> None:
    _write_behind(session)
    for write, items in session.info.pop(_AT_COMMIT, {}).items():
        write(session, items)


@event.listens_for(Session, "after_rollback")
def _forget_at_rollback(session: Session) -> None:
    session.info.pop(_AT_COMMIT, None)
    session.info.pop(_BEHIND, None)
