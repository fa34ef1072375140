"""Admin configuration: integrations, channels and routes, created, read, changed and removed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema import Channel, Delivery, Integration, Route, SyncLog, WebhookEvent


class NotFound(LookupError):
    """No such row for this tenant."""


class Conflict(ValueError):
    """The change clashes with what is stored (a duplicate name, say)."""


async def integration(session: AsyncSession, tenant: str, ref: str) -> Integration:
    """An integration by id or by name."""
    query = select(Integration).where(
        Integration.tenant_id == tenant, or_(Integration.id == ref, Integration.name == ref)
    )
    row = (await session.scalars(query)).first()
    if row is None:
        raise NotFound(f"no integration {ref!r} in tenant {tenant!r}")
    return row


async def active_of_type(session: AsyncSession, tenant: str, kind: str) -> Integration | None:
    """The tenant's first active integration of this type (oldest first)."""
    query = (
        select(Integration)
        .where(
            Integration.tenant_id == tenant,
            Integration.type == kind,
            Integration.is_active.is_(True),
        )
        .order_by(Integration.created_at)
    )
    return (await session.scalars(query)).first()


async def integrations(session: AsyncSession, tenant: str) -> Sequence[Integration]:
    """The tenant's integrations by name."""
    query = select(Integration).where(Integration.tenant_id == tenant).order_by(Integration.name)
    return (await session.scalars(query)).all()


async def add_integration(session: AsyncSession, row: Integration) -> Integration:
    """Store a new integration; Conflict when the name is taken."""
    taken = await session.scalar(
        select(Integration.id).where(
            Integration.tenant_id == row.tenant_id, Integration.name == row.name
        )
    )
    if taken:
        raise Conflict(f"an integration named {row.name!r} already exists")
    session.add(row)
    await session.flush()
    return row


async def remove_integration(session: AsyncSession, row: Integration) -> None:
    """Delete an integration and the channels that send through it."""
    await session.execute(delete(Channel).where(Channel.integration_id == row.id))
    await session.delete(row)


async def channel(session: AsyncSession, tenant: str, ref: str) -> Channel:
    """A channel by id or by name."""
    query = select(Channel).where(
        Channel.tenant_id == tenant,
        or_(Channel.id == ref, Channel.name == ref),
        Channel.person_id.is_(None),
    )
    row = (await session.scalars(query)).first()
    if row is None:
        raise NotFound(f"no channel {ref!r} in tenant {tenant!r}")
    return row


async def channels(session: AsyncSession, tenant: str) -> Sequence[Channel]:
    """The tenant's channels by name (a person's direct messages are theirs, not listed)."""
    query = (
        select(Channel)
        .where(Channel.tenant_id == tenant, Channel.person_id.is_(None))
        .order_by(Channel.name)
    )
    return (await session.scalars(query)).all()


async def add_channel(session: AsyncSession, row: Channel) -> Channel:
    """Store a new channel; Conflict when the name is taken."""
    taken = await session.scalar(
        select(Channel.id).where(Channel.tenant_id == row.tenant_id, Channel.name == row.name)
    )
    if taken:
        raise Conflict(f"a channel named {row.name!r} already exists")
    session.add(row)
    await session.flush()
    return row


async def routes(session: AsyncSession, tenant: str) -> Sequence[Route]:
    """The tenant's routes, oldest first."""
    query = select(Route).where(Route.tenant_id == tenant).order_by(Route.created_at)
    return (await session.scalars(query)).all()


async def route(session: AsyncSession, tenant: str, route_id: str) -> Route:
    """One route by id (or a unique prefix of it)."""
    query = select(Route).where(Route.tenant_id == tenant, Route.id.startswith(route_id))
    rows = (await session.scalars(query)).all()
    if len(rows) != 1:
        raise NotFound(f"no route {route_id!r}" if not rows else f"{route_id!r} is ambiguous")
    return rows[0]


