"""Channels and routes: the one place that creates and removes them and clears the routing cache.

REST, the CLI, chat commands and the Teams install all come here, so a name clash, an unknown
channel or a bad route reads the same wherever it was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.registry import TYPES
from bot.core import audit
from bot.core.alerts import windows
from bot.core.deps import Configures
from bot.core.integrations.specs import new_channel, new_route
from bot.core.paging import policies
from bot.core.specs.routes import (
    ChannelRecord,
    ChannelSpec,
    RouteInfo,
    RouteSpec,
    channel_record,
    route_info,
)
from cards.redact import mask_target
from domain import By
from storage import admin
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage.schema import Channel, Route


@dataclass(frozen=True)
class Place:
    """Where someone typed a command or added the bot: a Slack channel or a Teams conversation."""

    tenant: str
    platform: str  # slack | teams
    target: str  # the channel or conversation id
    name: str
    integration_id: str | None  # the tenant's own integration for the platform


async def channels(services: Configures, tenant: str) -> list[ChannelRecord]:
    """The tenant's channels by name."""
    async with services.db.session() as session:
        return [channel_record(c) for c in await admin.channels(session, tenant)]


async def routes(services: Configures, tenant: str) -> list[RouteInfo]:
    """The tenant's routes, oldest first."""
    async with services.db.session() as session:
        return [route_info(r) for r in await admin.routes(session, tenant)]


def _channel_data(row: Channel) -> dict[str, Any]:
    return {
        "channel": row.name,
        "id": row.id,
        "type": row.type,
        "target": mask_target(row.target or ""),
        "rate_per_minute": row.rate_per_minute,
    }


def _route_data(row: Route, channel: str) -> dict[str, Any]:
    return {
        "route": row.id,
        "channel": channel,
        "event_glob": row.event_glob,
        "source_glob": row.source_glob,
        "min_priority": row.min_priority,
        "stakeholders": list(row.stakeholders or []),
        "escalation_level": row.escalation_level,
        "actions": row.actions,
        "escalation_policy": row.escalation_policy,
    }


async def add_channel(
    services: Configures, tenant: str, spec: ChannelSpec, by: By
) -> ChannelRecord:
    """The channel a spec asks for (`integration` by id or name); Conflict on a taken name."""
    async with services.configuring() as session:
        integration = None
        if spec.integration:
            integration = await admin.integration(session, tenant, spec.integration)
        row = await admin.add_channel(session, new_channel(tenant, spec, integration))
        audit.record(session, tenant, by, "channel.create", _channel_data(row))
        made = channel_record(row)
    return made


async def remove_channel(services: Configures, tenant: str, ref: str, by: By) -> str:
    """Delete a channel (by id or name) with its routes; its id."""
    async with services.configuring() as session:
        row = await admin.channel(session, tenant, ref)
        audit.record(session, tenant, by, "channel.remove", _channel_data(row))
        await session.delete(row)
    return row.id


async def add_route(services: Configures, tenant: str, spec: RouteSpec, by: By) -> RouteInfo:
    """A route to the channel the spec names (id or name)."""
    async with services.configuring() as session:
        channel = await admin.channel(session, tenant, spec.channel or "")
        row = new_route(tenant, spec, channel, by.actor)
        await policies.require(session, tenant, row.escalation_policy)
        await windows.require(session, tenant, row)
        session.add(row)
        await session.flush()
        audit.record(session, tenant, by, "route.create", _route_data(row, channel.name))
        made = route_info(row)
    return made


async def remove_route(services: Configures, tenant: str, ref: str, by: By) -> str:
    """Delete a route by id or a unique prefix of it; its id."""
    async with services.configuring() as session:
        row = await admin.route(session, tenant, ref)
        channel = await session.get(Channel, row.channel_id)
        name = channel.name if channel else row.channel_id
        audit.record(session, tenant, by, "route.remove", _route_data(row, name))
        await session.delete(row)
    return row.id


async def _here(session: Any, place: Place, config: dict[str, Any] | None = None) -> Channel:
    """The channel of a place, made on first use under a name not taken yet."""
    if place.integration_id is None:
        raise admin.NotFound("this workspace has no connected integration to post with")
    found = await config_repo.channel_at(session, place.tenant, place.platform, place.target)
    if found is not None:
        if config is not None:
            found.config = config
            found.is_active = True
        return found
    name = f"{place.platform}:{place.name or place.target}"[:200]
    taken = {c.name for c in await admin.channels(session, place.tenant)}
    if name in taken:
        name = f"{name} ({place.target[-12:]})"
    return await admin.add_channel(
        session,
        Channel(
            tenant_id=place.tenant,
            name=name,
            type=place.platform,
            integration_id=place.integration_id,
            target=place.target,
            config=config or {},
            rate_per_minute=TYPES[place.platform].rate_per_minute,
        ),
    )


async def subscribe(services: Configures, place: Place, spec: RouteSpec, actor: str) -> RouteInfo:
    """Route matching alerts to where the command was typed."""
    async with services.configuring() as session:
        channel = await _here(session, place)
        route = new_route(place.tenant, spec, channel, actor)
        await policies.require(session, place.tenant, route.escalation_policy)
        session.add(route)
        await session.flush()
        by = By(actor, place.platform)
        audit.record(session, place.tenant, by, "route.create", _route_data(route, channel.name))
        made = route_info(route)
    return made


async def admin_channel_here(services: Configures, place: Place, actor: str) -> str:
    """Make where the command was typed the admins' channel, audited; its channel id."""
    async with services.configuring() as session:
        channel = await _here(session, place)
        await config_repo.set_admin_channel(session, place.tenant, channel.id)
        session.add(
            alerts_repo.audit_row(
                place.tenant, "admins.channel", actor, place.platform, {"channel": channel.id}
            )
        )
    return channel.id


async def conversation_joined(
    services: Configures, place: Place, config: dict[str, Any], by: By
) -> None:
    """The bot was added to a conversation: keep it (and how to reach it) as a channel."""
    async with services.configuring() as session:
        row = await _here(session, place, config)
        audit.record(session, place.tenant, by, "channel.joined", _channel_data(row))


async def conversation_left(services: Configures, platform: str, target: str, by: By) -> None:
    """The bot was removed from a conversation: stop delivering there."""
    async with services.configuring() as session:
        for tenant, name in await config_repo.deactivate_channels_at(session, platform, target):
            audit.record(session, tenant, by, "channel.left", {"channel": name})
