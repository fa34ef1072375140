"""The console's on-call page: who is on call in each schedule over the next two weeks, drawn
as a timeline (a bar per shift, in the schedule's own days), not a table of timestamps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core import oncall
from bot.http.app_keys import SERVICES
from bot.http.console import render, signed_in

DAYS = 14


def _hue(name: str) -> int:
    """A steady colour per person, so the same person looks the same in every schedule."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % 360


def drawn(found: oncall.Timeline, now: datetime) -> dict[str, Any]:
    """A schedule's timeline as the template draws it: bars and day marks, in per cent."""
    span = (found.end - found.start).total_seconds()
    zone = ZoneInfo(found.time_zone)

    def at(moment: datetime) -> float:
        return round(100 * (moment - found.start).total_seconds() / span, 3)

    bars = [
        {
            "person": s.person,
            "left": at(s.start),
            "width": max(0.2, at(s.end) - at(s.start)),
            "hue": _hue(s.person) if s.person else None,
            "overridden": s.overridden,
            "from": s.start.astimezone(zone).strftime("%a %d %b %H:%M"),
            "to": s.end.astimezone(zone).strftime("%a %d %b %H:%M"),
            "now": s.start <= now < s.end,
        }
        for s in found.shifts
    ]
    days = []
    local = found.start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    while local.astimezone(UTC) < found.end:
        local += timedelta(days=1)
        midnight = local.replace(tzinfo=zone)  # the day's own offset, across a DST change
        if found.start < midnight.astimezone(UTC) < found.end:
            days.append({"left": at(midnight.astimezone(UTC)), "label": midnight.strftime("%a %d")})
    return {"name": found.name, "time_zone": found.time_zone, "bars": bars, "days": days}


async def schedules_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    now = datetime.now(UTC)
    tenant = session.tenant or request.query.get("tenant", "default")[:64]
    found = await oncall.timelines(request.app[SERVICES], tenant, now, DAYS)
    return render(request, "schedules.html", schedules=[drawn(t, now) for t in found], days=DAYS)


def register(app: web.Application) -> None:
    app.router.add_get("/ui/schedules", schedules_page)
