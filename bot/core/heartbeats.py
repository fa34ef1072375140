"""Heartbeats as admins keep them and as pings and the checker move them (domain.heartbeats).

Every change (made, removed, paused, resumed) is audited in its transaction. A ping records the
time and resolves the missed-heartbeat alert if one is open; the checker raises that alert once
a heartbeat is silent past its interval and grace. The alert is an ordinary event
(`heartbeat.missed`, dedup key `heartbeat-<name>`, labels `alertname="HeartbeatMissed"`,
`heartbeat="<name>"`), so routes, silences and escalation policies act on it like on any other,
and its dedup key keeps it one alert whichever process raises it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import audit
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.services import Services
from bot.core.specs.noise import HeartbeatSpec
from domain import AlertState, By, EventIn, Priority, parse_duration
from domain.heartbeats import (
    HeartbeatError,
    Spec,
    document,
    late,
    missed_title,
    silent_for,
    spec_from,
)
from storage import alerts as alerts_repo
from storage.schema import Event, Heartbeat, utcnow

log = logging.getLogger(__name__)
FOREVER = timedelta(days=3650)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def spec_of(row: Heartbeat) -> Spec:
    return Spec(
        row.name,
        timedelta(seconds=row.interval_seconds),
        timedelta(seconds=row.grace_seconds),
        Priority(row.priority),
        row.watchdog,
    )


def new_row(tenant: str, spec: Spec, actor: str, now: datetime) -> tuple[Heartbeat, str]:
    """A heartbeat's row, and the key of its secret ping URL (only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    row = Heartbeat(
        tenant_id=tenant,
        name=spec.name,
        created_by=actor[:255],
        created_at=now,
        token_hash=_hash(token),
    )
    apply_spec(row, spec)
    return row, token


def apply_spec(row: Heartbeat, spec: Spec) -> None:
    """Give the row the spec's interval, grace, priority and watchdog."""
    row.interval_seconds = spec.interval.total_seconds()
    row.grace_seconds = spec.grace.total_seconds()
    row.priority, row.watchdog = spec.priority.value, spec.watchdog


def state_of(row: Heartbeat, now: datetime) -> str:
    """`paused`, `missed` (its alert is open), `waiting` (never pinged) or `up`."""
    if row.paused_until is not None and row.paused_until > now:
        return "paused"
    if row.alert_id is not None:
        return "missed"
    return "waiting" if row.last_ping_at is None else "up"


def heartbeat_document(row: Heartbeat, now: datetime) -> dict[str, Any]:
    return {
        **document(spec_of(row)),
        "state": state_of(row, now),
        "last_ping_at": row.last_ping_at.isoformat() if row.last_ping_at else None,
        "paused_until": row.paused_until.isoformat() if row.paused_until else None,
        "paused_by": row.paused_by,
        "alert_id": row.alert_id,
        "created_by": row.created_by,
    }


async def create(
    services: Services, tenant: str, given: HeartbeatSpec, by: By
) -> tuple[dict[str, Any], str]:
    """A new heartbeat, audited; its document and the key of its secret ping URL (shown once:
    only its hash is kept)."""
    try:
        spec = spec_from(given.model_dump(exclude_none=True))
    except HeartbeatError as exc:
        raise InvalidRequest(str(exc)) from None
    now = utcnow()
    async with services.configuring() as session:  # its watchdog, if it has one, pings from now on
        await alerts_repo.ensure_tenant(session, tenant)
        if await _row(session, tenant, spec.name) is not None:
            raise Conflict(f"a heartbeat named {spec.name!r} exists")
        row, token = new_row(tenant, spec, by.actor, now)
        session.add(row)
        await session.flush()
        audit.record(session, tenant, by, "heartbeat.create", document(spec))
        made = heartbeat_document(row, now)
    return made, token


async def listed(services: Services, tenant: str) -> list[dict[str, Any]]:
    now = utcnow()
    async with services.db.session() as session:
        rows = await session.scalars(
            select(Heartbeat).where(Heartbeat.tenant_id == tenant).order_by(Heartbeat.name)
        )
        return [heartbeat_document(r, now) for r in rows.all()]


async def one(services: Services, tenant: str, name: str) -> dict[str, Any]:
    async with services.db.session() as session:
        row = await _need(session, tenant, name)
        return heartbeat_document(row, utcnow())


async def remove(services: Services, tenant: str, name: str, by: By) -> None:
    async with services.configuring() as session:
        row = await _need(session, tenant, name)
        await session.delete(row)
        audit.record(session, tenant, by, "heartbeat.remove", {"name": row.name})


async def pause(
    services: Services, tenant: str, name: str, by: By, duration: str | None = None
) -> dict[str, Any]:
    """Pause (for `duration`, or until resumed): no alert while paused, audited."""
    now = utcnow()
    length = FOREVER
    if duration:
        try:
            length = parse_duration(duration)
        except ValueError as exc:
            raise InvalidRequest(f"duration: {exc}") from None
    async with services.db.session() as session, session.begin():
        row = await _need(session, tenant, name)
        row.paused_until, row.paused_by = now + length, by.actor[:255]
        until = None if length == FOREVER else row.paused_until.isoformat()
        audit.record(session, tenant, by, "heartbeat.pause", {"name": row.name, "until": until})
        return heartbeat_document(row, now)


