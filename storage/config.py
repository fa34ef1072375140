"""Routing configuration: routes, channels, tenant-admin preferences and user overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import ChannelInfo, RouteRule, Verb
from domain.intervals import IntervalError, interval_from
from storage.convert import to_rule
from storage.schema import (
    AdminPreferences,
    Channel,
    EscalationPolicy,
    Integration,
    IntegrationDefault,
    Route,
    Tenant,
    TenantAdmin,
    TimeInterval,
    UserOverride,
    table_of,
    utcnow,
)

PREFERENCE_FIELDS = (
    "connection_issues",
    "sync_failures",
    "credential_expiration",
    "configuration_changes",
    "status_updates",
)


async def rules(session: AsyncSession, tenant: str) -> list[RouteRule]:
    """The tenant's active routes whose channel is active."""
    query = (
        select(Route)
        .join(Channel, Channel.id == Route.channel_id)
        .where(Route.tenant_id == tenant, Route.is_active.is_(True), Channel.is_active.is_(True))
        .order_by(Route.created_at)
    )
    return [to_rule(r) for r in (await session.scalars(query)).all()]


async def policies(session: AsyncSession, tenant: str) -> dict[str, dict[str, Any]]:
    """The tenant's escalation policies' documents, by name."""
    rows = await session.execute(
        select(EscalationPolicy.name, EscalationPolicy.document).where(
            EscalationPolicy.tenant_id == tenant
        )
    )
    return {name: dict(document) for name, document in rows.all()}


async def intervals(session: AsyncSession, tenant: str) -> dict[str, tuple[Any, ...]]:
    """The tenant's named time intervals, read (an unreadable one is left out)."""
    rows = await session.execute(
        select(TimeInterval.name, TimeInterval.time_intervals).where(
            TimeInterval.tenant_id == tenant
        )
    )
    found: dict[str, tuple[Any, ...]] = {}
    for name, specs in rows.all():
        try:
            found[name] = interval_from(specs)
        except IntervalError:
            continue
    return found


async def channel(session: AsyncSession, channel_id: str) -> tuple[ChannelInfo, str | None] | None:
    """A channel with its integration's settings, and the integration's encrypted credentials."""
    row = await session.get(Channel, channel_id)
    if row is None:
        return None
    settings: dict[str, Any] = {}
    token: str | None = None
    active = row.is_active
    if row.integration_id:
        integration = await session.get(Integration, row.integration_id)
        if integration is not None:
            settings.update(integration.config or {})
            token = integration.credentials
            active = active and integration.is_active
    settings.update(row.config or {})
    info = ChannelInfo(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        target=row.target,
        rate_per_minute=row.rate_per_minute,
        integration_id=row.integration_id,
        settings=settings,
        is_active=active,
        verbs=await offered(session, [row.id]),
    )
    return info, token


async def offered(session: AsyncSession, channel_ids: list[str]) -> frozenset[Verb] | None:
    """The verbs cards offer in these channels: those their active routes name together;
    None (every verb) when a route names none, or when no route leads there."""
    if not channel_ids:
        return None
    query = select(Route.actions).where(
        Route.channel_id.in_(channel_ids), Route.is_active.is_(True)
    )
    named = (await session.scalars(query)).all()
    if not named or any(actions is None for actions in named):
        return None
    return frozenset(Verb(v) for actions in named for v in actions or ())


async def offered_at(
    session: AsyncSession, tenant: str, platform: str, target: str
) -> frozenset[Verb] | None:
    """`offered` for the tenant's channels of this type posting to `target` (where a card was
    clicked)."""
    query = select(Channel.id).where(
        Channel.tenant_id == tenant, Channel.type == platform, Channel.target == target
    )
    return await offered(session, list((await session.scalars(query)).all()))


async def admin_channel(session: AsyncSession, tenant: str) -> str | None:
    """The tenant admins' channel, where integration notices go without any route."""
    row = await session.get(Tenant, tenant)
    return row.admin_channel_id if row is not None else None


async def set_admin_channel(session: AsyncSession, tenant: str, channel_id: str | None) -> None:
    """Make `channel_id` the tenant admins' channel (None: no such channel)."""
    await session.execute(
        update(Tenant).where(Tenant.id == tenant).values(admin_channel_id=channel_id)
    )


@dataclass(frozen=True, slots=True)
class ChannelBrief:
    """What routing and a card's updates need of a channel: where it is and what it is."""

    id: str
    name: str
    type: str
    integration_id: str | None
    target: str


_BRIEF = table_of(Channel).c
_BRIEFS = select(_BRIEF.id, _BRIEF.name, _BRIEF.type, _BRIEF.integration_id, _BRIEF.target).where(
    _BRIEF.id.in_(bindparam("ids", expanding=True))
)  # every click's updates read it


async def channel_types(session: AsyncSession, channel_ids: list[str]) -> dict[str, ChannelBrief]:
    """Channels by id, for routing."""
    if not channel_ids:
        return {}
    rows = await session.execute(_BRIEFS, {"ids": list(channel_ids)})
    return {r.id: ChannelBrief(*r) for r in rows.all()}


