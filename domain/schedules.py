"""On-call schedules: who is on call when, computed in the schedule's own time zone.

A schedule has layers; a layer is a rotation (daily, weekly, or every N hours) over an ordered
list of people, with a hand-off time and a start date, and may be limited to some days of the
week and some hours of the day. Higher layers (later in the list) win where they cover;
overrides win over every layer. Hand-offs happen at the local hand-off time whatever the
offset from UTC that day, so a weekly hand-off at Monday 09:00 in Europe/Berlin is 08:00 UTC in
winter and 07:00 UTC in summer. Standard library only (`zoneinfo`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EVERY_HOURS = re.compile(r"(\d{1,3})h")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
MAX_PEOPLE = 100
MAX_LAYERS = 10
MAX_WINDOW = timedelta(days=400)  # the longest stretch a timeline is computed for


class ScheduleError(ValueError):
    """A schedule or layer that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Layer:
    """One rotation: `rotation` is daily, weekly or `<N>h`; `people` take turns in order."""

    rotation: str
    handoff: time
    start: date
    people: tuple[str, ...]
    days: frozenset[int] = frozenset(range(7))  # 0 Monday ... 6 Sunday
    hours: tuple[time, time] | None = None  # covers only between these local times

    def period(self) -> timedelta:
        if self.rotation == "daily":
            return timedelta(days=1)
        if self.rotation == "weekly":
            return timedelta(weeks=1)
        found = _EVERY_HOURS.fullmatch(self.rotation)
        assert found is not None
        return timedelta(hours=int(found.group(1)))


@dataclass(frozen=True)
class Override:
    """Someone on call instead of whoever the layers say, from `start` to `end` (UTC)."""

    person: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    """Layers in a time zone; the last layer is the highest."""

    name: str
    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = field(default=())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Shift:
    """Who is on call from `start` to `end` (UTC); `person` None: nobody."""

    person: str | None
    start: datetime
    end: datetime
    overridden: bool = False


def zone_of(name: str, where: str = "time_zone") -> ZoneInfo:
    """An IANA time zone; ScheduleError naming `where` otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{where}: {name!r} is not an IANA time zone (Europe/Berlin, UTC)"
        ) from None


def layer_from(raw: object, where: str) -> Layer:
    """A layer from its document (REST and the configuration file share the shape)."""
    if not isinstance(raw, dict):
        raise ScheduleError(f"{where}: a layer is an object")
    unknown = set(raw) - {"rotation", "handoff", "start", "people", "days", "hours"}
    if unknown:
        raise ScheduleError(f"{where}.{sorted(unknown)[0]}: not a field of a layer")
    rotation = str(raw.get("rotation", "weekly"))
    if rotation not in ("daily", "weekly") and not _EVERY_HOURS.fullmatch(rotation):
        raise ScheduleError(f"{where}.rotation: daily, weekly or <N>h (12h, 8h)")
    if (found := _EVERY_HOURS.fullmatch(rotation)) and not 1 <= int(found.group(1)) <= 168:
        raise ScheduleError(f"{where}.rotation: 1h to 168h")
    clock = _CLOCK.fullmatch(str(raw.get("handoff", "09:00")))
    if clock is None:
        raise ScheduleError(f"{where}.handoff: a local time, HH:MM")
    try:
        start = date.fromisoformat(str(raw.get("start", "")))
    except ValueError:
        raise ScheduleError(f"{where}.start: a date, YYYY-MM-DD") from None
    people = raw.get("people")
    if (
        not isinstance(people, list)
        or not people
        or len(people) > MAX_PEOPLE
        or not all(isinstance(p, str) and p for p in people)
    ):
        raise ScheduleError(f"{where}.people: a list of 1 to {MAX_PEOPLE} people's names")
    days = frozenset(range(7))
    if raw.get("days") is not None:
        named = raw["days"]
        if (
            not isinstance(named, list)
            or not named
            or any(str(d)[:3].lower() not in DAYS for d in named)
        ):
            raise ScheduleError(f"{where}.days: a list of mon, tue, wed, thu, fri, sat, sun")
        days = frozenset(DAYS.index(str(d)[:3].lower()) for d in named)
    hours = None
    if raw.get("hours") is not None:
        span = _HOURS.fullmatch(str(raw["hours"]))
        if span is None:
            raise ScheduleError(f"{where}.hours: a span of local time, 09:00-17:00")
        a, b = time(int(span.group(1)), int(span.group(2))), _end_of(span.group(3), span.group(4))
        if a >= b:
            raise ScheduleError(f"{where}.hours: the span must end after it starts")
        hours = (a, b)
    handoff = time(int(clock.group(1)), int(clock.group(2)))
    return Layer(rotation, handoff, start, tuple(people), days, hours)


def _end_of(hour: str, minute: str) -> time:
    return time.max if hour == "24" else time(int(hour), int(minute))


def layer_document(layer: Layer) -> dict[str, object]:
    """A layer as REST and the configuration file show it."""
    doc: dict[str, object] = {
        "rotation": layer.rotation,
        "handoff": layer.handoff.strftime("%H:%M"),
        "start": layer.start.isoformat(),
        "people": list(layer.people),
    }
    if layer.days != frozenset(range(7)):
        doc["days"] = [DAYS[d] for d in sorted(layer.days)]
    if layer.hours is not None:
        end = "24:00" if layer.hours[1] == time.max else layer.hours[1].strftime("%H:%M")
        doc["hours"] = f"{layer.hours[0].strftime('%H:%M')}-{end}"
    return doc


def _local(zone: ZoneInfo, day: date, clock: time) -> datetime:
    """The UTC instant of a local date and time. In a gap (spring forward) the wall time does
    not exist and the instant after the gap is used; in an overlap, the first of the two."""
    if clock == time.max:
        return _local(zone, day + timedelta(days=1), time(0))
    local = datetime.combine(day, clock, tzinfo=zone)
    back = local.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):  # a gap: move past it
        local = local + (back.utcoffset() or timedelta()) - (local.utcoffset() or timedelta())
    return local.astimezone(UTC)


def _shift_starts(
    layer: Layer, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    """Each hand-off of a layer (instant, who takes over) that matters within [start, end)."""
    origin = _local(zone, layer.start, layer.handoff)
    period = layer.period()
    people = layer.people
    found: list[tuple[datetime, str]] = []
    if layer.rotation in ("daily", "weekly"):  # calendar steps: the local time holds
        step_days = period.days
        local_start = start.astimezone(zone).date()
        first = max(0, (local_start - layer.start).days // step_days - 1)
        k = first
        while True:
            at = _local(zone, layer.start + timedelta(days=k * step_days), layer.handoff)
            if at >= end:
                break
            found.append((at, people[k % len(people)]))
            k += 1
    else:  # every N hours: absolute time
        k = max(0, int((start - origin) / period) - 1)
        while origin + k * period < end:
            found.append((origin + k * period, people[k % len(people)]))
            k += 1
    return found


def _coverage(
    layer: Layer, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans within [start, end) a layer covers, by its days and hours."""
    if layer.days == frozenset(range(7)) and layer.hours is None:
        return [(start, end)]
    spans = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        if day.weekday() in layer.days:
            a, b = layer.hours or (time(0), time.max)
            lo, hi = _local(zone, day, a), _local(zone, day, b)
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                spans.append((lo, hi))
        day += timedelta(days=1)
    return spans


