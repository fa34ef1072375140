"""The shapes of the REST API's bodies and query strings: the models parse each request (see
`bot.http.openapi`) and the published document is generated from them.

The models check shape and type; the rules that need the database or the vocabulary (a known
channel, a valid matcher, a time zone) stay in core, which answers 400 or 404 with the field.
Bodies are strict JSON types: `"5"` is not a number and `1` is not `true`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.audit import MAX_LISTED
from bot.core.specs import ChannelSpec, RouteSpec
from domain import SNOOZE_MAX_MINUTES

DateTime = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601 with offset")
]
Duration = Annotated[str, Field(description="a duration: 90s, 15m, 4h, 1d", examples=["15m"])]
Matchers = Annotated[
    list[str] | str,
    Field(description='label matchers, Alertmanager\'s syntax: team="db", severity=~"crit.*"'),
]
PriorityName = Annotated[
    str,
    Field(
        description="CRITICAL, HIGH, MEDIUM, LOW or INFO (any case)",
        examples=["HIGH"],
        max_length=16,
    ),
]


class Strict(BaseModel):
    """A body that refuses fields it does not know."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Open(BaseModel):
    """A body whose unknown fields are kept and said back (or checked by core)."""

    model_config = ConfigDict(strict=True, extra="allow")


class Query(BaseModel):
    """A query string: values arrive as text and are read as their type."""

    model_config = ConfigDict(extra="ignore")


# --- events -------------------------------------------------------------------------------


class Link(Open):
    url: str
    title: str | None = None


class EventBody(Open):
    """`POST /api/v1/events`: only `title` is required; unknown fields are ignored and the
    answer's `cleaned` names them."""

    title: str = Field(description="a short summary of what happened")
    tenant: str | None = None
    event_type: str | None = Field(None, description="what kind of event (default generic)")
    type: str | None = Field(None, description="another name for event_type")
    priority: PriorityName | None = None
    body: str | None = None
    link: str | None = None
    links: list[Link | str] | None = None
    source: str | None = None
    dedup_key: str | None = Field(None, description="events with the same key are one alert")
    stakeholders: list[str] | None = None
    facts: dict[str, Any] | list[Any] | None = None
    correlation_id: str | None = None
    metadata: dict[str, Any] | None = None
    labels: dict[str, str] | None = None


class ActionBody(Open):
    """`POST /api/v1/events/{id}/{verb}`: the operator token names who acts."""

    actor: str | None = Field(None, description="who acts (operator token only)")
    on_behalf_of: str | None = None
    minutes: int | None = Field(None, ge=1, le=SNOOZE_MAX_MINUTES, description="snooze only")
    text: str | None = Field(None, description="a note's text (notes only)")


class Paging(Query):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class EventsQuery(Paging):
    tenant: str | None = None
    state: Literal["triggered", "acknowledged", "resolved"] | None = None
    priority: str | None = Field(None, description="CRITICAL, HIGH, MEDIUM, LOW or INFO")
    type: str | None = Field(None, description="the event type")
    muted: Literal["true", "false"] | None = None


class TenantQuery(Query):
    tenant: str | None = Field(None, description="operator token only: the tenant (default)")


class TenantPaging(Paging, TenantQuery):
    pass


# --- integrations, channels and routes ------------------------------------------------------


class IntegrationBody(Open):
    """`POST /api/v1/integrations`; the type's settings (secrets encrypted, never shown)."""

    type: str = Field(description="an integration type id (GET /api/v1/integration-types)")
    name: str = Field(max_length=255)
    description: str | None = None
    settings: dict[str, Any] | None = None
    config: dict[str, Any] | None = Field(None, description="another name for settings")
    is_active: bool | None = None
    sync_enabled: bool | None = None
    sync_interval: int | None = Field(None, description="minutes between syncs")
    credentials_expire_at: DateTime | None = None
    allowed_shard_types: list[str] | None = None
    searchable_entities: list[str] | None = None
    search_enabled: bool | None = None
    search_filters: dict[str, Any] | None = None


class IntegrationChange(Open):
    """`PATCH /api/v1/integrations/{id}`: the fields to change."""

    name: str | None = Field(None, max_length=255)
    description: str | None = None
    settings: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    sync_enabled: bool | None = None
    sync_interval: int | None = None
    credentials_expire_at: DateTime | None = None
    allowed_shard_types: list[str] | None = None
    searchable_entities: list[str] | None = None
    search_enabled: bool | None = None
    search_filters: dict[str, Any] | None = None


class ChannelBody(ChannelSpec):
    """`POST /api/v1/channels`: a place cards go, on an integration or by type."""


class RouteBody(RouteSpec):
    """`POST /api/v1/routes`: which alerts go to a channel (the route's spec, the channel
    required)."""

    channel: str = Field(description="the channel's id or name")


# --- users and preferences ------------------------------------------------------------------


