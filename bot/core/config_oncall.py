"""The on-call sections of the configuration file: `people`, `schedules` and
`escalation_policies`, exported and applied in the REST API's own shapes.

Applied in that order, before routes (a route names a policy; a policy names people,
schedules and channels; a schedule's layers name people). Overrides of a schedule are
day-to-day state, not configuration: they are neither exported nor touched by an apply.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import differences
from bot.core.errors import ConfigError, InvalidRequest
from bot.core.oncall import NAME, PERSON_FIELDS, SCHEDULE_EXTRAS, schedule_extras
from bot.core.paging import policies as policy_service
from domain.escalation import FIELDS, PolicyError, policy_document, policy_from
from domain.schedules import ScheduleError, layer_document, layer_from, zone_of
from storage.schema import EscalationPolicy, OnCallSchedule, Person, utcnow


class Applier(Protocol):
    """What these sections need of the file's applier: its transaction, who applies, whether
    it prunes, and where changes are recorded (and audited)."""

    session: AsyncSession
    actor: str
    prune: bool

    def record(self, tenant: str, op: str, what: str, lines: list[str] | None = None) -> None:
        """A change made, for the plan and the audit."""
        ...


SCHEDULE_FIELDS = ("name", "time_zone", "layers", *SCHEDULE_EXTRAS)


def person_entry(row: Person) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": row.name, "time_zone": row.time_zone}
    for field in PERSON_FIELDS[1:]:
        if getattr(row, field):
            entry[field] = getattr(row, field)
    return entry


def schedule_entry(row: OnCallSchedule) -> dict[str, Any]:
    entry = {"name": row.name, "time_zone": row.time_zone, "layers": list(row.layers)}
    for field in SCHEDULE_EXTRAS:
        if getattr(row, field):
            entry[field] = getattr(row, field)
    return entry


async def export(session: AsyncSession, tenant: str, entry: dict[str, Any]) -> None:
    """Add the tenant's on-call sections to its export entry (only those it has)."""
    people = (
        await session.scalars(
            select(Person).where(Person.tenant_id == tenant).order_by(Person.name)
        )
    ).all()
    if people:
        entry["people"] = [person_entry(p) for p in people]
    schedules = (
        await session.scalars(
            select(OnCallSchedule)
            .where(OnCallSchedule.tenant_id == tenant)
            .order_by(OnCallSchedule.name)
        )
    ).all()
    if schedules:
        entry["schedules"] = [schedule_entry(s) for s in schedules]
    policies = (
        await session.scalars(
            select(EscalationPolicy)
            .where(EscalationPolicy.tenant_id == tenant)
            .order_by(EscalationPolicy.name)
        )
    ).all()
    if policies:
        entry["escalation_policies"] = [dict(p.document) for p in policies]


def _named(raw: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(allowed)})")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"{where}.name: 1 to 100 letters, digits, spaces or ._@- characters")
    return raw


def _seen(name: str, seen: set[str], where: str) -> None:
    if name in seen:
        raise ConfigError(f"{where}: {name!r} appears twice")
    seen.add(name)


async def people(applier: Applier, tenant: str, entries: list[Any], place: str) -> None:
    session = applier.session
    rows = {
        r.name: r
        for r in (await session.scalars(select(Person).where(Person.tenant_id == tenant))).all()
    }
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.people[{n}]"
        entry = _named(raw, where, ("name", *PERSON_FIELDS))
        _seen(entry["name"], seen, where)
        wanted = {"time_zone": entry.get("time_zone", "UTC")}
        wanted |= {f: entry.get(f) or None for f in PERSON_FIELDS[1:]}
        for key, value in wanted.items():
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise ConfigError(f"{where}.{key}: text of at most 255 characters")
        try:
            zone_of(str(wanted["time_zone"]))
        except ScheduleError as exc:
            raise ConfigError(f"{where}.time_zone: {exc}") from None
        what = f'person "{entry["name"]}" in {tenant}'
        row = rows.get(entry["name"])
        if row is None:
            session.add(
                Person(tenant_id=tenant, name=entry["name"], created_by=applier.actor, **wanted)
            )
            applier.record(tenant, "+", what)
            continue
        have = {k: getattr(row, k) for k in wanted}
        lines = differences(have, wanted)
        if lines:
            for key, value in wanted.items():
                setattr(row, key, value)
            applier.record(tenant, "~", what, lines)
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'person "{name}" in {tenant}')
    await session.flush()


