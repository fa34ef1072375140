"""On-call schedules as the engine computes with them: rows to `domain.schedules` records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from domain.schedules import Override, Schedule, layer_from
from storage.schema import OnCallSchedule, ScheduleOverride


async def load_schedule(session: Any, row: OnCallSchedule, since: datetime) -> Schedule:
    """The schedule with its overrides that end after `since`."""
    overrides = await session.scalars(
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule_id == row.id, ScheduleOverride.ends_at > since)
        .order_by(ScheduleOverride.created_at)
    )
    layers = tuple(layer_from(raw, "layer") for raw in row.layers)
    return Schedule(
        row.name,
        row.time_zone,
        layers,
        tuple(Override(o.person, o.starts_at, o.ends_at) for o in overrides.all()),
    )
