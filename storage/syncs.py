"""Sync history, the integrations the scheduler watches, and inbound webhook records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextualSelect, and_, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import DeliveryKind
from storage.schema import Delivery, Event, Integration, SyncLog, WebhookEvent


@dataclass(frozen=True)
class Watched:
    """An integration as the scheduler sees it: what to run, and how often."""

    id: str
    tenant: str
    type: str
    sync_enabled: bool
    sync_interval_minutes: int
    updated_at: datetime


async def watched(session: AsyncSession) -> list[Watched]:
    """Every active integration, for the scheduler to derive its jobs from."""
    rows = await session.execute(
        select(
            Integration.id,
            Integration.tenant_id,
            Integration.type,
            Integration.sync_enabled,
            Integration.sync_interval,
            Integration.updated_at,
        ).where(Integration.is_active.is_(True))
    )
    return [Watched(*row) for row in rows.all()]


@dataclass(frozen=True)
class Recent:
    """What the last runs of an integration say, read in one query."""

    rows: tuple[tuple[str, int, str | None, datetime], ...]  # status, attempt, cursor, started
    partial: bool = True  # False when these are every run there is

    def running_since(self, after: datetime) -> bool:
        """A run started after `after` that has not finished: another process has it."""
        return any(s == "running" and started > after for s, _, _, started in self.rows)

    def stale_before(self, before: datetime) -> bool:
        """A run still `running` from before `before`: its process died."""
        return any(s == "running" and started <= before for s, _, _, started in self.rows)

    @property
    def failures_in_a_row(self) -> int:
        """The attempt number of the latest finished run when it failed, else 0."""
        for status, attempt, _, _ in self.rows:
            if status == "running":
                continue
            return attempt if status == "failed" else 0
        return 0

    @property
    def cursor(self) -> str | None:
        """The cursor of the latest successful run among these, if any."""
        return next((c for s, _, c, _ in self.rows if s == "success" and c), None)


async def integrations_by_id(
    session: AsyncSession, integration_ids: Sequence[str]
) -> dict[str, Integration]:
    """Integrations by id, in one query."""
    rows = await session.scalars(
        select(Integration).where(Integration.id.in_(sorted(set(integration_ids))))
    )
    return {row.id: row for row in rows.all()}


async def recent_many(
    session: AsyncSession, integration_ids: Sequence[str], limit: int = 10
) -> dict[str, Recent]:
    """`recent` for many integrations in one statement: a union of one index-ordered part per
    integration, so a long history costs no more than a short one."""
    unique = list(dict.fromkeys(integration_ids))
    if not unique:
        return {}
    params: dict[str, Any] = {f"i{n}": integration_id for n, integration_id in enumerate(unique)}
    rows = await session.execute(_recent_statement(len(unique)), {**params, "limit": limit})
    found: dict[str, list[tuple[str, int, str | None, datetime]]] = {}
    for integration_id, status, attempt, cursor, started in rows.all():
        found.setdefault(integration_id, []).append((status, attempt, cursor, started))
    return {
        integration_id: Recent(
            tuple(sorted(found.get(integration_id, []), key=lambda r: (r[3], r[1]), reverse=True)),
            partial=len(found.get(integration_id, [])) >= limit,
        )
        for integration_id in unique
    }


@lru_cache(maxsize=64)
def _recent_statement(count: int) -> TextualSelect:
    """The union for `count` integrations (built once per size; a few sizes recur)."""
    part = (
        "SELECT * FROM (SELECT integration_id, status, attempt, cursor, started_at "
        f"FROM {SyncLog.__tablename__} WHERE integration_id = :i{{n}} "
        "ORDER BY started_at DESC, attempt DESC LIMIT :limit) AS r{n}"
    )
    sql = " UNION ALL ".join(part.format(n=n) for n in range(count))
    columns = SyncLog.__table__.c
    return text(sql).columns(
        columns.integration_id,
        columns.status,
        columns.attempt,
        columns.cursor,
        columns.started_at,
    )


_FINISH = (
    update(SyncLog.__table__)  # type: ignore[arg-type]
    .where(SyncLog.__table__.c.id == bindparam("run_id"))
    .values(
        status="success",
        records_processed=bindparam("processed"),
        records_updated=bindparam("updated"),
        records_failed=bindparam("failed"),
        cursor=bindparam("cursor_after"),
        completed_at=bindparam("completed"),
    )
)
_CONNECTED = (
    update(Integration.__table__)  # type: ignore[arg-type]
    .where(Integration.__table__.c.id == bindparam("integration"))
    .values(
        last_sync_at=bindparam("completed"),
        last_error=None,
        connection_status="connected",
        connection_error=None,
        updated_at=Integration.__table__.c.updated_at,
    )
)


async def succeeded_many(session: AsyncSession, runs: Sequence[dict[str, Any]]) -> None:
    """Successful runs recorded and their integrations marked connected, in two statements.

    Each of `runs` has run_id, integration, processed, updated, failed, cursor_after and
    completed.
    """
    if runs:
        await session.execute(_FINISH, list(runs))
        await session.execute(_CONNECTED, list(runs))


async def last_cursor(session: AsyncSession, integration_id: str) -> str | None:
    """Where the next incremental sync starts: the cursor of the last successful run."""
    query = (
        select(SyncLog.cursor)
        .where(
            SyncLog.integration_id == integration_id,
            SyncLog.status == "success",
            SyncLog.cursor.is_not(None),
        )
        .order_by(SyncLog.started_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def abandon_stale(session: AsyncSession, integration_id: str, before: datetime) -> None:
    """Runs still `running` from before `before` died with their process: mark them so."""
    await session.execute(
        update(SyncLog)
        .where(
            SyncLog.integration_id == integration_id,
            SyncLog.status == "running",
            SyncLog.started_at <= before,
        )
        .values(status="failed", error="interrupted (the process stopped)")
    )


async def alerts_for_refs(
    session: AsyncSession, integration_id: str, refs: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """The alerts this integration posted under each provider reference: ref → (id, state)."""
    wanted = list(dict.fromkeys(refs))
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = await session.execute(
            select(Delivery.message_ref, Event.id, Event.state)
            .join(Event, Event.id == Delivery.event_id)
            .where(
                Delivery.integration_id == integration_id,
                Delivery.kind == DeliveryKind.POST.value,
                Delivery.message_ref.in_(chunk),
            )
        )
        for ref, event_id, state in rows.all():
            found[str(ref)] = (event_id, state)
    return found


async def record_status(session: AsyncSession, *integration_ids: str, **values: Any) -> None:
    """Write connection and sync status (connection_status, last_sync_at, errors...).

    `updated_at` keeps meaning "settings last changed": status is not a change of settings.
    """
    await session.execute(
        update(Integration)
        .where(Integration.id.in_(integration_ids))
        .values(updated_at=Integration.updated_at, **values)
    )


async def tenant_and_name(session: AsyncSession, integration_id: str) -> tuple[str, str] | None:
    """An integration's tenant and name, or None when it is gone."""
    row = (
        await session.execute(
            select(Integration.tenant_id, Integration.name).where(Integration.id == integration_id)
        )
    ).first()
    return (str(row[0]), str(row[1])) if row else None