async def sync_logs(
    session: AsyncSession, integration_id: str, limit: int, offset: int
) -> Sequence[SyncLog]:
    """An integration's sync history, newest first."""
    query = (
        select(SyncLog)
        .where(SyncLog.integration_id == integration_id)
        .order_by(SyncLog.started_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(query)).all()


async def deliveries_for(
    session: AsyncSession,
    *,
    tenant: str,
    integration_id: str | None = None,
    user_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Delivery]:
    """Recent deliveries of an integration or to a user, newest first."""
    query = select(Delivery).where(Delivery.tenant_id == tenant)
    if integration_id:
        query = query.where(Delivery.integration_id == integration_id)
    if user_id:
        query = query.where(Delivery.user_id == user_id)
    query = query.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit).offset(offset)
    return (await session.scalars(query)).all()


def apply(row: Any, values: dict[str, Any]) -> None:
    """Set attributes from a validated mapping."""
    for key, value in values.items():
        setattr(row, key, value)


CHAT_INTEGRATIONS = {"slack": "Slack", "teams": "Teams"}


async def chat_integration(
    session: AsyncSession, tenant: str, kind: str, *, create_as: str | None = None
) -> Integration | None:
    """A tenant's own Slack or Teams integration; created when `create_as` says by whom."""
    query = select(Integration).where(
        Integration.tenant_id == tenant,
        Integration.type == kind,
        Integration.name == CHAT_INTEGRATIONS[kind],
    )
    row = (await session.scalars(query)).first()
    if row is None and create_as is not None:
        row = Integration(
            tenant_id=tenant,
            name=CHAT_INTEGRATIONS[kind],
            type=kind,
            config={},
            capabilities=["notifications", "interactive"],
            created_by=create_as,
        )
        session.add(row)
        await session.flush()
    return row


async def all_with_credentials(session: AsyncSession) -> Sequence[Integration]:
    """Every integration (of every tenant) that stores secrets."""
    query = select(Integration).where(Integration.credentials.is_not(None))
    return (await session.scalars(query)).all()


async def rotate_credentials(session: AsyncSession, rotate: Any) -> int:
    """Re-encrypt every integration's credentials with `rotate`; how many were."""
    rows = await all_with_credentials(session)
    for row in rows:
        assert row.credentials is not None
        row.credentials = rotate(row.credentials)
    return len(rows)


async def dead_letters(
    session: AsyncSession, tenant: str | None, limit: int = 50
) -> Sequence[Delivery]:
    """Deliveries whose retries are spent, newest first."""
    query = select(Delivery).where(Delivery.status == "dead")
    if tenant is not None:
        query = query.where(Delivery.tenant_id == tenant)
    return (await session.scalars(query.order_by(Delivery.updated_at.desc()).limit(limit))).all()


async def all_integrations(session: AsyncSession, tenant: str | None) -> Sequence[Integration]:
    """Integrations of one tenant, or of every tenant, by tenant and name."""
    query = select(Integration).order_by(Integration.tenant_id, Integration.name)
    if tenant is not None:
        query = query.where(Integration.tenant_id == tenant)
    return (await session.scalars(query)).all()


@dataclass(frozen=True)
class Cascade:
    """What deleting an integration takes with it."""

    channels: tuple[str, ...]
    routes: int
    syncs: int
    webhooks: int


async def cascade_of(session: AsyncSession, row: Integration) -> Cascade:
    """The channels, routes, sync history and webhook records that go with an integration."""
    channel_rows = (
        await session.scalars(select(Channel).where(Channel.integration_id == row.id))
    ).all()
    ids = [c.id for c in channel_rows]
    routes = (
        await session.scalar(
            select(func.count()).select_from(Route).where(Route.channel_id.in_(ids))
        )
        if ids
        else 0
    )
    syncs = await session.scalar(
        select(func.count()).select_from(SyncLog).where(SyncLog.integration_id == row.id)
    )
    webhooks = await session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.integration_id == row.id)
    )
    return Cascade(
        tuple(sorted(c.name for c in channel_rows)),
        int(routes or 0),
        int(syncs or 0),
        int(webhooks or 0),
    )
