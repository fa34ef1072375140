"""What a person asks for when they add a person, a schedule or an escalation policy, as REST,
chat and the CLI give it. The rules that need the vocabulary (a time zone, a rotation, a wait)
are `domain.schedules` and `domain.escalation`'s; the names that must exist are core's."""

from __future__ import annotations

from pydantic import Field

from bot.core.specs import Duration, Strict

TEXT = 255


class PersonSpec(Strict):
    """Someone who can be on call and be paged."""

    name: str = Field(max_length=100, description="letters, digits, spaces or ._@- characters")
    time_zone: str | None = Field(None, description="an IANA zone, Europe/Berlin (default UTC)")
    slack_user_id: str | None = Field(None, max_length=TEXT)
    teams_aad_object_id: str | None = Field(None, max_length=TEXT)
    email: str | None = Field(None, max_length=TEXT)
    phone: str | None = Field(None, max_length=TEXT)


class PersonChange(Strict):
    """Some of a person's fields (not the name); `null` or "" clears one."""

    time_zone: str | None = None
    slack_user_id: str | None = Field(None, max_length=TEXT)
    teams_aad_object_id: str | None = Field(None, max_length=TEXT)
    email: str | None = Field(None, max_length=TEXT)
    phone: str | None = Field(None, max_length=TEXT)


class LayerSpec(Strict):
    """One rotation of a schedule: its people take turns."""

    people: list[str] = Field(min_length=1)
    rotation: str | None = Field(None, description="daily, weekly or every N hours: 12h")
    start: str | None = Field(None, description="the first handoff's date, 2027-01-04")
    handoff: str | None = Field(None, description="the hand-off time, 09:00")
    days: list[str] | None = Field(None, description="mon, tue, ... (the layer covers only)")
    hours: str | None = Field(None, description="09:00-17:00 (the layer covers only)")


class ScheduleSpec(Strict):
    """Who is on call when: layers of rotations in one time zone, a later layer over an
    earlier one."""

    name: str = Field(max_length=100, description="letters, digits, spaces or ._@- characters")
    time_zone: str = Field(description="an IANA zone, Europe/Berlin")
    layers: list[LayerSpec] = Field(min_length=1, max_length=10)
    announce_channel: str | None = Field(None, description="a channel's name: hand-offs said there")
    slack_usergroup: str | None = Field(
        None, description="a Slack user group id (S0123ABCD) kept to whoever is on call"
    )


class StepSpec(Strict):
    """Whom a step of escalation notifies, and how long it waits for an acknowledgement."""

    notify: list[dict[str, str]] = Field(
        min_length=1, description='[{"person": "ana"}, {"schedule": "db"}, {"channel": "ops"}]'
    )
    wait: Duration | None = None


class PolicySpec(Strict):
    """An escalation policy: its steps in order, repeated, with reminders."""

    name: str | None = Field(None, description="required on POST; the path's on PUT")
    steps: list[StepSpec] = Field(min_length=1)
    repeat: int | None = Field(None, ge=0)
    remind_after: Duration | None = None
    unacknowledge_after: Duration | None = None
