"""The shapes of the REST API's bodies and query strings: the models parse each request (see
`bot.http.openapi`) and the published document is generated from them.

The models check shape and type; the rules that need the database or the vocabulary (a known
channel, a valid matcher, a time zone) stay in core, which answers 400 or 404 with the field.
Bodies are strict JSON types: `"5"` is not a number and `1` is not `true`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.audit import MAX_LISTED
from bot.core.specs import DateTime, Duration, PriorityName
from bot.core.specs.routes import ChannelSpec, RouteSpec
from domain import SNOOZE_MAX_MINUTES


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


class ChannelBody(ChannelSpec):
    """`POST /api/v1/channels`: a place cards go, on an integration or by type."""


class RouteBody(RouteSpec):
    """`POST /api/v1/routes`: which alerts go to a channel (the route's spec, the channel
    required)."""

    channel: str = Field(description="the channel's id or name")


# --- users and preferences ------------------------------------------------------------------


class Preferences(BaseModel):
    """Categories of integration notices, each on or off."""

    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[str, bool]


# --- on call --------------------------------------------------------------------------------


class OverrideShift(Strict):
    person: str
    start: DateTime
    end: DateTime


class OnCallQuery(Query):
    at: str | None = Field(None, description="an ISO time with offset (default now)")


class SilencesQuery(TenantQuery):
    ended: Literal["true", "false"] | None = None


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