async def preferences(session: AsyncSession, tenant: str) -> dict[str, bool] | None:
    """The tenant admins' integration-event preferences, or None when never set."""
    row = await session.get(AdminPreferences, tenant)
    if row is None:
        return None
    return {name: bool(getattr(row, name)) for name in PREFERENCE_FIELDS}


async def set_preference(
    session: AsyncSession, tenant: str, values: dict[str, bool], actor: str | None
) -> None:
    """Store preferences, creating the row with the default categories first."""
    row = await session.get(AdminPreferences, tenant)
    if row is None:
        row = AdminPreferences(
            tenant_id=tenant,
            connection_issues=True,
            sync_failures=True,
            credential_expiration=True,
            configuration_changes=False,
            status_updates=False,
        )
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by = actor


async def stored_defaults(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """System defaults an admin has stored, by integration type."""
    rows = (await session.scalars(select(IntegrationDefault))).all()
    return {
        r.integration_type: {
            "enabled": r.enabled,
            "priority": r.priority,
            "retry_count": r.retry_count,
            "retry_delay_seconds": r.retry_delay_seconds,
            "config": dict(r.config or {}),
        }
        for r in rows
    }


async def overrides(session: AsyncSession, tenant: str, user_id: str) -> dict[str, dict[str, Any]]:
    """One user's overrides by integration type; only the fields they set."""
    query = select(UserOverride).where(
        UserOverride.tenant_id == tenant, UserOverride.user_id == user_id
    )
    result: dict[str, dict[str, Any]] = {}
    for row in (await session.scalars(query)).all():
        fields = {
            "enabled": row.enabled,
            "priority": row.priority,
            "retry_count": row.retry_count,
            "retry_delay_seconds": row.retry_delay_seconds,
        }
        data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        if row.config:
            data["config"] = dict(row.config)
        result[row.integration_type] = data
    return result


async def is_listed_admin(session: AsyncSession, tenant: str, platform: str, user_id: str) -> bool:
    """Whether an admin of this tenant made this person an admin."""
    query = select(TenantAdmin.id).where(
        TenantAdmin.tenant_id == tenant,
        TenantAdmin.platform == platform,
        TenantAdmin.user_id == user_id,
    )
    return (await session.scalar(query)) is not None


async def all_overrides(session: AsyncSession, tenant: str) -> dict[str, dict[str, Any]]:
    """Every user's overrides in the tenant: user id → integration type → the fields they set."""
    users = await session.scalars(
        select(UserOverride.user_id)
        .where(UserOverride.tenant_id == tenant)
        .distinct()
        .order_by(UserOverride.user_id)
    )
    return {user: await overrides(session, tenant, user) for user in users.all()}


async def listed_admins(session: AsyncSession, tenant: str) -> list[tuple[str, str]]:
    """(platform, user id) of every listed admin of the tenant."""
    rows = await session.execute(
        select(TenantAdmin.platform, TenantAdmin.user_id)
        .where(TenantAdmin.tenant_id == tenant)
        .order_by(TenantAdmin.platform, TenantAdmin.user_id)
    )
    return [(p, u) for p, u in rows.all()]


async def channel_at(
    session: AsyncSession, tenant: str, platform: str, target: str
) -> Channel | None:
    """The tenant's channel of this type posting to this target."""
    query = select(Channel).where(
        Channel.tenant_id == tenant, Channel.type == platform, Channel.target == target
    )
    return (await session.scalars(query)).first()


async def deactivate_channels_at(
    session: AsyncSession, platform: str, target: str
) -> list[tuple[str, str]]:
    """Stop every channel of this type posting to this target; (tenant, name) of each."""
    rows = (
        await session.scalars(
            select(Channel).where(
                Channel.type == platform, Channel.target == target, Channel.is_active.is_(True)
            )
        )
    ).all()
    for row in rows:
        row.is_active = False
    return [(r.tenant_id, r.name) for r in rows]


async def set_override(
    session: AsyncSession,
    tenant: str,
    user_id: str,
    kind: str,
    values: dict[str, Any],
    *,
    create: bool,
) -> bool:
    """Set fields of one user's override of one integration type; False when there is none and
    `create` is not given."""
    row = (
        await session.scalars(
            select(UserOverride).where(
                UserOverride.tenant_id == tenant,
                UserOverride.user_id == user_id,
                UserOverride.integration_type == kind,
            )
        )
    ).first()
    if row is None and not create:
        return False
    if row is None:
        row = UserOverride(tenant_id=tenant, user_id=user_id, integration_type=kind, config={})
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    return True


async def remove_overrides(
    session: AsyncSession, tenant: str, user_id: str, kind: str | None = None
) -> int:
    """Delete a user's overrides (of one type, or all); how many there were."""
    query = delete(UserOverride).where(
        UserOverride.tenant_id == tenant, UserOverride.user_id == user_id
    )
    if kind is not None:
        query = query.where(UserOverride.integration_type == kind)
    result = await session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]
