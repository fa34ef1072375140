"""The configuration file's tenant sections beyond integrations and channels: routes (known by
where they send and what they match), admins and the admin channel, notice preferences and
per-user overrides; each made to match the file inside the applier's transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete

from bot.core.alerts import windows
from bot.core.audit import differences
from bot.core.config_oncall import Applier
from bot.core.config_reading import KEEP, Variables, parsed
from bot.core.errors import ConfigError, InvalidRequest
from bot.core.integrations.specs import new_channel, new_route
from bot.core.paging import policies
from bot.core.specs.routes import FILE_NAMES, ChannelSpec, RouteSpec, route_info
from bot.core.specs.users import OverrideSpec
from cards.redact import is_url
from storage import admin
from storage import config as config_repo
from storage import tenants as tenants_repo
from storage.schema import Channel, Integration, Route, UserOverride, utcnow


class FileApplier(Applier, Protocol):
    """The applier as channels need it: with the file's variables (a target may be one)."""

    variables: Variables


async def routes(
    applier: Applier,
    tenant: str,
    entries: list[Any] | None,
    channels: dict[str, Channel],
    place: str,
) -> None:
    names = {c.id: name for name, c in channels.items()}
    rows = list(await admin.routes(applier.session, tenant))
    current = {_route_key(r, names): r for r in rows}
    seen: set[tuple[Any, ...]] = set()
    start = utcnow()
    for n, raw in enumerate(entries or []):
        where = f"{place}.routes[{n}]"
        spec = parsed(raw, RouteSpec, where)
        channel = channels.get(spec.channel or "")
        if channel is None:
            raise ConfigError(f'{where}.channel: no channel "{spec.channel or ""}"')
        try:
            fresh = new_route(tenant, spec, channel, applier.actor)
            await policies.require(applier.session, tenant, fresh.escalation_policy)
            await windows.require(applier.session, tenant, fresh)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}: {exc}") from None
        key = _route_key(fresh, names)
        if key in seen:
            raise ConfigError(f"{where}: the same route as an earlier one")
        seen.add(key)
        what = f'route to "{spec.channel}" ({fresh.event_glob}) in {tenant}'
        row = current.get(key)
        if row is None:
            fresh.created_at = start + timedelta(microseconds=n)  # the file's order
            applier.session.add(fresh)
            applier.record(tenant, "+", what)
            continue
        have = _route_fields(row)
        lines = differences(have, _route_fields(fresh))
        if lines:
            for column in ROUTE_COLUMNS:  # what the changeable fields are stored in
                setattr(row, column, getattr(fresh, column))
            applier.record(tenant, "~", what, lines)
    if applier.prune:
        for key, row in current.items():
            if key not in seen:
                await applier.session.delete(row)
                name = names.get(row.channel_id, row.channel_id)
                applier.record(tenant, "-", f'route to "{name}" ({row.event_glob}) in {tenant}')
    await applier.session.flush()


async def admins(applier: Applier, tenant: str, listed: list[str], where: str) -> None:
    wanted = []
    for n, item in enumerate(listed):
        platform, _, user = item.partition(":")
        if platform not in ("slack", "teams") or not user:
            raise ConfigError(f"{where}[{n}]: `slack:<user id>` or `teams:<AAD object id>`")
        wanted.append((platform, user))
    have = await config_repo.listed_admins(applier.session, tenant)
    for platform, user in wanted:
        if (platform, user) not in have:
            await tenants_repo.add_admin(applier.session, tenant, platform, user, applier.actor)
            applier.record(tenant, "+", f"admin {platform}:{user} in {tenant}")
    if applier.prune:
        for platform, user in have:
            if (platform, user) not in wanted:
                await tenants_repo.remove_admin(applier.session, tenant, platform, user)
                applier.record(tenant, "-", f"admin {platform}:{user} in {tenant}")


async def admin_channel(
    applier: Applier, tenant: str, name: str, channels: dict[str, Channel], place: str
) -> None:
    channel = channels.get(name)
    if channel is None:
        raise ConfigError(f'{place}.admin_channel: no channel "{name}"')
    current = await config_repo.admin_channel(applier.session, tenant)
    if current != channel.id:
        names = {c.id: n for n, c in channels.items()}
        await config_repo.set_admin_channel(applier.session, tenant, channel.id)
        old = names.get(current or "", "none")
        applier.record(tenant, "~", f"admins' channel of {tenant}", [f"{old} → {name}"])


async def preferences(applier: Applier, tenant: str, values: dict[str, Any], where: str) -> None:
    for key, value in values.items():
        if key not in config_repo.PREFERENCE_FIELDS:
            known = ", ".join(config_repo.PREFERENCE_FIELDS)
            raise ConfigError(f"{where}.{key}: unknown preference (known: {known})")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{key}: expected true or false")
    have = await config_repo.preferences(applier.session, tenant)
    lines = differences(have or {}, {**(have or {}), **values}) if have else []
    if have is None or lines:
        await config_repo.set_preference(applier.session, tenant, values, applier.actor)
        applier.record(
            tenant,
            "~" if have else "+",
            f"preferences of {tenant}",
            lines,
        )


