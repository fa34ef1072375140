"""Heartbeats (a dead-man's switch): something is expected to ping every `interval`; once it
has been silent for `interval + grace`, an alert says so, and the next ping resolves it.

The names and shapes are those of the REST API and the configuration file::

    {"name": "backup-job", "interval": "15m", "grace": "5m", "priority": "HIGH",
     "watchdog": "Watchdog"}

`watchdog` names an Alertmanager alert (its `alertname`) that counts as a ping when it arrives at
`/hooks/alertmanager`: the always-firing `Watchdog` of the kube-prometheus rules.

A heartbeat is never late because the bot itself was not running: silence is counted from the
last ping or from when the checker started, whichever is later, so after a restart every
heartbeat has a whole interval (and its grace) to ping again.

Standard library only; durations are `domain.parse_duration`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import Priority, parse_duration, spoken_duration

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
FIELDS = ("name", "interval", "grace", "priority", "watchdog")
LEAST = timedelta(seconds=10)
MOST = timedelta(days=31)
DEFAULT_GRACE = timedelta(minutes=1)


class HeartbeatError(ValueError):
    """A heartbeat that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Spec:
    name: str
    interval: timedelta
    grace: timedelta = DEFAULT_GRACE
    priority: Priority = Priority.HIGH
    watchdog: str | None = None


def spec_from(fields: Mapping[str, Any]) -> Spec:
    """A heartbeat from a request body or a file entry; HeartbeatError names the field."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise HeartbeatError(f"{unknown[0]}: not a field of a heartbeat ({', '.join(FIELDS)})")
    name = fields.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise HeartbeatError("name: letters, digits, '.', '_' and '-', at most 100")
    interval = _duration(fields.get("interval"), "interval", LEAST)
    grace = (
        _duration(fields["grace"], "grace", timedelta(0))
        if fields.get("grace") is not None
        else DEFAULT_GRACE
    )
    raw = str(fields.get("priority") or "HIGH").upper()
    if raw not in Priority.__members__:
        raise HeartbeatError(f"priority: one of {' '.join(p.value for p in Priority)}")
    watchdog = fields.get("watchdog")
    if watchdog is not None and (not isinstance(watchdog, str) or not 0 < len(watchdog) <= 255):
        raise HeartbeatError("watchdog: the alertname of an Alertmanager alert")
    return Spec(name, interval, grace, Priority(raw), watchdog)


def document(spec: Spec) -> dict[str, Any]:
    """The spec as written in the file and shown over REST."""
    found: dict[str, Any] = {
        "name": spec.name,
        "interval": spoken_duration(spec.interval),
        "grace": spoken_duration(spec.grace),
        "priority": spec.priority.value,
    }
    if spec.watchdog:
        found["watchdog"] = spec.watchdog
    return found


def silent_for(last_ping: datetime | None, watching_since: datetime, now: datetime) -> timedelta:
    """How long the heartbeat has been silent, as far as this checker can tell: from its last
    ping, or from when the checker started if that is later (the bot was not listening)."""
    since = max(last_ping, watching_since) if last_ping is not None else watching_since
    return max(timedelta(0), now - since)


def late(spec: Spec, silence: timedelta) -> bool:
    """Whether a heartbeat silent this long is missed: past its interval and grace."""
    return silence > spec.interval + spec.grace


def missed_title(spec: Spec, silence: timedelta) -> str:
    """`No heartbeat from backup-job for 26 min, expected every 15 min`."""
    return (
        f"No heartbeat from {spec.name} for {_minutes(silence)}, "
        f"expected every {_minutes(spec.interval)}"
    )


def _minutes(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return spoken_duration(timedelta(minutes=seconds // 60))


def _duration(value: object, field: str, least: timedelta) -> timedelta:
    if not isinstance(value, str):
        raise HeartbeatError(f"{field}: a duration such as 15m or 1h")
    try:
        found = parse_duration(value)
    except ValueError as exc:
        raise HeartbeatError(f"{field}: {exc}") from None
    if not least <= found <= MOST:
        raise HeartbeatError(f"{field}: between {spoken_duration(least)} and 31d")
    return found
