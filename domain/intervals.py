"""Named time intervals in Prometheus Alertmanager's `time_intervals` syntax: recurring
maintenance windows and working hours that routes use as `mute_time_intervals` and
`active_time_intervals`.

An interval is a list of specs; a moment is inside when any spec holds. A spec's fields are
lists (`times`, `weekdays`, `days_of_month`, `months`, `years`); a field holds when any of its
items does, a missing field always holds, and every given field must hold. Times are
`{"start_time": "09:00", "end_time": "17:00"}`, the end excluded (`24:00` allowed); weekdays
`monday` or `monday:friday`; days of the month `1`, `1:5`, `-1` (the last), `-7:-1`; months
`january`, `1`, `january:march`; years `2027`, `2027:2028`; all ranges include both ends.
`location` (an IANA zone, UTC by default) is where the clock and the calendar are read, so a
window at 02:00 in Europe/Berlin stays at 02:00 local across a daylight-saving change.
Standard library only (`zoneinfo`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = tuple(m.lower() for m in calendar.month_name[1:])
FIELDS = ("times", "weekdays", "days_of_month", "months", "years", "location")
UTC_ZONE = ZoneInfo("UTC")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


class IntervalError(ValueError):
    """A time interval that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Spec:
    """One spec of an interval, its ranges already read."""

    times: tuple[tuple[int, int], ...] = ()  # minutes of the day, [start, end)
    weekdays: tuple[tuple[int, int], ...] = ()  # 0 Monday, inclusive
    days_of_month: tuple[tuple[int, int], ...] = ()  # may be negative, inclusive
    months: tuple[tuple[int, int], ...] = ()
    years: tuple[tuple[int, int], ...] = ()
    zone: ZoneInfo = UTC_ZONE

    def holds(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if self.times and not any(a <= minute < b for a, b in self.times):
            return False
        if self.weekdays and not any(a <= local.weekday() <= b for a, b in self.weekdays):
            return False
        if self.days_of_month:
            last = calendar.monthrange(local.year, local.month)[1]
            day = local.day
            if not any(_day(a, last) <= day <= _day(b, last) for a, b in self.days_of_month):
                return False
        if self.months and not any(a <= local.month <= b for a, b in self.months):
            return False
        return not self.years or any(a <= local.year <= b for a, b in self.years)


def _day(value: int, last: int) -> int:
    return last + 1 + value if value < 0 else value


def _minutes(text: object, where: str) -> int:
    if not isinstance(text, str) or not _CLOCK.fullmatch(text):
        raise IntervalError(f"{where}: a time of day such as 09:00 (24:00 for the end)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _range(text: object, where: str, read: Any) -> tuple[int, int]:
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise IntervalError(f"{where}: a value or a range a:b")
    first, _, second = text.strip().lower().partition(":")
    a = read(first, where)
    b = read(second, where) if second else a
    if not _ordered(a, b):
        raise IntervalError(f"{where}: {text!r} ends before it starts")
    return a, b


def _ordered(a: int, b: int) -> bool:
    return a <= b or (a > 0 > b)  # `25:-1` is a range to the month's last day


def _weekday(word: str, where: str) -> int:
    if word not in WEEKDAYS:
        raise IntervalError(f"{where}: {word!r} is not a weekday (monday ... sunday)")
    return WEEKDAYS.index(word)


def _month(word: str, where: str) -> int:
    if word.isdigit() and 1 <= int(word) <= 12:
        return int(word)
    if word not in MONTHS:
        raise IntervalError(f"{where}: {word!r} is not a month (january ... december, 1 ... 12)")
    return MONTHS.index(word) + 1


def _day_of_month(word: str, where: str) -> int:
    try:
        value = int(word)
    except ValueError:
        said = f"{word!r} is not a day of the month (1 ... 31, -1)"
        raise IntervalError(f"{where}: {said}") from None
    if value == 0 or not -31 <= value <= 31:
        raise IntervalError(f"{where}: days of the month are 1 to 31, or -1 to -31 from the end")
    return value


def _year(word: str, where: str) -> int:
    if not word.isdigit() or not 1970 <= int(word) <= 9999:
        raise IntervalError(f"{where}: {word!r} is not a year")
    return int(word)


def _spec(raw: object, where: str) -> Spec:
    if not isinstance(raw, dict):
        raise IntervalError(f"{where}: an object with times, weekdays, days_of_month, months...")
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise IntervalError(f"{where}.{sorted(unknown)[0]}: not a field of a time interval")
    lists: dict[str, list[Any]] = {}
    for name in FIELDS[:-1]:
        value = raw.get(name) or []
        if not isinstance(value, list):
            raise IntervalError(f"{where}.{name}: a list")
        lists[name] = value
    times = []
    for n, item in enumerate(lists["times"]):
        at = f"{where}.times[{n}]"
        if not isinstance(item, dict) or set(item) != {"start_time", "end_time"}:
            raise IntervalError(f"{at}: {{start_time: '09:00', end_time: '17:00'}}")
        start, end = _minutes(item["start_time"], at), _minutes(item["end_time"], at)
        if start == 24 * 60 or not start < end:
            raise IntervalError(f"{at}: the end comes after the start, within one day")
        times.append((start, end))
    try:
        zone = ZoneInfo(str(raw.get("location") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise IntervalError(
            f"{where}.location: {raw.get('location')!r} is not a time zone"
        ) from None

    def ranges(name: str, read: Any) -> tuple[tuple[int, int], ...]:
        return tuple(_range(x, f"{where}.{name}[{n}]", read) for n, x in enumerate(lists[name]))

    return Spec(
        times=tuple(times),
        weekdays=ranges("weekdays", _weekday),
        days_of_month=ranges("days_of_month", _day_of_month),
        months=ranges("months", _month),
        years=ranges("years", _year),
        zone=zone,
    )


def interval_from(raw: object, where: str = "time_intervals") -> tuple[Spec, ...]:
    """An interval's specs from its list; IntervalError names the first field that is wrong."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= 50:
        raise IntervalError(f"{where}: a list of 1 to 50 specs")
    return tuple(_spec(item, f"{where}[{n}]") for n, item in enumerate(raw))


def inside(specs: tuple[Spec, ...], moment: datetime) -> bool:
    """Whether the moment (aware) is inside the interval."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return any(spec.holds(moment) for spec in specs)