async def schedules(applier: Applier, tenant: str, entries: list[Any], place: str) -> None:
    session = applier.session
    rows = {
        r.name: r
        for r in (
            await session.scalars(select(OnCallSchedule).where(OnCallSchedule.tenant_id == tenant))
        ).all()
    }
    known = set(
        (await session.scalars(select(Person.name).where(Person.tenant_id == tenant))).all()
    )
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.schedules[{n}]"
        entry = _named(raw, where, SCHEDULE_FIELDS)
        _seen(entry["name"], seen, where)
        layers = entry.get("layers")
        if not isinstance(layers, list) or not 1 <= len(layers) <= 10:
            raise ConfigError(f"{where}.layers: a list of 1 to 10 layers")
        try:
            zone_of(str(entry.get("time_zone", "")))
            parsed = [layer_from(x, f"layers[{i}]") for i, x in enumerate(layers)]
        except ScheduleError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        for i, layer in enumerate(parsed):
            missing = [p for p in layer.people if p not in known]
            if missing:
                raise ConfigError(f"{where}.layers[{i}].people: no person {missing[0]!r}")
        zone = str(entry["time_zone"])
        documents = [layer_document(x) for x in parsed]
        try:
            extras = schedule_extras(entry)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}.{exc}") from None
        wanted: dict[str, Any] = {"time_zone": zone, "layers": documents, **extras}
        what = f'schedule "{entry["name"]}" in {tenant}'
        row = rows.get(entry["name"])
        if row is None:
            session.add(
                OnCallSchedule(
                    tenant_id=tenant,
                    name=entry["name"],
                    feed_token=secrets.token_urlsafe(24),
                    created_by=applier.actor,
                    **wanted,
                )
            )
            applier.record(tenant, "+", what)
            continue
        have = {"time_zone": row.time_zone, "layers": row.layers}
        have |= {f: getattr(row, f) for f in SCHEDULE_EXTRAS}
        lines = differences(have, wanted)
        if lines:
            row.time_zone, row.layers, row.updated_at = zone, documents, utcnow()
            row.announce_channel = extras["announce_channel"]
            row.slack_usergroup = extras["slack_usergroup"]
            applier.record(tenant, "~", what, lines)
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'schedule "{name}" in {tenant}')
    await session.flush()


async def escalation_policies(
    applier: Applier, tenant: str, entries: list[Any], place: str
) -> None:
    session = applier.session
    rows = {
        r.name: r
        for r in (
            await session.scalars(
                select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant)
            )
        ).all()
    }
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.escalation_policies[{n}]"
        _seen(_named(raw, where, FIELDS)["name"], seen, where)
        try:
            policy = policy_from(raw)
            await policy_service.check_targets(session, tenant, policy)
        except PolicyError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        except InvalidRequest as exc:
            raise ConfigError(f"{where}: {exc}") from None
        document = policy_document(policy)
        what = f'escalation policy "{policy.name}" in {tenant}'
        row = rows.get(policy.name)
        if row is None:
            session.add(
                EscalationPolicy(
                    tenant_id=tenant, name=policy.name, document=document, created_by=applier.actor
                )
            )
            applier.record(tenant, "+", what)
            continue
        lines = differences({k: row.document.get(k) for k in document}, document)
        if lines:
            row.document, row.updated_at = document, utcnow()
            applier.record(tenant, "~", what, lines)
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'escalation policy "{name}" in {tenant}')
    await session.flush()
