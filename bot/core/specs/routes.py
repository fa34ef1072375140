"""What a person asks for when they make a route: one spec that the REST body, chat's
`subscribe`, the CLI's `routes add` and the configuration file's `routes:` entries each become,
with the defaults in one place. Core builds the row from it (`integrations.specs.new_route`),
checking what needs the vocabulary (a priority's name, the verbs, matcher syntax, intervals).

Adding a field to a route is a field here, a column in `storage/schema/delivery.py`, and the
line in `new_route` that stores it; REST, chat, the CLI and the file take it from here, and the
published API document shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bot.core.specs import Duration
from domain.grouping import FIELDS as GROUPING_FIELDS
from storage.schema import Channel, Route


class RouteSpec(BaseModel):
    """Which alerts go to a channel, and how its cards look and group."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    # The order is the configuration file's: `chatops config export` writes them so.
    channel: str | None = Field(None, description="the channel's id or name")
    event_glob: str = Field("*", max_length=255, description="event types, a glob")
    min_priority: str = Field(
        "INFO", max_length=16, description="CRITICAL, HIGH, MEDIUM, LOW or INFO (any case)"
    )
    stakeholders: list[str] = Field(default_factory=list)
    source_glob: str = Field("*", max_length=255, description="sources, a glob")
    user_id: str | None = Field(
        None, max_length=255, validation_alias=AliasChoices("user_id", "user")
    )
    escalation_level: int = Field(0, ge=0, le=10)
    default: bool = Field(False, description="true: only alerts no other route takes")
    actions: list[str] | str | None = Field(None, description="the buttons cards offer")
    escalation_policy: str | None = Field(None, min_length=1, max_length=255)
    matchers: list[str] | str | None = Field(
        None, description='label matchers, Alertmanager\'s syntax: team="db", sev=~"crit.*"'
    )
    continue_: bool = Field(True, alias="continue", description="later routes take it too")
    mute_time_intervals: list[str] | None = None
    active_time_intervals: list[str] | None = None
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    enabled: bool = True


class ChannelSpec(BaseModel):
    """A place cards go (a Slack channel, a Teams conversation, a webhook URL, an inbox...),
    on an integration or by type, as REST, the CLI and the file ask for one."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    type: str | None = Field(None, description="slack, teams, webhook, ... (or integration)")
    integration: str | None = Field(None, description="an integration's id or name")
    target: str = Field("", max_length=2048, description="channel id, URL or address")
    config: dict[str, Any] = Field(default_factory=dict)
    rate_per_minute: int | None = Field(
        None, ge=1, le=1_000_000, description="default: the type's own (Slack: 1 a second)"
    )
    enabled: bool = True


class ChannelRecord(ChannelSpec):
    """A stored channel, as every transport reads it (never the database row)."""

    model_config = ConfigDict(frozen=True)

    id: str
    integration_id: str | None = None
    created_at: datetime


def channel_record(row: Channel) -> ChannelRecord:
    """The record of a stored channel (read back as written: nothing to check again)."""
    return ChannelRecord.model_construct(
        id=row.id,
        name=row.name,
        type=row.type,
        integration=row.integration_id,
        integration_id=row.integration_id,
        target=row.target or "",
        config=dict(row.config or {}),
        rate_per_minute=row.rate_per_minute,
        enabled=row.is_active,
        created_at=row.created_at,
    )


class RouteInfo(RouteSpec):
    """A stored route, as every transport and the export read it (never the database row)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str
    channel_id: str
    created_by: str | None = None
    created_at: datetime


# A route's column of a spec field, where the names differ; every other field of the spec is
# stored in the column of its own name, copied as it is (`plain`).
COLUMN_OF = {"default": "is_default", "continue_": "continues", "enabled": "is_active"}
# fields stored in another shape: checked or cleaned on the way in (integrations.specs.new_route)
SHAPED = frozenset(
    (
        "channel",
        "min_priority",
        "stakeholders",
        "actions",
        "matchers",
        "mute_time_intervals",
        "active_time_intervals",
        *GROUPING_FIELDS,
    )
)


def plain_fields() -> list[str]:
    """The spec's fields stored as they are, each in its column (`COLUMN_OF`)."""
    return [n for n in RouteSpec.model_fields if n not in SHAPED]


def route_info(row: Route) -> RouteInfo:
    """The record of a stored route (read back as written: nothing to check again)."""
    plain = {n: getattr(row, COLUMN_OF.get(n, n)) for n in plain_fields()}
    plain["default"], plain["continue_"] = bool(row.is_default), row.continues is not False
    return RouteInfo.model_construct(
        id=row.id,
        channel=row.channel_id,
        channel_id=row.channel_id,
        **plain,
        min_priority=row.min_priority,
        matchers=list(row.matchers) if row.matchers else None,
        stakeholders=list(row.stakeholders or []),
        actions=row.actions,
        mute_time_intervals=row.mute_time_intervals or None,
        active_time_intervals=row.active_time_intervals or None,
        **{k: v for k, v in (row.grouping or {}).items() if k in GROUPING_FIELDS},
        created_by=row.created_by,
        created_at=row.created_at,
    )


FILE_NAMES = {"user_id": "user"}  # the file's name of a field, where it differs


def route_entry_of(route: RouteInfo, channel: str) -> dict[str, Any]:
    """The route as the configuration file writes it: its channel by name, then every field
    of the spec not at its default, in the spec's order."""
    entry: dict[str, Any] = {"channel": channel}
    for name, field in RouteSpec.model_fields.items():
        if name == "channel":
            continue
        value = getattr(route, name)
        if value in (None, []) or value == field.get_default(call_default_factory=True):
            continue
        entry[FILE_NAMES.get(name, field.alias or name)] = value
    return entry
