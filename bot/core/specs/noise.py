"""What a person asks for when they silence alerts, add an inhibition rule, a time interval or
a heartbeat. Matcher syntax, time interval entries and durations are checked by the vocabulary
(`domain.matchers`, `domain.intervals`, `domain.heartbeats`) in the core function that takes
the spec."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.core.specs import DateTime, Duration, Matchers, PriorityName, Strict


class SilenceSpec(Strict):
    """Alerts matching every matcher are muted from `starts_at` until `ends_at` (or for
    `duration`)."""

    matchers: Matchers
    starts_at: DateTime | None = None
    ends_at: DateTime | None = None
    duration: Duration | None = Field(None, description="instead of ends_at")
    comment: str | None = None


class InhibitRuleSpec(Strict):
    """While an alert matching the source is open, alerts matching the target (with the same
    values of the `equal` labels) are muted."""

    source_matchers: Matchers
    target_matchers: Matchers
    equal: list[str] | None = None


class TimeIntervalSpec(Strict):
    """A named time interval (a maintenance window, working hours), in Alertmanager's syntax."""

    name: str = Field(max_length=100)
    time_intervals: list[dict[str, Any]] = Field(
        description="Alertmanager's time_intervals entries: times, weekdays, "
        "days_of_month, months, years, location"
    )


class HeartbeatSpec(Strict):
    """Something that should ping every `interval`; silence past the grace raises an alert."""

    name: str = Field(max_length=100)
    interval: Duration
    grace: Duration | None = None
    priority: PriorityName | None = None
    watchdog: str | None = Field(None, description="an Alertmanager alertname that pings it")
