"""What response reports read: the alerts first seen in a window, with the times they were
acknowledged and resolved, and where their cards went. One pass over an index on
(tenant, first_seen); the figures are worked out by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import DeliveryKind, DeliveryStatus
from storage.schema import Channel, Delivery, Event, Person

CHUNK = 5000


@dataclass(frozen=True)
class Row:
    id: str
    priority: str
    source: str
    event_type: str
    dedup_key: str
    title: str
    labels: dict[str, str] | None
    occurrences: int
    first_seen: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


async def alerts_since(session: AsyncSession, tenant: str, since: datetime) -> list[Row]:
    """Every alert of the tenant first seen since `since`, muted ones left out (nobody was
    asked to act on them)."""
    result = await session.execute(
        select(
            Event.id,
            Event.priority,
            Event.source,
            Event.event_type,
            Event.dedup_key,
            Event.title,
            Event.labels,
            Event.occurrences,
            Event.first_seen,
            Event.acknowledged_at,
            Event.resolved_at,
        ).where(Event.tenant_id == tenant, Event.first_seen >= since, Event.muted_by.is_(None))
    )
    return [Row(*r) for r in result.all()]


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
