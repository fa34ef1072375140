"""What response reports read: per alert first seen in a window, its group's key and how long
it took to be acknowledged and resolved (worked out by the database, in seconds); the noisiest
dedup keys and labels, counted by the database; where cards went; pages to people. A tenant's
alerts are found by an index on (tenant, first_seen)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import DeliveryKind, DeliveryStatus
from storage.schema import Channel, Delivery, Event, Person

CHUNK = 5000
KEYS = {"priority": Event.priority, "source": Event.source, "event_type": Event.event_type}


def _seconds(sqlite: bool, later: Any, earlier: Any) -> Any:
    """`later - earlier` in seconds, as the database works it out (NULL when `later` is)."""
    if sqlite:
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)  # PostgreSQL answers with a Decimal


def _window(tenant: str, since: datetime) -> tuple[Any, ...]:
    # Muted alerts are left out: nobody was asked to act on them.
    return (Event.tenant_id == tenant, Event.first_seen >= since, Event.muted_by.is_(None))


Timing = tuple[str, str, float | None, float | None]


async def timings(session: AsyncSession, tenant: str, since: datetime, key: str) -> list[Timing]:
    """Per alert: its group key (`priority`, `source`, `event_type`, or its id for `channel`),
    the Monday (UTC) of the week it was first seen, seconds to acknowledge and to resolve
    (None when it was not)."""
    sqlite = _is_sqlite(session)
    column = Event.id if key == "channel" else KEYS[key]
    week = (
        func.date(Event.first_seen, "-6 days", "weekday 1")
        if sqlite
        else func.to_char(func.date_trunc("week", Event.first_seen), "YYYY-MM-DD")
    )
    rows = await session.execute(
        select(
            column,
            week,
            _seconds(sqlite, Event.acknowledged_at, Event.first_seen),
            _seconds(sqlite, Event.resolved_at, Event.first_seen),
        ).where(*_window(tenant, since))
    )
    return [(str(k), str(w), _float(a), _float(r)) for k, w, a, r in rows.all()]


async def noisiest_keys(
    session: AsyncSession, tenant: str, since: datetime, limit: int
) -> list[tuple[str, str, int, int]]:
    """Dedup keys by how often they fired: key, a title, alerts, occurrences."""
    fired = func.sum(Event.occurrences)
    rows = await session.execute(
        select(Event.dedup_key, func.max(Event.title), func.count(), fired)
        .where(*_window(tenant, since))
        .group_by(Event.dedup_key)
        .order_by(fired.desc(), Event.dedup_key)
        .limit(limit)
    )
    return [(str(k), str(t), int(n), int(o or 0)) for k, t, n, o in rows.all()]


async def noisiest_labels(
    session: AsyncSession, tenant: str, since: datetime, limit: int, skipped: Sequence[str]
) -> list[tuple[str, str, int]]:
    """`name=value` pairs by how many alerts carry them (the names in `skipped` left out)."""
    sqlite = _is_sqlite(session)
    each = (
        func.json_each(Event.labels) if sqlite else func.jsonb_each_text(Event.labels)
    ).table_valued("key", "value")
    count = func.count().label("n")
    rows = await session.execute(
        select(each.c.key, each.c.value, count)
        .select_from(Event)
        .join(each, literal_column("1") == literal_column("1"))
        .where(*_window(tenant, since), Event.labels.is_not(None), each.c.key.not_in(skipped))
        .group_by(each.c.key, each.c.value)
        .order_by(count.desc(), each.c.key, each.c.value)
        .limit(limit)
    )
    return [(str(k), str(v), int(n)) for k, v, n in rows.all()]


async def channels_of(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, list[str]]:
    """The channels each alert's card was sent to, by name."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(event_ids), CHUNK):
        rows = await session.execute(
            select(Delivery.event_id, Channel.name)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(
                Delivery.event_id.in_(event_ids[start : start + CHUNK]),
                Delivery.kind == DeliveryKind.POST.value,
                Delivery.status.in_((DeliveryStatus.SENT.value, DeliveryStatus.FOLDED.value)),
            )
        )
        for event_id, name in rows.all():
            found.setdefault(str(event_id), []).append(str(name))
    return found


async def pages_since(
    session: AsyncSession, tenant: str, since: datetime
) -> list[tuple[str, str, datetime]]:
    """Every page sent to a person (a card in their direct channel) since `since`: their name,
    their time zone, when it went out."""
    rows = await session.execute(
        select(Person.name, Person.time_zone, Delivery.sent_at)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(Person, Person.id == Channel.person_id)
        .where(
            Delivery.tenant_id == tenant,
            Delivery.kind == DeliveryKind.POST.value,
            Delivery.status == DeliveryStatus.SENT.value,
            Delivery.sent_at >= since,
        )
    )
    return [(str(n), str(z), at) for n, z, at in rows.all() if at is not None]
