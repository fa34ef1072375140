"""`chatops config apply`: make the database match a configuration file, in one transaction.

The file is the one `chatops config export` writes. Everything in it is checked before anything
is written; a mistake is one line naming its place (`tenants.default.routes[3].channel: no
channel "ops"`) and changes nothing. The plan is what applying does: the changes are made in a
transaction and described as they are made, and a dry run rolls that transaction back, so the
plan printed is exactly what an apply would do.

Integrations and channels are known by name, routes by where they send and what they match
(channel, event glob, source glob, user, escalation level, default); their other fields are
changed in place. Without `prune` nothing missing from the file is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError
from adapters.kinds import AdapterType
from adapters.registry import adapter_type
from bot.core import config_heartbeats, config_noise, config_oncall
from bot.core.alerts import windows
from bot.core.audit import differences
from bot.core.errors import ConfigError as ConfigError
from bot.core.errors import InvalidRequest
from bot.core.integrations.specs import new_channel, new_route
from bot.core.paging import policies
from bot.core.services import Services
from bot.infra.settings import PREFIX, Settings
from cards.redact import is_url
from domain import grouping
from storage import admin
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import tenants as tenants_repo
from storage.schema import (
    Channel,
    Integration,
    IntegrationDefault,
    Route,
    UserOverride,
    utcnow,
)

MAX_BYTES = 1024 * 1024  # a configuration file of more than this is refused unread
VARIABLE = re.compile(r"\$\{(CHATOPS_SECRET_[A-Z0-9_]+)\}")
DIRECTIONS = ("inbound", "outbound", "both")
VERBS = {"+": "create", "~": "change", "-": "delete"}
OVERRIDE_FIELDS = ("enabled", "priority", "retry_count", "retry_delay_seconds", "config")


# --- reading ---------------------------------------------------------------------------------


MAX_DEPTH = 64  # nested mappings and lists: a configuration needs a handful


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML without aliases, and nested at most MAX_DEPTH deep.

    An alias repeats a node by reference, so a file of a few hundred bytes can stand for
    billions of nodes (a "billion laughs"); a configuration never needs one. Both are refused
    while the file is composed, before anything walks the tree.
    """

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ConfigError(
                f"line {mark.line + 1}, column {mark.column + 1}: YAML aliases (*name) are "
                "not accepted in a configuration file; write the value out"
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse(text: str | bytes, source: str) -> dict[str, Any]:
    """The YAML document of a configuration file; ConfigError for anything that is not one.

    The error never quotes the file: it may not be a configuration at all (a password file
    given by mistake), and its lines could be secrets."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} bytes; a configuration file is at most 1 MB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(f"{source}: YAML syntax error at {where}: {exc.problem}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{source}: not YAML") from None
    except (ValueError, RecursionError) as exc:  # a number too long to read, say
        raise ConfigError(f"{source}: cannot be read ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with `version` and `tenants`")
    return document


# The bot's own settings are never read into a configuration, whoever applies it: a file
# naming the encryption key would otherwise copy it into a setting anyone can read back.
RESERVED = frozenset(PREFIX + name.upper() for name in Settings.model_fields)
OPERATOR_ONLY = (
    "variables are read from the environment only when the operator applies a file "
    "(`chatops config apply` or the operator's API token); send the value itself, or leave "
    "the variable where a value is already stored to keep it"
)


class _Keep:
    """A variable a tenant's key left in place: the stored value stays as it is."""


KEEP = _Keep()


@dataclass(frozen=True)
class Variables:
    """Where `${CHATOPS_SECRET_X}` comes from: the operator's environment, or nowhere.

    `env` is None when a tenant's key applies the file: then a variable may only stand for a
    value already stored (it is kept), and nothing is read from the bot's environment. Either
    way a variable fills only a secret (a secret setting, a capability URL), never a plain
    field anyone can read back, and never names one of the bot's own settings.
    """

    env: Mapping[str, str] | None

    def fill(self, value: Any, place: str, *, secret: bool, stored: bool = False) -> Any:
        """`value` with its variables filled, or KEEP; ConfigError when it may not be."""
        if not isinstance(value, str) or "${" not in value:
            return value
        names = VARIABLE.findall(value)
        if not names:
            raise ConfigError(f"{place}: a variable is ${{CHATOPS_SECRET_<NAME>}} (A-Z, 0-9, _)")
        for name in names:
            if name in RESERVED:
                raise ConfigError(
                    f"{place}: {name} is one of the bot's own settings and is never read "
                    "into a configuration"
                )
        if not secret:
            raise ConfigError(
                f"{place}: a variable (${{{names[0]}}}) fills only a secret setting; "
                "write this value itself"
            )
        if self.env is None:
            if stored and VARIABLE.fullmatch(value):
                return KEEP
            raise ConfigError(f"{place}: ${{{names[0]}}}: {OPERATOR_ONLY}")
        env = self.env

        def given(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{place}: {name} is not set in the environment")
            return env[name]

        return VARIABLE.sub(given, value)


# --- the shape of the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A key of a section: its type, as words for errors, and whether it must be there."""

    kinds: tuple[type, ...]
    words: str
    required: bool = False


TEXT = Field((str,), "text")
NEEDED_TEXT = Field((str,), "text", required=True)
FLAG = Field((bool,), "true or false")
WHOLE = Field((int,), "a whole number")
TEXTS = Field((list,), "a list of text")
MAPPING = Field((dict,), "a mapping")
ANY_LIST = Field((list,), "a list")

SECTIONS: dict[str, dict[str, Field]] = {
    "top": {
        "version": Field((int,), "1", required=True),
        "integration_defaults": MAPPING,
        "tenants": Field((dict,), "a mapping of tenant names", required=True),
    },
    "tenant": {
        "admins": TEXTS,
        "admin_channel": TEXT,
        "preferences": MAPPING,
        "integrations": ANY_LIST,
        "channels": ANY_LIST,
        "routes": ANY_LIST,
        "user_overrides": MAPPING,
        "people": ANY_LIST,
        "schedules": ANY_LIST,
        "escalation_policies": ANY_LIST,
        "inhibit_rules": ANY_LIST,
        "time_intervals": ANY_LIST,
        "silences": ANY_LIST,
        "heartbeats": ANY_LIST,
    },
    "integration": {
        "name": NEEDED_TEXT,
        "type": NEEDED_TEXT,
        "enabled": FLAG,
        "description": TEXT,
        "settings": MAPPING,
        "sync": MAPPING,
    },
    "sync": {"enabled": FLAG, "interval_minutes": WHOLE, "direction": TEXT},
    "channel": {
        "name": NEEDED_TEXT,
        "type": TEXT,
        "integration": TEXT,
        "target": TEXT,
        "rate_per_minute": WHOLE,
        "enabled": FLAG,
        "config": MAPPING,
    },
    "route": {
        "channel": NEEDED_TEXT,
        "event_glob": TEXT,
        "min_priority": TEXT,
        "stakeholders": TEXTS,
        "source_glob": TEXT,
        "user": TEXT,
        "escalation_level": WHOLE,
        "default": FLAG,
        "actions": TEXTS,
        "escalation_policy": TEXT,
        "matchers": TEXTS,
        "continue": FLAG,
        "mute_time_intervals": TEXTS,
        "active_time_intervals": TEXTS,
        "group_by": TEXTS,
        "group_wait": TEXT,
        "group_interval": TEXT,
        "repeat_interval": TEXT,
        "enabled": FLAG,
    },
    "override": {
        "enabled": FLAG,
        "priority": WHOLE,
        "retry_count": WHOLE,
        "retry_delay_seconds": WHOLE,
        "config": MAPPING,
    },
}


def checked(value: Any, section: str, place: str) -> dict[str, Any]:
    """`value` as a mapping of the section's keys, each of its type; ConfigError otherwise."""
    if not isinstance(value, dict):
        raise ConfigError(f"{place}: expected a mapping, got {_kind_of(value)}")
    fields = SECTIONS[section]
    for key, item in value.items():
        spec = fields.get(str(key))
        if spec is None:
            raise ConfigError(f"{place}.{key}: unknown key (known: {', '.join(fields)})")
        wrong = isinstance(item, bool) and bool not in spec.kinds
        if wrong or not isinstance(item, spec.kinds):
            raise ConfigError(f"{place}.{key}: expected {spec.words}, got {_kind_of(item)}")
        if spec is TEXTS and isinstance(item, list) and not all(isinstance(x, str) for x in item):
            raise ConfigError(f"{place}.{key}: expected a list of text")
    for key, spec in fields.items():
        if spec.required and key not in value:
            raise ConfigError(f"{place}.{key}: required")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text"}.get(
        type(value), "a list" if isinstance(value, list) else "a mapping"
    )


# --- the changes -----------------------------------------------------------------------------


@dataclass
class Change:
    """One line of the plan: `+ create`, `~ change (field: old → new)` or `- delete`."""

    op: str  # + ~ -
    what: str  # integration "Ops Hook" in default
    fields: list[str] = field(default_factory=list)

    def line(self) -> str:
        verb = VERBS[self.op]
        detail = f" ({'; '.join(self.fields)})" if self.fields else ""
        return f"{self.op} {verb} {self.what}{detail}"


@dataclass
class Applier:
    """Makes one tenant's part of the database match the file, inside the caller's transaction."""

    services: Services
    session: AsyncSession
    actor: str
    prune: bool
    variables: Variables
    changes: list[Change] = field(default_factory=list)

    def record(self, tenant: str, op: str, what: str, lines: list[str] | None = None) -> None:
        """A change made by a section applied elsewhere (the on-call ones)."""
        self._record(tenant, Change(op, what, lines or []))

    def _record(self, tenant: str, change: Change) -> None:
        """A change made: kept for the plan and audited like the REST ones."""
        self.changes.append(change)
        verb = f"config.{VERBS[change.op]}"
        data = {"change": change.line()}
        self.session.add(alerts_repo.audit_row(tenant, verb, self.actor, "config", data))

    async def tenant(self, name: str, body: dict[str, Any], place: str) -> None:
        await alerts_repo.ensure_tenant(self.session, name)
        integrations = await self.integrations(name, body.get("integrations"), place)
        channels = await self.channels(name, body.get("channels"), integrations, place)
        if "people" in body:
            await config_oncall.people(self, name, body["people"], place)
        if "schedules" in body:
            await config_oncall.schedules(self, name, body["schedules"], place)
        if "escalation_policies" in body:
            await config_oncall.escalation_policies(self, name, body["escalation_policies"], place)
        if "time_intervals" in body:
            await config_noise.time_intervals(self, name, body["time_intervals"], place)
        if "inhibit_rules" in body:
            await config_noise.inhibit_rules(self, name, body["inhibit_rules"], place)
        if "silences" in body:
            await config_noise.silences(self, name, body["silences"], place)
        if "heartbeats" in body:
            await config_heartbeats.heartbeats(self, name, body["heartbeats"], place)
        await self.routes(name, body.get("routes"), channels, place)
        if "admins" in body:
            await self.admins(name, body["admins"], f"{place}.admins")
        if "admin_channel" in body:
            await self.admin_channel(name, body["admin_channel"], channels, place)
        if "preferences" in body:
            await self.preferences(name, body["preferences"], f"{place}.preferences")
        if "user_overrides" in body:
            await self.overrides(name, body["user_overrides"], f"{place}.user_overrides")

    # integrations

    async def integrations(
        self, tenant: str, entries: list[Any] | None, place: str
    ) -> dict[str, Integration]:
        rows = {r.name: r for r in await admin.integrations(self.session, tenant)}
        seen: set[str] = set()
        for n, raw in enumerate(entries or []):
            where = f"{place}.integrations[{n}]"
            entry = checked(raw, "integration", where)
            name = _once(entry["name"].strip(), seen, f"{where}.name")
            rows[name] = await self.integration(tenant, entry, rows.get(name), where)
        if self.prune:
            for name in sorted(set(rows) - seen):
                row = rows.pop(name)
                gone = await admin.cascade_of(self.session, row)
                await admin.remove_integration(self.session, row)
                taken = [f"with channel {c!r}" for c in gone.channels]
                if gone.routes:
                    taken.append(f"{gone.routes} route(s) of those channels")
                if gone.syncs:
                    taken.append(f"{gone.syncs} sync run(s) of history")
                if gone.webhooks:
                    taken.append(f"{gone.webhooks} webhook record(s)")
                self._record(tenant, Change("-", f'integration "{name}" in {tenant}', taken))
        return rows

    def _settings(
        self, kind: AdapterType, entry: dict[str, Any], where: str, stored: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        secret = {s.name for s in kind.settings if s.secret}
        given: dict[str, Any] = {}
        for key, value in (entry.get("settings") or {}).items():
            name = str(key)
            filled = self.variables.fill(
                value, f"{where}.settings.{name}", secret=name in secret, stored=name in stored
            )
            given[name] = stored[name] if filled is KEEP else filled
        try:
            return kind.split(given)
        except AdapterError as exc:
            raise ConfigError(f"{where}.settings: {exc}") from None

    async def integration(
        self, tenant: str, entry: dict[str, Any], row: Integration | None, where: str
    ) -> Integration:
        try:
            kind = adapter_type(entry["type"])
        except AdapterError as exc:
            raise ConfigError(f"{where}.type: {exc}") from None
        same_type = row is not None and row.type == kind.id
        current_secrets = self.services.keyring.decrypt(row.credentials) if row else {}
        config, secrets = self._settings(kind, entry, where, current_secrets if same_type else {})
        sync = checked(entry.get("sync") or {}, "sync", f"{where}.sync")
        direction = sync.get("direction", "both")
        if direction not in DIRECTIONS:
            raise ConfigError(f"{where}.sync.direction: one of {', '.join(DIRECTIONS)}")
        minutes = sync.get("interval_minutes", 60)
        if not 1 <= minutes <= 10_080:
            raise ConfigError(f"{where}.sync.interval_minutes: 1 to 10080")
        if sync.get("enabled") and not kind.syncs:
            raise ConfigError(f"{where}.sync.enabled: {kind.name} integrations do not sync")
        wanted = {
            "enabled": entry.get("enabled", True),
            "description": entry.get("description"),
            "sync.enabled": sync.get("enabled", False),
            "sync.interval_minutes": minutes,
            "sync.direction": direction,
            **{f"settings.{k}": v for k, v in sorted({**config, **secrets}.items())},
        }
        name = entry["name"].strip()
        if row is None:
            row = Integration(
                tenant_id=tenant,
                name=name,
                type=kind.id,
                provider_status=kind.status,
                audience=kind.audience,
                capabilities=list(kind.capabilities),
                created_by=self.actor,
            )
            self.session.add(row)
            self._fill(row, kind, config, secrets, wanted)
            await self.session.flush()
            self._record(tenant, Change("+", f'integration "{name}" ({kind.id}) in {tenant}'))
            return row
        if row.type != kind.id:
            raise ConfigError(
                f"{where}.type: {name!r} is a {row.type} integration; a type cannot change "
                "(remove it, or give the new one another name)"
            )
        have = {
            "enabled": row.is_active,
            "description": row.description,
            "sync.enabled": row.sync_enabled,
            "sync.interval_minutes": row.sync_interval,
            "sync.direction": row.sync_direction,
            **{
                f"settings.{k}": v
                for k, v in sorted({**(row.config or {}), **current_secrets}.items())
            },
        }
        lines = differences(have, wanted, frozenset({*secrets, *current_secrets}))
        if lines:
            self._fill(row, kind, config, secrets, wanted)
            row.updated_at = utcnow()
            self._record(tenant, Change("~", f'integration "{name}" in {tenant}', lines))
        return row

    def _fill(
        self,
        row: Integration,
        kind: AdapterType,
        config: dict[str, Any],
        secrets: dict[str, Any],
        wanted: dict[str, Any],
    ) -> None:
        row.config = config
        row.credentials = self.services.keyring.encrypt(secrets) if secrets else None
        row.is_active = bool(wanted["enabled"])
        row.description = wanted["description"]
        row.sync_enabled = bool(wanted["sync.enabled"])
        row.sync_interval = int(wanted["sync.interval_minutes"])
        row.sync_direction = str(wanted["sync.direction"])

    # channels

    async def channels(
        self,
        tenant: str,
        entries: list[Any] | None,
        integrations: dict[str, Integration],
        place: str,
    ) -> dict[str, Channel]:
        rows = {c.name: c for c in await admin.channels(self.session, tenant)}
        by_id = {i.id: name for name, i in integrations.items()}
        seen: set[str] = set()
        for n, raw in enumerate(entries or []):
            where = f"{place}.channels[{n}]"
            entry = checked(raw, "channel", where)
            name = _once(entry["name"].strip(), seen, f"{where}.name")
            integration = None
            if entry.get("integration"):
                integration = integrations.get(entry["integration"])
                if integration is None:
                    raise ConfigError(
                        f'{where}.integration: no integration "{entry["integration"]}"'
                    )
                if entry.get("type") not in (None, integration.type):
                    raise ConfigError(
                        f"{where}.type: {entry['type']} does not match its integration's "
                        f"type, {integration.type}"
                    )
            wanted_keys = ("name", "type", "target", "rate_per_minute")
            body: dict[str, Any] = {k: entry[k] for k in wanted_keys if k in entry}
            stored = rows.get(name)
            if "target" in body:  # a capability URL is exported as a variable: a secret
                target = self.variables.fill(
                    body["target"],
                    f"{where}.target",
                    secret=True,
                    stored=bool(stored and stored.target),
                )
                body["target"] = stored.target if target is KEEP and stored else target
            try:
                fresh = new_channel(tenant, body, integration)
            except InvalidRequest as exc:
                raise ConfigError(f"{where}: {exc}") from None
            fresh.is_active = entry.get("enabled", True)
            fresh.config = dict(entry.get("config") or {})
            row = rows.get(name)
            if row is None:
                fresh.name = name
                rows[name] = await admin.add_channel(self.session, fresh)
                self._record(tenant, Change("+", f'channel "{name}" in {tenant}'))
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
                self._record(tenant, Change("~", f'channel "{name}" in {tenant}', lines))
        if self.prune:
            for name in sorted(set(rows) - seen):
                await self.session.delete(rows.pop(name))
                self._record(tenant, Change("-", f'channel "{name}" in {tenant}'))
        await self.session.flush()
        return rows

    # routes

    async def routes(
        self, tenant: str, entries: list[Any] | None, channels: dict[str, Channel], place: str
    ) -> None:
        names = {c.id: name for name, c in channels.items()}
        rows = list(await admin.routes(self.session, tenant))
        current = {_route_key(r, names): r for r in rows}
        seen: set[tuple[Any, ...]] = set()
        start = utcnow()
        for n, raw in enumerate(entries or []):
            where = f"{place}.routes[{n}]"
            entry = checked(raw, "route", where)
            channel = channels.get(entry["channel"])
            if channel is None:
                raise ConfigError(f'{where}.channel: no channel "{entry["channel"]}"')
            body = {
                "event_glob": entry.get("event_glob", "*"),
                "min_priority": entry.get("min_priority", "INFO"),
                "stakeholders": entry.get("stakeholders", []),
                "source_glob": entry.get("source_glob", "*"),
                "user_id": entry.get("user"),
                "escalation_level": entry.get("escalation_level", 0),
                "default": entry.get("default", False),
                "actions": entry.get("actions"),
                "escalation_policy": entry.get("escalation_policy"),
                "matchers": entry.get("matchers"),
                "continue": entry.get("continue", True),
                "mute_time_intervals": entry.get("mute_time_intervals"),
                "active_time_intervals": entry.get("active_time_intervals"),
                **{f: entry.get(f) for f in grouping.FIELDS},
            }
            try:
                fresh = new_route(tenant, body, channel, self.actor)
                await policies.require(self.session, tenant, fresh.escalation_policy)
                await windows.require(self.session, tenant, fresh)
            except InvalidRequest as exc:
                raise ConfigError(f"{where}: {exc}") from None
            fresh.is_active = entry.get("enabled", True)
            key = _route_key(fresh, names)
            if key in seen:
                raise ConfigError(f"{where}: the same route as an earlier one")
            seen.add(key)
            what = f'route to "{entry["channel"]}" ({fresh.event_glob}) in {tenant}'
            row = current.get(key)
            if row is None:
                fresh.created_at = start + timedelta(microseconds=n)  # the file's order
                self.session.add(fresh)
                self._record(tenant, Change("+", what))
                continue
            have = _route_fields(row)
            lines = differences(have, _route_fields(fresh))
            if lines:
                row.min_priority, row.stakeholders = fresh.min_priority, fresh.stakeholders
                row.actions, row.is_active = fresh.actions, fresh.is_active
                row.escalation_policy = fresh.escalation_policy
                row.continues = fresh.continues
                row.mute_time_intervals = fresh.mute_time_intervals
                row.active_time_intervals = fresh.active_time_intervals
                row.grouping = fresh.grouping
                self._record(tenant, Change("~", what, lines))
        if self.prune:
            for key, row in current.items():
                if key not in seen:
                    await self.session.delete(row)
                    name = names.get(row.channel_id, row.channel_id)
                    self._record(
                        tenant, Change("-", f'route to "{name}" ({row.event_glob}) in {tenant}')
                    )
        await self.session.flush()

    # the rest

    async def admins(self, tenant: str, listed: list[str], where: str) -> None:
        wanted = []
        for n, item in enumerate(listed):
            platform, _, user = item.partition(":")
            if platform not in ("slack", "teams") or not user:
                raise ConfigError(f"{where}[{n}]: `slack:<user id>` or `teams:<AAD object id>`")
            wanted.append((platform, user))
        have = await config_repo.listed_admins(self.session, tenant)
        for platform, user in wanted:
            if (platform, user) not in have:
                await tenants_repo.add_admin(self.session, tenant, platform, user, self.actor)
                self._record(tenant, Change("+", f"admin {platform}:{user} in {tenant}"))
        if self.prune:
            for platform, user in have:
                if (platform, user) not in wanted:
                    await tenants_repo.remove_admin(self.session, tenant, platform, user)
                    self._record(tenant, Change("-", f"admin {platform}:{user} in {tenant}"))

    async def admin_channel(
        self, tenant: str, name: str, channels: dict[str, Channel], place: str
    ) -> None:
        channel = channels.get(name)
        if channel is None:
            raise ConfigError(f'{place}.admin_channel: no channel "{name}"')
        current = await config_repo.admin_channel(self.session, tenant)
        if current != channel.id:
            names = {c.id: n for n, c in channels.items()}
            await config_repo.set_admin_channel(self.session, tenant, channel.id)
            old = names.get(current or "", "none")
            self._record(tenant, Change("~", f"admins' channel of {tenant}", [f"{old} → {name}"]))

    async def preferences(self, tenant: str, values: dict[str, Any], where: str) -> None:
        for key, value in values.items():
            if key not in config_repo.PREFERENCE_FIELDS:
                known = ", ".join(config_repo.PREFERENCE_FIELDS)
                raise ConfigError(f"{where}.{key}: unknown preference (known: {known})")
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{key}: expected true or false")
        have = await config_repo.preferences(self.session, tenant)
        lines = differences(have or {}, {**(have or {}), **values}) if have else []
        if have is None or lines:
            await config_repo.set_preference(self.session, tenant, values, self.actor)
            self._record(
                tenant,
                Change("~" if have else "+", f"preferences of {tenant}", lines),
            )

    async def overrides(self, tenant: str, users: dict[str, Any], where: str) -> None:
        have = await config_repo.all_overrides(self.session, tenant)
        for user, kinds in users.items():
            if not isinstance(kinds, dict):
                raise ConfigError(f"{where}.{user}: expected a mapping of integration types")
            for kind, raw in kinds.items():
                values = checked(raw, "override", f"{where}.{user}.{kind}")
                current = have.get(str(user), {}).get(str(kind))
                if current == values:
                    continue
                await self.session.execute(
                    delete(UserOverride).where(
                        UserOverride.tenant_id == tenant,
                        UserOverride.user_id == str(user),
                        UserOverride.integration_type == str(kind),
                    )
                )
                self.session.add(
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
                self._record(tenant, Change(op, f"{kind} override of {user} in {tenant}", lines))
        if self.prune:
            for user, kinds in have.items():
                for kind in kinds:
                    if kind not in (users.get(user) or {}):
                        await config_repo.remove_overrides(self.session, tenant, user, kind)
                        self._record(tenant, Change("-", f"{kind} override of {user} in {tenant}"))


def _once(name: str, seen: set[str], where: str) -> str:
    """`name`, noted as seen; ConfigError when an earlier entry had it."""
    if name in seen:
        raise ConfigError(f"{where}: {name!r} appears twice")
    seen.add(name)
    return name


def _route_key(row: Route, channels: dict[str, str]) -> tuple[Any, ...]:
    return (
        channels.get(row.channel_id, row.channel_id),
        row.event_glob,
        row.source_glob,
        row.user_id,
        row.escalation_level,
        bool(row.is_default),
        tuple(row.matchers or ()),
    )


def _route_fields(row: Route) -> dict[str, Any]:
    return {
        "min_priority": row.min_priority,
        "stakeholders": list(row.stakeholders or []),
        "actions": row.actions,
        "escalation_policy": row.escalation_policy,
        "continue": row.continues is not False,
        "mute_time_intervals": row.mute_time_intervals or [],
        "active_time_intervals": row.active_time_intervals or [],
        "grouping": row.grouping or {},
        "enabled": row.is_active,
    }


async def _defaults(applier: Applier, values: dict[str, Any]) -> None:
    """System-wide integration defaults, by integration type."""
    stored = await config_repo.stored_defaults(applier.session)
    for kind, raw in values.items():
        where = f"integration_defaults.{kind}"
        try:
            adapter_type(str(kind))
        except AdapterError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        entry = checked(raw, "override", where)
        wanted = {
            "enabled": entry.get("enabled", True),
            "priority": entry.get("priority", 0),
            "retry_count": entry.get("retry_count", 3),
            "retry_delay_seconds": entry.get("retry_delay_seconds", 30),
            "config": dict(entry.get("config") or {}),
        }
        if stored.get(kind) == wanted:
            continue
        row = await applier.session.get(IntegrationDefault, kind)
        if row is None:
            applier.session.add(IntegrationDefault(integration_type=kind, **wanted))
        else:
            for name, value in wanted.items():
                setattr(row, name, value)
        lines = differences(stored.get(kind) or {}, wanted)
        applier.changes.append(
            Change("~" if kind in stored else "+", f"integration defaults of {kind}", lines)
        )


@dataclass(frozen=True)
class Outcome:
    """What an apply did (or, on a dry run, would do)."""

    changes: list[Change]
    dry_run: bool

    @property
    def applied(self) -> bool:
        """Whether the database changed."""
        return bool(self.changes) and not self.dry_run

    def lines(self) -> list[str]:
        return [c.line() for c in self.changes] or ["no changes"]


async def apply(
    services: Services,
    document: dict[str, Any],
    *,
    source: str,
    prune: bool = False,
    tenant: str | None = None,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """Make the database match `document` (of one tenant, when given) in one transaction.

    `env` is the operator's environment, which `${CHATOPS_SECRET_*}` variables are read from;
    None (a tenant's key) reads none. Every change is audited with the actor
    `config:<source>`; a dry run rolls back."""
    top = checked(document, "top", "(file)")
    if top["version"] != 1:
        raise ConfigError(f"version: {top['version']} is not a version this bot reads (1)")
    tenants = top["tenants"]
    if tenant is not None:
        if tenant not in tenants:
            raise ConfigError(f"tenants: the file has no tenant {tenant!r}")
        tenants = {tenant: tenants[tenant]}
    actor = f"config:{source}"[:255]
    async with services.db.session() as session:
        transaction = await session.begin()
        try:
            applier = Applier(services, session, actor, prune, Variables(env))
            if "integration_defaults" in top and tenant is None:
                await _defaults(applier, top["integration_defaults"])
            for name, body in tenants.items():
                where = f"tenants.{name}"
                if not isinstance(name, str) or not 1 <= len(name) <= 64:
                    raise ConfigError(f"{where}: a tenant name is 1 to 64 characters")
                await applier.tenant(name, checked(body or {}, "tenant", where), where)
            await session.flush()
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run or not applier.changes:
            await transaction.rollback()
        else:
            await transaction.commit()
    if applier.changes and not dry_run:
        services.config_changed()
    return Outcome(applier.changes, dry_run)
