"""Changing and removing people and schedules, each audited in its transaction. Something
still named elsewhere (a person in a layer or a policy, a schedule in a policy) is not removed:
the answer says where it is named."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import audit
from bot.core.deps import Configures
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.oncall import person_of_row
from bot.core.specs.oncall import PersonChange
from domain import By
from domain.schedules import Person, ScheduleError, zone_of
from storage.schema import EscalationPolicy, OnCallSchedule
from storage.schema import Person as PersonRow


async def _named_in(services: Configures, tenant: str, kind: str, name: str) -> str | None:
    """Where a person or schedule is named: `schedule db`, `policy db-critical`, or None."""
    async with services.db.session() as session:
        if kind == "person":
            schedules = await session.scalars(
                select(OnCallSchedule).where(OnCallSchedule.tenant_id == tenant)
            )
            for row in schedules.all():
                if any(name in layer.get("people", []) for layer in row.layers):
                    return f"schedule {row.name!r}"
        policies = await session.scalars(
            select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant)
        )
        for policy in policies.all():
            for step in policy.document.get("steps", []):
                if {kind: name} in step.get("notify", []):
                    return f"escalation policy {policy.name!r}"
    return None


async def change_person(
    services: Configures, tenant: str, name: str, change: PersonChange, by: By
) -> Person:
    """Change some of a person's fields (not the name); `null` or "" clears one."""
    given = {k: getattr(change, k) or None for k in change.model_fields_set}
    if "time_zone" in given:
        try:
            zone_of(str(given["time_zone"] or ""))
        except ScheduleError as exc:
            raise InvalidRequest(str(exc)) from None
    async with services.configuring() as session:
        row = await session.scalar(
            select(PersonRow).where(PersonRow.tenant_id == tenant, PersonRow.name == name)
        )
        if row is None:
            raise NotFound(f"no person {name[:100]!r}")
        before = {k: getattr(row, k) for k in given}
        for key, value in given.items():
            setattr(row, key, value)
        changes = audit.differences(before, {k: getattr(row, k) for k in given})
        if changes:
            audit.record(session, tenant, by, "person.update", {"person": name, "changes": changes})
        return person_of_row(row)


async def remove_person(services: Configures, tenant: str, name: str, by: By) -> None:
    where = await _named_in(services, tenant, "person", name)
    if where:
        raise Conflict(f"{name!r} is named in {where}: take them out of it first")
    async with services.configuring() as session:
        row = await session.scalar(
            select(PersonRow).where(PersonRow.tenant_id == tenant, PersonRow.name == name)
        )
        if row is None:
            raise NotFound(f"no person {name[:100]!r}")
        await session.delete(row)  # their direct-message channels go with them
        audit.record(session, tenant, by, "person.remove", {"person": name})


async def remove_schedule(services: Configures, tenant: str, name: str, by: By) -> None:
    where = await _named_in(services, tenant, "schedule", name)
    if where:
        raise Conflict(f"schedule {name!r} is named in {where}: change the policy first")
    async with services.db.session() as session, session.begin():
        row = await session.scalar(
            select(OnCallSchedule).where(
                OnCallSchedule.tenant_id == tenant, OnCallSchedule.name == name
            )
        )
        if row is None:
            raise NotFound(f"no schedule {name[:100]!r}")
        await session.delete(row)
        audit.record(session, tenant, by, "schedule.remove", {"schedule": name})