async def overrides(applier: Applier, tenant: str, users: dict[str, Any], where: str) -> None:
    have = await config_repo.all_overrides(applier.session, tenant)
    for user, kinds in users.items():
        if not isinstance(kinds, dict):
            raise ConfigError(f"{where}.{user}: expected a mapping of integration types")
        for kind, raw in kinds.items():
            spec = parsed(raw, OverrideSpec, f"{where}.{user}.{kind}")
            if spec.integration_type is not None:
                raise ConfigError(f"{where}.{user}.{kind}.integration_type: it is the key above")
            values = spec.model_dump(exclude={"integration_type"}, exclude_none=True)
            current = have.get(str(user), {}).get(str(kind))
            if current == values:
                continue
            await applier.session.execute(
                delete(UserOverride).where(
                    UserOverride.tenant_id == tenant,
                    UserOverride.user_id == str(user),
                    UserOverride.integration_type == str(kind),
                )
            )
            applier.session.add(
                UserOverride(
                    tenant_id=tenant,
                    user_id=str(user),
                    integration_type=str(kind),
                    config=dict(values.get("config") or {}),
                    **{k: values.get(k) for k in OVERRIDE_FIELDS if k != "config"},
                )
            )
            lines = differences(current or {}, values)
            op = "~" if current is not None else "+"
            applier.record(tenant, op, f"{kind} override of {user} in {tenant}", lines)
    if applier.prune:
        for user, kinds in have.items():
            for kind in kinds:
                if kind not in (users.get(user) or {}):
                    await config_repo.remove_overrides(applier.session, tenant, user, kind)
                    applier.record(tenant, "-", f"{kind} override of {user} in {tenant}")


# What tells two routes apart in the file (the rest of a route's spec is changed in place).
ROUTE_IDENTITY = (
    "channel",
    "event_glob",
    "source_glob",
    "user_id",
    "escalation_level",
    "default",
    "matchers",
)
ROUTE_CHANGES = tuple(n for n in RouteSpec.model_fields if n not in ROUTE_IDENTITY)
ROUTE_COLUMNS = (  # the columns those are stored in
    "min_priority",
    "stakeholders",
    "actions",
    "escalation_policy",
    "continues",
    "mute_time_intervals",
    "active_time_intervals",
    "grouping",
    "is_active",
)


def _route_key(row: Route, channels: dict[str, str]) -> tuple[Any, ...]:
    info = route_info(row)
    named = {"channel": channels.get(row.channel_id, row.channel_id)}
    return tuple(
        tuple(value) if isinstance(value := named.get(n, getattr(info, n)), list) else value
        for n in ROUTE_IDENTITY
    )


def _route_fields(row: Route) -> dict[str, Any]:
    """The route's changeable fields, by the file's names."""
    info = route_info(row)
    return {
        FILE_NAMES.get(n, RouteSpec.model_fields[n].alias or n): getattr(info, n)
        for n in ROUTE_CHANGES
    }


OVERRIDE_FIELDS = ("enabled", "priority", "retry_count", "retry_delay_seconds", "config")


async def channels(
    applier: FileApplier,
    tenant: str,
    entries: list[Any] | None,
    integrations: dict[str, Integration],
    place: str,
) -> dict[str, Channel]:
    rows = {c.name: c for c in await admin.channels(applier.session, tenant)}
    by_id = {i.id: name for name, i in integrations.items()}
    seen: set[str] = set()
    for n, raw in enumerate(entries or []):
        where = f"{place}.channels[{n}]"
        spec = parsed(raw, ChannelSpec, where)
        name = once(spec.name.strip(), seen, f"{where}.name")
        integration = None
        if spec.integration:
            integration = integrations.get(spec.integration)
            if integration is None:
                raise ConfigError(f'{where}.integration: no integration "{spec.integration}"')
            if spec.type not in (None, integration.type):
                raise ConfigError(
                    f"{where}.type: {spec.type} does not match its integration's "
                    f"type, {integration.type}"
                )
        stored = rows.get(name)
        if "target" in raw:  # a capability URL is exported as a variable: a secret
            target = applier.variables.fill(
                spec.target,
                f"{where}.target",
                secret=True,
                stored=bool(stored and stored.target),
            )
            filled = stored.target if target is KEEP and stored else target
            spec = spec.model_copy(update={"target": filled})
        try:
            fresh = new_channel(tenant, spec, integration)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}: {exc}") from None
        row = rows.get(name)
        if row is None:
            fresh.name = name
            rows[name] = await admin.add_channel(applier.session, fresh)
            applier.record(tenant, "+", f'channel "{name}" in {tenant}')
            continue
        have = {
            "type": row.type,
            "integration": by_id.get(row.integration_id or ""),
            "target": row.target,
            "rate_per_minute": row.rate_per_minute,
            "enabled": row.is_active,
            "config": row.config or {},
        }
        wanted = {
            "type": fresh.type,
            "integration": integration.name if integration else None,
            "target": fresh.target,
            "rate_per_minute": fresh.rate_per_minute,
            "enabled": fresh.is_active,
            "config": fresh.config,
        }
        hidden = frozenset({"target"} if is_url(row.target) or is_url(fresh.target) else ())
        lines = differences(have, wanted, hidden)
        if lines:
            row.type, row.integration_id = fresh.type, fresh.integration_id
            row.target, row.rate_per_minute = fresh.target, fresh.rate_per_minute
            row.is_active, row.config = fresh.is_active, fresh.config
            applier.record(tenant, "~", f'channel "{name}" in {tenant}', lines)
    if applier.prune:
        for name in sorted(set(rows) - seen):
            await applier.session.delete(rows.pop(name))
            applier.record(tenant, "-", f'channel "{name}" in {tenant}')
    await applier.session.flush()
    return rows


def once(name: str, seen: set[str], where: str) -> str:
    """`name`, noted as seen; ConfigError when an earlier entry had it."""
    if name in seen:
        raise ConfigError(f"{where}: {name!r} appears twice")
    seen.add(name)
    return name
