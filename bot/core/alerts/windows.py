"""Named time intervals (maintenance windows, working hours) as admins keep them: listed,
added and removed over REST, each change audited; a route may be quiet inside some of them
(`mute_time_intervals`) or heard only inside others (`active_time_intervals`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import audit
from bot.core.deps import Configures
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.specs.noise import TimeIntervalSpec
from domain import By
from domain.intervals import IntervalError, interval_from
from storage import alerts as alerts_repo
from storage.db import Database
from storage.schema import Route, TimeInterval, utcnow

FIELDS = ("mute_time_intervals", "active_time_intervals")


def checked(spec: TimeIntervalSpec) -> dict[str, Any]:
    """`{"name", "time_intervals": [...]}` as stored, checked."""
    name = spec.name.strip()
    if not 0 < len(name) <= 100:
        raise InvalidRequest("name: 1 to 100 characters")
    try:
        interval_from(spec.time_intervals)
    except IntervalError as exc:
        raise InvalidRequest(str(exc)) from None
    return {"name": name, "time_intervals": spec.time_intervals}


def route_names(value: object, field: str) -> list[str] | None:
    """A route's list of interval names, or None."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest(f"{field}: a list of time interval names")
    return list(dict.fromkeys(value))


async def require(session: AsyncSession, tenant: str, route: Route) -> None:
    """A route names only intervals the tenant has."""
    named = [*(route.mute_time_intervals or []), *(route.active_time_intervals or [])]
    if not named:
        return
    have = set(
        (
            await session.scalars(
                select(TimeInterval.name).where(
                    TimeInterval.tenant_id == tenant, TimeInterval.name.in_(named)
                )
            )
        ).all()
    )
    missing = [n for n in named if n not in have]
    if missing:
        raise InvalidRequest(f"no time interval {missing[0][:100]!r} (add it first)")


def document(row: TimeInterval) -> dict[str, Any]:
    return {"name": row.name, "time_intervals": list(row.time_intervals)}


async def listed(db: Database, tenant: str) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await session.scalars(
            select(TimeInterval).where(TimeInterval.tenant_id == tenant).order_by(TimeInterval.name)
        )
        return [document(r) for r in rows.all()]


async def create(deps: Configures, tenant: str, spec: TimeIntervalSpec, by: By) -> dict[str, Any]:
    wanted = checked(spec)
    async with deps.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        taken = await session.scalar(
            select(TimeInterval.id).where(
                TimeInterval.tenant_id == tenant, TimeInterval.name == wanted["name"]
            )
        )
        if taken:
            raise Conflict(f"there is already a time interval named {wanted['name']!r}")
        row = TimeInterval(
            tenant_id=tenant, created_by=by.actor[:255], created_at=utcnow(), **wanted
        )
        session.add(row)
        audit.record(session, tenant, by, "time_interval.create", {"name": wanted["name"]})
        made = document(row)
    return made


async def remove(deps: Configures, tenant: str, name: str, by: By) -> None:
    async with deps.configuring() as session:
        row = await session.scalar(
            select(TimeInterval).where(TimeInterval.tenant_id == tenant, TimeInterval.name == name)
        )
        if row is None:
            raise NotFound(f"no time interval {name[:100]!r}")
        for route in (await session.scalars(select(Route).where(Route.tenant_id == tenant))).all():
            if name in [*(route.mute_time_intervals or []), *(route.active_time_intervals or [])]:
                raise Conflict(f"route {route.id[:8]} uses {name!r}: change or remove it first")
        await session.delete(row)
        audit.record(session, tenant, by, "time_interval.remove", {"name": name})
