"""Escalation policies: ordered steps that page people, on-call schedules and channels.

A step notifies one or more targets, then waits before the next step; after the last step the
policy starts again from the first, `repeat` times at most. While an alert is acknowledged, its
acknowledger may be reminded every `remind_after`, and after `unacknowledge_after` the alert
returns to triggered so a forgotten acknowledgement cannot hide an outage.

The names and shapes are those of the REST API and the configuration file::

    {"name": "db", "repeat": 1, "remind_after": "1h", "unacknowledge_after": "4h",
     "steps": [{"notify": [{"schedule": "db"}], "wait": "5m"},
               {"notify": [{"person": "ana"}, {"channel": "ops"}], "wait": "10m"}]}

Standard library only; durations are `domain.parse_duration`'s (`30s`, `5m`, `1h30m`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain import parse_duration, spoken_duration

KINDS = ("person", "schedule", "channel")
MAX_STEPS = 20
MAX_TARGETS = 10
MAX_REPEAT = 9
MAX_WAIT = timedelta(days=1)
FIELDS = ("name", "steps", "repeat", "remind_after", "unacknowledge_after")


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Target:
    """Who a step notifies: a person, whoever is on call in a schedule, or a channel."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Step:
    """Targets notified together, then a wait before the next step."""

    targets: tuple[Target, ...]
    wait: timedelta


@dataclass(frozen=True)
class Policy:
    """Steps in order, how many times they run again, and what happens once acknowledged."""

    name: str
    steps: tuple[Step, ...]
    repeat: int = 0
    remind_after: timedelta | None = None
    unacknowledge_after: timedelta | None = None


@dataclass(frozen=True)
class Position:
    """Where a running policy stands: the step to fire next, in which round (0 first)."""

    step: int
    round: int


def _duration(value: object, where: str, *, least: timedelta = timedelta(0)) -> timedelta:
    if not isinstance(value, str):
        raise PolicyError(f"{where}: a duration such as 30s, 5m or 1h")
    try:
        found = parse_duration(value)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    if not least <= found <= MAX_WAIT:
        raise PolicyError(f"{where}: between {spoken_duration(least)} and 1d")
    return found


def _target(raw: object, where: str) -> Target:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise PolicyError(
            f'{where}: one of {{"person": ...}}, {{"schedule": ...}}, {{"channel": ...}}'
        )
    ((kind, name),) = raw.items()
    if kind not in KINDS:
        raise PolicyError(f"{where}: {str(kind)[:30]!r} is not person, schedule or channel")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise PolicyError(f"{where}.{kind}: a name")
    return Target(kind, name.strip())


def _step(raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: an object with notify and wait")
    unknown = set(raw) - {"notify", "wait"}
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}: not a field of a step")
    notify = raw.get("notify")
    if not isinstance(notify, list) or not 1 <= len(notify) <= MAX_TARGETS:
        raise PolicyError(f"{where}.notify: a list of 1 to {MAX_TARGETS} targets")
    targets = tuple(_target(t, f"{where}.notify[{n}]") for n, t in enumerate(notify))
    wait = _duration(raw.get("wait", "5m"), f"{where}.wait", least=timedelta(seconds=10))
    return Step(targets, wait)


def policy_from(raw: object, name: str | None = None) -> Policy:
    """A policy from its document; PolicyError names the first field that is wrong."""
    if not isinstance(raw, dict):
        raise PolicyError("a policy is an object with name and steps")
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise PolicyError(f"{sorted(unknown)[0]}: not a field of an escalation policy")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise PolicyError(f"steps: a list of 1 to {MAX_STEPS} steps")
    repeat = raw.get("repeat", 0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= MAX_REPEAT:
        raise PolicyError(f"repeat: a whole number from 0 to {MAX_REPEAT}")
    remind = raw.get("remind_after")
    unack = raw.get("unacknowledge_after")
    minute = timedelta(minutes=1)
    return Policy(
        name=str(name if name is not None else raw.get("name", "")),
        steps=tuple(_step(s, f"steps[{n}]") for n, s in enumerate(steps)),
        repeat=repeat,
        remind_after=_duration(remind, "remind_after", least=minute) if remind else None,
        unacknowledge_after=_duration(unack, "unacknowledge_after", least=minute)
        if unack
        else None,
    )


def policy_document(policy: Policy) -> dict[str, Any]:
    """The policy as REST and the configuration file show it (what `policy_from` reads)."""
    document: dict[str, Any] = {
        "name": policy.name,
        "steps": [
            {
                "notify": [{t.kind: t.name} for t in step.targets],
                "wait": spoken_duration(step.wait),
            }
            for step in policy.steps
        ],
        "repeat": policy.repeat,
    }
    if policy.remind_after:
        document["remind_after"] = spoken_duration(policy.remind_after)
    if policy.unacknowledge_after:
        document["unacknowledge_after"] = spoken_duration(policy.unacknowledge_after)
    return document


def after(policy: Policy, fired: Position) -> Position | None:
    """Where the policy stands once `fired` has been notified: the next step, the first step
    of the next round, or None when the last step of the last round is done."""
    if fired.step + 1 < len(policy.steps):
        return Position(fired.step + 1, fired.round)
    if fired.round < policy.repeat:
        return Position(0, fired.round + 1)
    return None


def describe(policy: Policy, at: Position) -> str:
    """`step 2 of 3` (and the round when the policy repeats): what a card says."""
    text = f"step {at.step + 1} of {len(policy.steps)}"
    if policy.repeat:
        text += f", round {at.round + 1} of {policy.repeat + 1}"
    return text
