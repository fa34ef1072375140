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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError
from adapters.kinds import AdapterType
from adapters.registry import adapter_type
from bot.core import config_heartbeats, config_noise, config_oncall, config_sections
from bot.core.audit import differences
from bot.core.config_reading import KEEP, ConfigError, Variables, checked, parsed
from bot.core.services import Services
from bot.core.specs.integrations import API_ONLY, MAX_SYNC_INTERVAL, IntegrationSpec
from storage import admin
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage.schema import (
    Integration,
    IntegrationDefault,
    utcnow,
)

VERBS = {"+": "create", "~": "change", "-": "delete"}


# --- the shape of the file ----------------------------------------------------------------------


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
        channels = await config_sections.channels(
            self, name, body.get("channels"), integrations, place
        )
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
        await config_sections.routes(self, name, body.get("routes"), channels, place)
        if "admins" in body:
            await config_sections.admins(self, name, body["admins"], f"{place}.admins")
        if "admin_channel" in body:
            await config_sections.admin_channel(self, name, body["admin_channel"], channels, place)
        if "preferences" in body:
            await config_sections.preferences(
                self, name, body["preferences"], f"{place}.preferences"
            )
        if "user_overrides" in body:
            await config_sections.overrides(
                self, name, body["user_overrides"], f"{place}.user_overrides"
            )

    # integrations

    async def integrations(
        self, tenant: str, entries: list[Any] | None, place: str
    ) -> dict[str, Integration]:
        rows = {r.name: r for r in await admin.integrations(self.session, tenant)}
        seen: set[str] = set()
        for n, raw in enumerate(entries or []):
            where = f"{place}.integrations[{n}]"
            spec = parsed(raw, IntegrationSpec, where)
            name = config_sections.once(spec.name.strip(), seen, f"{where}.name")
            rows[name] = await self.integration(tenant, spec, rows.get(name), where)
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
        self, kind: AdapterType, spec: IntegrationSpec, where: str, stored: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        secret = {s.name for s in kind.settings if s.secret}
        given: dict[str, Any] = {}
        for key, value in (spec.settings or {}).items():
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
        self, tenant: str, spec: IntegrationSpec, row: Integration | None, where: str
    ) -> Integration:
        """The file's integration made or changed to its spec; a field left out of the file
        is its default (the file says the whole integration)."""
        try:
            kind = adapter_type(spec.type)
        except AdapterError as exc:
            raise ConfigError(f"{where}.type: {exc}") from None
        api_only = [f for f in API_ONLY if f in spec.model_fields_set]
        if api_only:
            raise ConfigError(f"{where}.{api_only[0]}: set over the API, not in the file")
        same_type = row is not None and row.type == kind.id
        current_secrets = self.services.keyring.decrypt(row.credentials) if row else {}
        config, secrets = self._settings(kind, spec, where, current_secrets if same_type else {})
        minutes = 60 if spec.sync_interval is None else spec.sync_interval
        if not 1 <= minutes <= MAX_SYNC_INTERVAL:
            raise ConfigError(f"{where}.sync.interval_minutes: 1 to {MAX_SYNC_INTERVAL}")
        if spec.sync_enabled and not kind.syncs:
            raise ConfigError(f"{where}.sync.enabled: {kind.name} integrations do not sync")
        wanted = {
            "enabled": spec.is_active is not False,
            "description": spec.description,
            "sync.enabled": bool(spec.sync_enabled),
            "sync.interval_minutes": minutes,
            "sync.direction": spec.sync_direction or "both",
            **{f"settings.{k}": v for k, v in sorted({**config, **secrets}.items())},
        }
        name = spec.name.strip()
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

    # routes

    # the rest


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
    async with services.configuring(begin=False) as session:  # a commit tells the caches
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
    return Outcome(applier.changes, dry_run)
