"""Grouping alerts into one living card, with Prometheus Alertmanager's names and defaults.

A route may say `group_by` (label names, or `["..."]` for every label). Alerts that route
sends to one channel with the same values of those labels are one group, shown as one card:

- `group_wait` (30s): how long a new group gathers alerts before its card is first posted;
- `group_interval` (5m): the card itself is updated as members arrive or resolve (within the
  channel's rate), and what changed is said as a thread reply at most once per interval;
- `repeat_interval` (4h): while members still fire (not acknowledged, snoozed or silenced),
  a reply under the card says so again after this long without one.

The names and shapes are those of the REST API and the configuration file::

    {"group_by": ["cluster", "alertname"], "group_wait": "30s",
     "group_interval": "5m", "repeat_interval": "4h"}

Standard library only; durations are `domain.parse_duration`'s (`30s`, `5m`, `1h30m`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain import parse_duration
from domain import spoken_duration as spoken
from domain.matchers import NAME

EVERY_LABEL = "..."
FIELDS = ("group_by", "group_wait", "group_interval", "repeat_interval")
DEFAULTS = {
    "group_wait": timedelta(seconds=30),
    "group_interval": timedelta(minutes=5),
    "repeat_interval": timedelta(hours=4),
}
LIMITS = {  # the least and the most each may be
    "group_wait": (timedelta(0), timedelta(hours=1)),
    "group_interval": (timedelta(seconds=1), timedelta(days=1)),
    "repeat_interval": (timedelta(seconds=1), timedelta(days=30)),
}
MAX_LABELS = 20
KEY_MAX = 128  # longer keys are hashed


class GroupingError(ValueError):
    """A grouping that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Grouping:
    """How a route groups its alerts: by which labels, and its three intervals."""

    by: tuple[str, ...]  # label names; (EVERY_LABEL,) for all of them
    wait: timedelta = DEFAULTS["group_wait"]
    interval: timedelta = DEFAULTS["group_interval"]
    repeat: timedelta = DEFAULTS["repeat_interval"]

    def labels_of(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels that make an alert's group: those named that it has (all with `...`)."""
        if self.by == (EVERY_LABEL,):
            return dict(sorted(labels.items()))
        return {name: labels[name] for name in self.by if name in labels}

    def key_of(self, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The group's key (equal for alerts that belong together) and its labels."""
        chosen = self.labels_of(labels)
        key = json.dumps(chosen, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if len(key) > KEY_MAX:
            key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return key, chosen


def grouping_from(fields: Mapping[str, Any]) -> Grouping | None:
    """A route's grouping from its `group_by` and intervals (None when it does not group).

    Intervals without `group_by` are refused, as they would silently do nothing.
    """
    by = fields.get("group_by")
    timed = [f for f in FIELDS[1:] if fields.get(f) is not None]
    if by is None or by == []:
        if timed:
            raise GroupingError(f"{timed[0]}: only with group_by (the labels that make a group)")
        return None
    if not isinstance(by, list) or not all(isinstance(n, str) for n in by):
        raise GroupingError('group_by: a list of label names, or ["..."] for every label')
    if len(by) > MAX_LABELS:
        raise GroupingError(f"group_by: at most {MAX_LABELS} label names")
    names = tuple(dict.fromkeys(by))
    if EVERY_LABEL in names and len(names) > 1:
        raise GroupingError('group_by: "..." stands alone (it means every label)')
    for name in names:
        if name != EVERY_LABEL and not NAME.fullmatch(name):
            raise GroupingError(f"group_by: {name[:40]!r} is not a label name")
    durations = {f: _duration(fields.get(f), f) for f in FIELDS[1:]}
    return Grouping(
        names, durations["group_wait"], durations["group_interval"], durations["repeat_interval"]
    )


def given(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """The grouping fields as written, checked and spoken alike (`300s` is kept as `5m`), for
    storing: intervals left out stay out, so they follow the defaults. None: no grouping."""
    grouping = grouping_from(fields)
    if grouping is None:
        return None
    spoken_all = document(grouping)
    return {k: spoken_all[k] for k in FIELDS if k == "group_by" or fields.get(k) is not None}


def document(grouping: Grouping | None) -> dict[str, Any]:
    """The grouping as stored and shown: `group_by` and every interval, spoken (`5m`)."""
    if grouping is None:
        return {}
    return {
        "group_by": list(grouping.by),
        "group_wait": spoken(grouping.wait),
        "group_interval": spoken(grouping.interval),
        "repeat_interval": spoken(grouping.repeat),
    }


def title(labels: Mapping[str, str]) -> str:
    """What a group card is called: its labels, `cluster=eu-1, alertname=DiskFull`."""
    return ", ".join(f"{k}={v}" for k, v in labels.items()) or "all alerts"


def _duration(value: object, field: str) -> timedelta:
    if value is None:
        return DEFAULTS[field]
    if not isinstance(value, str):
        raise GroupingError(f"{field}: a duration such as 30s, 5m or 4h")
    try:
        found = parse_duration(value)
    except ValueError as exc:
        raise GroupingError(f"{field}: {exc}") from None
    least, most = LIMITS[field]
    if not least <= found <= most:
        raise GroupingError(f"{field}: between {spoken(least)} and {spoken(most)}")
    return found