async def resume(services: Services, tenant: str, name: str, by: By) -> dict[str, Any]:
    """Watch it again; its silence counts from now, so resuming never raises at once."""
    now = utcnow()
    async with services.db.session() as session, session.begin():
        row = await _need(session, tenant, name)
        row.paused_until, row.paused_by = None, None
        row.last_ping_at = max(row.last_ping_at or now, now)
        audit.record(session, tenant, by, "heartbeat.resume", {"name": row.name})
        return heartbeat_document(row, now)


async def ping(
    services: Services, *, tenant: str | None = None, name: str | None = None, token: str = ""
) -> dict[str, Any]:
    """A ping, by tenant and name (a tenant's key) or by the secret URL's key; resolves the
    missed-heartbeat alert if one is open."""
    now = utcnow()
    async with services.db.session() as session, session.begin():
        if token:
            row = (
                await session.scalars(select(Heartbeat).where(Heartbeat.token_hash == _hash(token)))
            ).first()
            if row is None or (name is not None and row.name != name):
                raise NotFound("no such heartbeat")
        else:
            assert tenant is not None and name is not None
            row = await _need(session, tenant, name)
        row.last_ping_at = now
        open_alert, row.alert_id = row.alert_id, None
        spec, row_tenant = spec_of(row), row.tenant_id
        found = heartbeat_document(row, now)
    if open_alert is not None:
        await services.ingest.submit(_missed_event(row_tenant, spec, timedelta(0), resolve=True))
    return found


async def watchdog_names(services: Services, tenant: str) -> frozenset[str]:
    """The alertnames the tenant's heartbeats take as pings, from the configuration cache: the
    Alertmanager hook asks on every webhook, and a warm cache answers without waiting on the
    database, so webhooks arriving together keep their order into ingest."""

    async def load() -> frozenset[str]:
        async with services.db.session() as session:
            rows = await session.scalars(
                select(Heartbeat.watchdog).where(
                    Heartbeat.tenant_id == tenant, Heartbeat.watchdog.is_not(None)
                )
            )
            return frozenset(str(w) for w in rows.all())

    found: frozenset[str] = await services.cache.get(("watchdogs", tenant), load)
    return found


async def watchdogs(services: Services, tenant: str, alertnames: set[str]) -> set[str]:
    """Alertmanager alerts that are some heartbeat's `watchdog`: each pings its heartbeat. The
    alertnames that did (their alerts are not stored as alerts)."""
    if not alertnames:
        return set()
    async with services.db.session() as session:
        rows = await session.execute(
            select(Heartbeat.name, Heartbeat.watchdog).where(
                Heartbeat.tenant_id == tenant, Heartbeat.watchdog.in_(sorted(alertnames))
            )
        )
        found = [(str(n), str(w)) for n, w in rows.all()]
    for name, _ in found:
        await ping(services, tenant=tenant, name=name)
    return {w for _, w in found if w}


async def check(services: Services, now: datetime, watching_since: datetime) -> int:
    """Raise the alert of every heartbeat silent past its interval and grace (counted from its
    last ping or from `watching_since`, when this checker started, whichever is later); one
    alert per heartbeat until a ping resolves it. How many were raised."""
    raised = []
    async with services.db.session() as session, session.begin():
        await _forget_resolved(session)
        rows = (await session.scalars(select(Heartbeat).where(Heartbeat.alert_id.is_(None)))).all()
        for row in rows:
            if row.paused_until is not None and row.paused_until > now:
                continue
            silence = silent_for(row.last_ping_at, watching_since, now)
            if late(spec_of(row), silence):
                raised.append((row.id, row.tenant_id, spec_of(row), silence, row.last_ping_at))
    for heartbeat_id, tenant, spec, silence, seen in raised:
        result = await services.ingest.submit(_missed_event(tenant, spec, silence))
        async with services.db.session() as session, session.begin():
            stored = await session.get(Heartbeat, heartbeat_id)
            pinged = stored is None or stored.last_ping_at != seen
            if stored is not None and not pinged:
                stored.alert_id = result.id
        if pinged:  # a ping landed while the alert was being raised: it is over already
            await services.ingest.submit(_missed_event(tenant, spec, silence, resolve=True))
        log.warning("heartbeat missed", extra={"tenant": tenant, "heartbeat": spec.name})
    return len(raised)


async def _forget_resolved(session: AsyncSession) -> None:
    """A missed-heartbeat alert resolved by hand: the heartbeat may raise again."""
    rows = await session.scalars(
        select(Heartbeat)
        .join(Event, Event.id == Heartbeat.alert_id)
        .where(Event.state == AlertState.RESOLVED.value)
    )
    for row in rows.all():
        row.alert_id = None


def _missed_event(tenant: str, spec: Spec, silence: timedelta, resolve: bool = False) -> EventIn:
    return EventIn(
        title=missed_title(spec, silence),
        tenant=tenant,
        event_type="heartbeat.missed",
        priority=spec.priority,
        source="heartbeat",
        dedup_key=f"heartbeat-{spec.name}",
        facts={"heartbeat": spec.name, "expected every": str(spec.interval)},
        labels={"alertname": "HeartbeatMissed", "heartbeat": spec.name},
        resolve=resolve,
    )


async def _row(session: AsyncSession, tenant: str, name: str) -> Heartbeat | None:
    return (
        await session.scalars(
            select(Heartbeat).where(Heartbeat.tenant_id == tenant, Heartbeat.name == name[:100])
        )
    ).first()


async def _need(session: AsyncSession, tenant: str, name: str) -> Heartbeat:
    row = await _row(session, tenant, name)
    if row is None:
        raise NotFound(f"no heartbeat {name[:100]!r}")
    return row