class OverrideBody(Strict):
    """A user's override of an integration's defaults."""

    integration_type: str | None = None
    enabled: bool | None = None
    priority: int | None = Field(None, ge=0, le=1000)
    retry_count: int | None = Field(None, ge=0, le=1000)
    retry_delay_seconds: int | None = Field(None, ge=0, le=1000)
    config: dict[str, Any] | None = None


class Preferences(BaseModel):
    """Categories of integration notices, each on or off."""

    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[str, bool]


# --- on call --------------------------------------------------------------------------------


class PersonBody(Strict):
    name: str = Field(max_length=100)
    time_zone: str | None = Field(None, description="an IANA zone, Europe/Berlin")
    slack_user_id: str | None = Field(None, max_length=255)
    teams_aad_object_id: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=255)


class PersonChange(Strict):
    time_zone: str | None = None
    slack_user_id: str | None = Field(None, max_length=255)
    teams_aad_object_id: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=255)


class Layer(Strict):
    people: list[str] = Field(min_length=1)
    rotation: str | None = Field(None, description="daily, weekly or every N hours: 12h")
    start: str | None = Field(None, description="the first handoff's date, 2027-01-04")
    handoff: str | None = Field(None, description="the hand-off time, 09:00")
    days: list[str] | None = Field(None, description="mon, tue, ... (the layer covers only)")
    hours: str | None = Field(None, description="09:00-17:00 (the layer covers only)")


class ScheduleBody(Strict):
    name: str = Field(max_length=100)
    time_zone: str = Field(description="an IANA zone, Europe/Berlin")
    layers: list[Layer] = Field(min_length=1, max_length=10)
    announce_channel: str | None = None
    slack_usergroup: str | None = None


class OverrideShift(Strict):
    person: str
    start: DateTime
    end: DateTime


class OnCallQuery(Query):
    at: str | None = Field(None, description="an ISO time with offset (default now)")


class StepBody(Strict):
    notify: list[dict[str, str]] = Field(
        min_length=1, description='[{"person": "ana"}, {"schedule": "db"}, {"channel": "ops"}]'
    )
    wait: Duration | None = None


class PolicyBody(Strict):
    name: str | None = Field(None, description="required on POST; the path's on PUT")
    steps: list[StepBody] = Field(min_length=1)
    repeat: int | None = Field(None, ge=0)
    remind_after: Duration | None = None
    unacknowledge_after: Duration | None = None


# --- noise ----------------------------------------------------------------------------------


class SilenceBody(Strict):
    matchers: Matchers
    starts_at: DateTime | None = None
    ends_at: DateTime | None = None
    duration: Duration | None = Field(None, description="instead of ends_at")
    comment: str | None = None


class SilencesQuery(TenantQuery):
    ended: Literal["true", "false"] | None = None


class InhibitRuleBody(Strict):
    source_matchers: Matchers
    target_matchers: Matchers
    equal: list[str] | None = None


class TimeIntervalBody(Strict):
    name: str = Field(max_length=100)
    time_intervals: list[dict[str, Any]] = Field(
        description="Alertmanager's time_intervals entries: times, weekdays, "
        "days_of_month, months, years, location"
    )


# --- heartbeats and reports -----------------------------------------------------------------


class HeartbeatBody(Strict):
    name: str = Field(max_length=100)
    interval: Duration
    grace: Duration | None = None
    priority: PriorityName | None = None
    watchdog: str | None = Field(None, description="an Alertmanager alertname that pings it")


class PauseBody(Strict):
    duration: Duration | None = Field(None, description="until resumed when not given")


class ReportQuery(TenantQuery):
    since: str | None = Field(None, description="7d, 30d (default 7d)")
    group_by: Literal["priority", "source", "event_type", "channel"] | None = None
    format: Literal["json", "csv"] | None = None


class AuditQuery(TenantQuery):
    since: str | None = Field(None, description="a duration (1d, 4h) or an ISO time")
    actor: str | None = None
    kind: str | None = None
    limit: int = Field(100, ge=1, le=MAX_LISTED)


class ConfigQuery(TenantQuery):
    prune: str | None = Field(None, description="true: remove what the document leaves out")


class AlertmanagerAlert(Open):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] | None = None
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerBody(Open):
    """Alertmanager's webhook (version 4)."""

    version: str | None = None
    groupKey: str | None = None
    status: str | None = None
    receiver: str | None = None
    groupLabels: dict[str, str] | None = None
    commonLabels: dict[str, str] | None = None
    commonAnnotations: dict[str, str] | None = None
    externalURL: str | None = None
    alerts: list[AlertmanagerAlert]


class GrafanaBody(Open):
    """Grafana alerting's webhook contact point."""

    status: str | None = None
    alerts: list[AlertmanagerAlert]


class ConfigDocument(BaseModel):
    """The configuration file: `tenants: {name: {channels, routes, integrations, ...}}`
    (YAML or JSON; the README's configuration section lists every section)."""

    model_config = ConfigDict(extra="allow")
    version: int | None = None
    tenants: dict[str, dict[str, Any]] | None = None
