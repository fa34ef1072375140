"""Sync history, the integrations the scheduler watches, and inbound webhook records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import DeliveryKind
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


async def recent(session: AsyncSession, integration_id: str, limit: int = 10) -> Recent:
    """The integration's last `limit` runs, newest first."""
    rows = await session.execute(
        select(SyncLog.status, SyncLog.attempt, SyncLog.cursor, SyncLog.started_at)
        .where(SyncLog.integration_id == integration_id)
        .order_by(SyncLog.started_at.desc(), SyncLog.attempt.desc())
        .limit(limit)
    )
    return Recent(tuple((s, a, c, t) for s, a, c, t in rows.all()))


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
