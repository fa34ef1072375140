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
from bot.core.config_reading import parsed
from bot.core.errors import ConfigError, InvalidRequest
from bot.core.oncall import NAME, PERSON_FIELDS, SCHEDULE_EXTRAS, person_values, schedule_values
from bot.core.paging import policies as policy_service
from bot.core.specs.oncall import PersonSpec, PolicySpec, ScheduleSpec
from domain.escalation import policy_document
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


def _named(name: str | None, where: str) -> str:
    if name is None or not NAME.fullmatch(name):
        raise ConfigError(f"{where}.name: 1 to 100 letters, digits, spaces or ._@- characters")
    return name


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
        person = parsed(raw, PersonSpec, where)
        name = _named(person.name, where)
        _seen(name, seen, where)
        try:
            wanted = person_values(person)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}.{exc}") from None
        what = f'person "{name}" in {tenant}'
        row = rows.get(name)
        if row is None:
            session.add(Person(tenant_id=tenant, name=name, created_by=applier.actor, **wanted))
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
        schedule = parsed(raw, ScheduleSpec, where)
        name = _named(schedule.name, where)
        _seen(name, seen, where)
        try:
            wanted = schedule_values(schedule, known)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}.{exc}") from None
        what = f'schedule "{name}" in {tenant}'
        row = rows.get(name)
        if row is None:
            session.add(
                OnCallSchedule(
                    tenant_id=tenant,
                    name=name,
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
            for key, value in wanted.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
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
        spec = parsed(raw, PolicySpec, where)
        _seen(_named(spec.name, where), seen, where)
        try:
            policy = policy_service.parse(spec)
            await policy_service.check_targets(session, tenant, policy)
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
