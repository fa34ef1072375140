"""Reading alerts: lists, one alert with its deliveries, attempts and audit, the open ones, the
queue — what the API, the pages, the Home tab and `status` show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.deps import Reads
from bot.core.paging import engine
from bot.core.records import (
    AttemptRecord,
    AuditRecord,
    DeliveryRecord,
    attempt_record,
    audit_record,
    delivery_record,
)
from domain import Alert, AlertState, Priority, grouping
from domain.matchers import Matcher, all_match
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import digests, groups, outbox
from storage.schema import utcnow


async def listed(
    services: Reads,
    *,
    tenant: str | None,
    state: AlertState | None,
    priority: Priority | None,
    event_type: str | None,
    limit: int,
    offset: int,
    muted: bool | None = None,
) -> tuple[list[Alert], int]:
    """Alerts matching the filters, newest first, and how many match in all."""
    async with services.db.session() as session:
        return await alerts_repo.list_alerts(
            session,
            tenant=tenant,
            state=state,
            priority=priority,
            event_type=event_type,
            limit=limit,
            offset=offset,
            muted=muted,
        )


async def get(services: Reads, alert_id: str) -> Alert | None:
    """One alert."""
    async with services.db.session() as session:
        return await alerts_repo.get(session, alert_id)


@dataclass(frozen=True)
class Record:
    """An alert with everything that happened to it."""

    alert: Alert
    deliveries: list[DeliveryRecord]
    attempts: list[AttemptRecord]
    audit: list[AuditRecord]
    channels: dict[str, str] = field(default_factory=dict)  # the deliveries' channels' names
    escalation: dict[str, Any] | None = None  # its escalation policy's progress


async def record(services: Reads, alert_id: str, tenant: str | None) -> Record | None:
    """The alert (of `tenant`, when given) with its deliveries, their attempts and its audit."""
    async with services.db.session() as session:
        alert = await alerts_repo.get(session, alert_id)
        if alert is None or (tenant is not None and alert.tenant != tenant):
            return None
        deliveries = await alerts_repo.deliveries_of(session, alert_id)
        audit = await alerts_repo.audit_of(session, alert_id)
        tries = (await session.scalars(outbox.attempts_query([d.id for d in deliveries]))).all()
        rows = await config_repo.channel_types(
            session, sorted({d.channel_id for d in deliveries if d.channel_id})
        )
        escalation = await engine.running(session, alert_id)
    names = {i: c.name for i, c in rows.items()}
    return Record(
        alert,
        [delivery_record(d) for d in deliveries],
        [attempt_record(t) for t in tries],
        [audit_record(a) for a in audit],
        names,
        escalation,
    )


async def open_alerts(services: Reads, tenant: str, limit: int) -> tuple[list[Alert], int]:
    """A tenant's open alerts, most severe first, and how many in all."""
    async with services.db.session() as session:
        return await alerts_repo.open_alerts(session, tenant, limit=limit)


@dataclass(frozen=True)
class Digest:
    """A digest's (or a group's card's) first alerts, how many it counts, and a group's title."""

    alerts: list[Alert]
    count: int
    group: str | None = None  # the group's labels, `cluster=eu-1`


async def digest(services: Reads, digest_id: str, shown: int) -> Digest:
    """The first `shown` alerts of a digest that still exist."""
    async with services.db.session() as session:
        found = await digests.load(session, digest_id, utcnow())
        alerts = [await alerts_repo.get(session, a) for a in found.alert_ids[:shown]]
        group = await groups.of_card(session, digest_id)
    title = grouping.title(group.labels or {}) if group is not None else None
    return Digest([a for a in alerts if a is not None], found.count, title)


async def open_counts(services: Reads, tenant: str) -> dict[str, int]:
    """Open alerts of a tenant by priority."""
    async with services.db.session() as session:
        return await alerts_repo.open_counts(session, tenant)


@dataclass(frozen=True)
class Queue:
    """The delivery queue: rows by status, how long the oldest due one has waited, stuck rows;
    and the alerts nobody acknowledged yet, by priority."""

    counts: dict[str, int]
    oldest_due: datetime | None
    stuck: int
    unacknowledged: dict[str, int] = field(default_factory=dict)


async def queue(services: Reads, now: datetime) -> Queue:
    """The state of the delivery queue, for `status` and `/metrics`."""
    async with services.db.session() as session:
        return Queue(
            await outbox.counts_by_status(session),
            await outbox.oldest_due(session, now),
            await outbox.stuck(session, now, services.settings.lease_seconds),
            await alerts_repo.unacknowledged_counts(session),
        )


@dataclass(frozen=True)
class Listed:
    """An alert as the console lists it: with the channels its card reached."""

    alert: Alert
    channels: list[str]


LABEL_SCAN = 2000  # alerts a regular-expression or negative label filter looks through


async def console_alerts(
    services: Reads,
    tenant: str | None,
    *,
    state: str = "open",
    priority: Priority | None = None,
    text: str = "",
    limit: int = 100,
    labels: tuple[Matcher, ...] = (),
) -> tuple[list[Listed], int]:
    """Alerts matching the console's filters, most severe first, with where they were sent;
    and how many match in all. Label matchers: `=` ones are asked of the database, the others
    are applied to the first LABEL_SCAN alerts it returns."""
    equal = {m.name: m.value for m in labels if m.op == "=" and m.value}
    rest = [m for m in labels if not (m.op == "=" and m.value)]
    async with services.db.session() as session:
        alerts, total = await alerts_repo.console_alerts(
            session,
            tenant=tenant,
            state=state,
            priority=priority,
            text=text,
            limit=LABEL_SCAN if rest else limit,
            labels=equal,
        )
        if rest:
            alerts = [a for a in alerts if all_match(rest, a.labels)]
            total = len(alerts)
            alerts = alerts[:limit]
        sent = await alerts_repo.delivered_to(session, [a.id for a in alerts])
    return [Listed(a, sent.get(a.id, [])) for a in alerts], total