def _layer_at(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    if at < _local(zone, layer.start, layer.handoff):
        return None
    if not any(a <= at < b for a, b in _coverage(layer, zone, at, at + timedelta(seconds=1))):
        return None
    starts = _shift_starts(layer, zone, at - layer.period() * 2, at + timedelta(seconds=1))
    current = [who for when, who in starts if when <= at]
    return current[-1] if current else None


def timeline(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from `start` to `end` (UTC), as consecutive shifts (nobody included)."""
    if end - start > MAX_WINDOW:
        raise ScheduleError(f"a timeline covers at most {MAX_WINDOW.days} days")
    zone = schedule.zone
    edges = {start, end}
    for layer in schedule.layers:
        edges.update(
            when for when, _ in _shift_starts(layer, zone, start, end) if start < when < end
        )
        edges.add(_local(zone, layer.start, layer.handoff))
        for a, b in _coverage(layer, zone, start, end):
            edges.update((a, b))
    for o in schedule.overrides:
        edges.update((o.start, o.end))
    points = sorted(e for e in edges if start <= e <= end)
    shifts: list[Shift] = []
    for a, b in pairwise(points):
        if a >= b:
            continue
        person, overridden = who_at(schedule, a)
        if shifts and shifts[-1].person == person and shifts[-1].overridden == overridden:
            shifts[-1] = Shift(person, shifts[-1].start, b, overridden)
        else:
            shifts.append(Shift(person, a, b, overridden))
    return shifts


def who_at(schedule: Schedule, at: datetime) -> tuple[str | None, bool]:
    """Who is on call at an instant, and whether an override put them there."""
    for o in reversed(schedule.overrides):  # the latest override wins
        if o.start <= at < o.end:
            return o.person, True
    zone = schedule.zone
    for layer in reversed(schedule.layers):  # the highest layer that covers
        person = _layer_at(layer, zone, at)
        if person is not None:
            return person, False
    return None, False


@dataclass(frozen=True)
class Person:
    """Someone who can be on call, and how to reach them."""

    name: str
    time_zone: str = "UTC"
    slack_user_id: str | None = None
    teams_aad_object_id: str | None = None
    email: str | None = None
    phone: str | None = None

    def document(self) -> dict[str, object]:
        return {
            "name": self.name,
            "time_zone": self.time_zone,
            "slack_user_id": self.slack_user_id,
            "teams_aad_object_id": self.teams_aad_object_id,
            "email": self.email,
            "phone": self.phone,
        }


@dataclass(frozen=True)
class OnCall:
    """Who is on call at a moment, until when, and who comes next."""

    person: str | None
    until: datetime
    overridden: bool = False
    next_person: str | None = None
    next_until: datetime | None = None


def on_call(schedule: Schedule, at: datetime, horizon: timedelta = timedelta(days=60)) -> OnCall:
    """Who is on call at `at`, until when (within `horizon`, or until the first layer starts
    when that is later), and the shift after it."""
    zone = schedule.zone
    firsts = [_local(zone, layer.start, layer.handoff) for layer in schedule.layers]
    if firsts and at < min(firsts):  # nobody yet: look as far as the first hand-off and past it
        horizon = max(horizon, min(firsts) - at + timedelta(days=8))
    shifts = timeline(schedule, at, at + min(horizon, MAX_WINDOW))
    now = shifts[0]
    after = shifts[1] if len(shifts) > 1 else None
    return OnCall(
        now.person,
        now.end,
        now.overridden,
        after.person if after else None,
        after.end if after else None,
    )