async def open_refs(session: AsyncSession, integration_id: str, limit: int) -> list[str]:
    """References of the open alerts this integration holds, oldest first."""
    rows = await session.scalars(
        select(Delivery.message_ref)
        .join(Event, Event.id == Delivery.event_id)
        .where(
            Delivery.integration_id == integration_id,
            Delivery.kind == DeliveryKind.POST.value,
            Delivery.message_ref.is_not(None),
            Event.state != "resolved",
        )
        .order_by(Event.first_seen)
        .limit(limit)
    )
    return [str(ref) for ref in rows.all()]


async def all_integrations(session: AsyncSession) -> Sequence[Integration]:
    """Every integration, for checks that compare them with the registry."""
    return (await session.scalars(select(Integration))).all()


async def credentials_lapsed(session: AsyncSession, now: datetime) -> Sequence[Integration]:
    """Active integrations whose credentials expired and are not yet marked so."""
    query = select(Integration).where(
        Integration.is_active.is_(True),
        Integration.credentials_expire_at.is_not(None),
        Integration.credentials_expire_at <= now,
        or_(Integration.connection_status.is_(None), Integration.connection_status != "expired"),
    )
    return (await session.scalars(query)).all()


async def webhook_seen(
    session: AsyncSession, event_id: str, since: datetime
) -> WebhookEvent | None:
    """The inbound webhook with this id, if it arrived after `since` (the idempotency window)."""
    query = select(WebhookEvent).where(
        and_(WebhookEvent.id == event_id, WebhookEvent.received_at > since)
    )
    return (await session.scalars(query)).first()


async def unapplied_webhooks(
    session: AsyncSession, *, received_before: datetime, since: datetime
) -> Sequence[tuple[WebhookEvent, Integration]]:
    """Webhooks recorded but never applied, with their still-active integration."""
    query = (
        select(WebhookEvent, Integration)
        .join(Integration, Integration.id == WebhookEvent.integration_id)
        .where(
            WebhookEvent.status == "received",
            WebhookEvent.received_at < received_before,
            WebhookEvent.received_at > since,
            Integration.is_active.is_(True),
        )
        .order_by(WebhookEvent.received_at)
        .limit(500)
    )
    return [(w, i) for w, i in (await session.execute(query)).all()]


async def webhook_events(
    session: AsyncSession, integration_id: str, limit: int, offset: int
) -> Sequence[WebhookEvent]:
    """An integration's inbound webhooks, newest first."""
    query = (
        select(WebhookEvent)
        .where(WebhookEvent.integration_id == integration_id)
        .order_by(WebhookEvent.received_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(query)).all()
