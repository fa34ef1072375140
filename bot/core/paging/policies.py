"""Escalation policies as admins keep them: listed, added, replaced and removed, each change
audited in its transaction. A policy's targets must exist when it is saved (people, schedules,
channels of the tenant); a route names a policy that exists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import audit
from bot.core.deps import Queues
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.oncall import NAME
from bot.core.paging import engine
from bot.core.specs.oncall import PolicySpec
from domain import AlertState, By
from domain.escalation import Policy, PolicyError, policy_document, policy_from
from storage import alerts as alerts_repo
from storage.schema import Channel, EscalationPolicy, OnCallSchedule, Person, Route, utcnow


def parse(spec: PolicySpec) -> Policy:
    """A policy from its spec (a request body or a file entry); InvalidRequest names the
    wrong field."""
    if spec.name is None or not NAME.fullmatch(spec.name.strip()):
        raise InvalidRequest("name: 1 to 100 letters, digits, spaces or ._@- characters")
    try:
        return policy_from(spec.model_dump(exclude_none=True))
    except PolicyError as exc:
        raise InvalidRequest(str(exc)) from None


async def check_targets(session: AsyncSession, tenant: str, policy: Policy) -> None:
    """Every person, schedule and channel the policy names exists in the tenant."""
    tables = {
        "person": (Person.name, Person.tenant_id),
        "schedule": (OnCallSchedule.name, OnCallSchedule.tenant_id),
        "channel": (Channel.name, Channel.tenant_id),
    }
    for n, step in enumerate(policy.steps):
        for target in step.targets:
            column, owner = tables[target.kind]
            found = await session.scalar(
                select(column).where(owner == tenant, column == target.name).limit(1)
            )
            if found is None:
                raise InvalidRequest(
                    f"steps[{n}].notify: no {target.kind} {target.name!r} (add it first)"
                )


async def exists(session: AsyncSession, tenant: str, name: str) -> bool:
    found = await session.scalar(
        select(EscalationPolicy.id).where(
            EscalationPolicy.tenant_id == tenant, EscalationPolicy.name == name
        )
    )
    return found is not None


async def require(session: AsyncSession, tenant: str, name: str | None) -> None:
    """A route may name only a policy that exists."""
    if name is not None and not await exists(session, tenant, name):
        raise InvalidRequest(f"escalation_policy: no policy {name[:100]!r} (add it first)")


async def listed(services: Queues, tenant: str) -> list[dict[str, Any]]:
    """The tenant's policies, by name, as documents."""
    async with services.db.session() as session:
        rows = await session.scalars(
            select(EscalationPolicy)
            .where(EscalationPolicy.tenant_id == tenant)
            .order_by(EscalationPolicy.name)
        )
        return [dict(r.document) for r in rows.all()]


async def one(services: Queues, tenant: str, name: str) -> dict[str, Any]:
    async with services.db.session() as session:
        row = await _row(session, tenant, name)
        return dict(row.document)


async def _row(session: AsyncSession, tenant: str, name: str) -> EscalationPolicy:
    row = await session.scalar(
        select(EscalationPolicy).where(
            EscalationPolicy.tenant_id == tenant, EscalationPolicy.name == name
        )
    )
    if row is None:
        raise NotFound(f"no escalation policy {name[:100]!r}")
    return row


async def save(
    services: Queues, tenant: str, spec: PolicySpec, by: By, *, replace: str | None = None
) -> dict[str, Any]:
    """Add a policy, or replace the one named `replace` (the spec's name, when it has none);
    its document."""
    if replace is not None and spec.name is None:
        spec = spec.model_copy(update={"name": replace})
    policy = parse(spec)
    document = policy_document(policy)
    async with services.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        await check_targets(session, tenant, policy)
        if replace is None:
            if await exists(session, tenant, policy.name):
                raise Conflict(f"there is already an escalation policy named {policy.name!r}")
            session.add(
                EscalationPolicy(
                    tenant_id=tenant, name=policy.name, document=document, created_by=by.actor
                )
            )
            audit.record(session, tenant, by, "policy.create", {"policy": policy.name})
        else:
            row = await _row(session, tenant, replace)
            if policy.name != replace:
                raise InvalidRequest("name: a policy keeps its name (add a new one instead)")
            changes = audit.differences({"policy": row.document}, {"policy": document})
            row.document = document
            row.updated_at = utcnow()
            audit.record(
                session, tenant, by, "policy.update", {"policy": policy.name, "changes": changes}
            )
    return document


async def remove(services: Queues, tenant: str, name: str, by: By) -> None:
    """Delete a policy no route names; alerts already running it finish as they started."""
    async with services.configuring() as session:
        row = await _row(session, tenant, name)
        used = await session.scalar(
            select(Route.id).where(Route.tenant_id == tenant, Route.escalation_policy == name)
        )
        if used is not None:
            raise Conflict(f"route {used[:8]} uses {name!r}: change or remove it first")
        await session.delete(row)
        audit.record(session, tenant, by, "policy.remove", {"policy": name})


async def page(
    services: Queues,
    tenant: str,
    alert_id: str,
    *,
    person: str | None = None,
    schedule: str | None = None,
    by: str,
) -> str:
    """Page a person, or whoever is on call in a schedule, for an open alert now; who."""
    async with services.db.session() as session, session.begin():
        alert = await alerts_repo.get(session, alert_id)
        if alert is None or alert.tenant != tenant:
            raise NotFound(f"no alert {alert_id[:40]!r}")
        if alert.state is AlertState.RESOLVED:
            raise InvalidRequest("that alert is resolved already")
        whom, problems = await engine.page_by_hand(session, alert, person, schedule, utcnow(), by)
        if whom is None:
            raise InvalidRequest("; ".join(problems))
    services.ingest.wake_workers()
    return whom
