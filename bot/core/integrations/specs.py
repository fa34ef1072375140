"""Channels and routes from what a request, a command or the configuration file asked for,
checked: the rules and defaults of a channel and of a route live here once."""

from __future__ import annotations

from typing import Any

from adapters.egress import url_problem
from adapters.registry import TYPES, adapter_type
from bot.core.alerts import muting, windows
from bot.core.errors import InvalidRequest
from bot.core.specs.routes import COLUMN_OF, ChannelSpec, RouteSpec, plain_fields
from domain import Priority, Verb, grouping
from storage.schema import (
    Channel,
    Integration,
    Route,
)


def new_channel(tenant: str, spec: ChannelSpec, integration: Integration | None) -> Channel:
    """The channel a spec asks for; the spec checked types and lengths, this what needs the
    integration types (InvalidRequest names the field)."""
    name = spec.name.strip()
    if not name:
        raise InvalidRequest("name: required")
    kind = integration.type if integration else spec.type
    if not isinstance(kind, str) or kind not in TYPES:
        raise InvalidRequest(f"type: one of {', '.join(sorted(TYPES))} (or give integration)")
    if "notifications" not in adapter_type(kind).capabilities:
        raise InvalidRequest(f"type: {kind} integrations take no notifications; no channel on it")
    rate = spec.rate_per_minute or adapter_type(kind).rate_per_minute
    if spec.target and any(s.url and s.name == "url" for s in adapter_type(kind).settings):
        if problem := url_problem(spec.target):
            raise InvalidRequest(f"target: {problem}")
    return Channel(
        tenant_id=tenant,
        name=name,
        type=kind,
        integration_id=integration.id if integration else None,
        target=spec.target,
        config=dict(spec.config),
        rate_per_minute=rate,
        is_active=spec.enabled,
    )


# The verbs a route may offer on its cards (Retry and Discard belong to failed-job cards).
ROUTE_VERBS = (
    Verb.ACKNOWLEDGE,
    Verb.ESCALATE,
    Verb.RESOLVE,
    Verb.SNOOZE,
    Verb.NOTE,
    Verb.RETRY,
    Verb.DISCARD,
)


def route_actions(value: object) -> list[str] | None:
    """`actions`: None (every verb), a list, or a comma-separated string of verbs."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    names = ", ".join(v.value for v in ROUTE_VERBS)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"actions: a list of verbs from {names}")
    unknown = [v for v in value if v.lower() not in {x.value for x in ROUTE_VERBS}]
    if unknown:
        raise InvalidRequest(f"actions: {', '.join(unknown)} not a verb; verbs: {names}")
    return list(dict.fromkeys(v.lower() for v in value))


def route_matchers(value: object) -> list[str] | None:
    """A route's matchers, read and written back in one spelling (`team=~"db|storage"`);
    a single string may hold several (`{a="1", b="2"}`)."""
    if value is None or value == []:
        return None
    return muting.matchers_of(value, "matchers") or None


def new_route(tenant: str, spec: RouteSpec, channel: Channel, actor: str | None) -> Route:
    """The route a spec asks for, to `channel`; the spec checked its fields' types and ranges,
    this checks what needs the vocabulary (InvalidRequest names the field)."""
    priority = spec.min_priority.upper()
    if priority not in Priority.__members__:
        raise InvalidRequest(f"min_priority: one of {' '.join(p.value for p in Priority)}")
    return Route(
        tenant_id=tenant,
        channel_id=channel.id,
        **{COLUMN_OF.get(n, n): getattr(spec, n) for n in plain_fields()},
        actions=route_actions(spec.actions),
        min_priority=priority,
        stakeholders=[s.upper() for s in spec.stakeholders],
        matchers=route_matchers(spec.matchers),
        mute_time_intervals=windows.route_names(spec.mute_time_intervals, "mute_time_intervals"),
        active_time_intervals=windows.route_names(
            spec.active_time_intervals, "active_time_intervals"
        ),
        grouping=route_grouping(spec),
        created_by=actor,
    )


def route_grouping(spec: RouteSpec) -> dict[str, Any] | None:
    """A route's `group_by` and intervals, checked (`domain.grouping`)."""
    try:
        return grouping.given({f: getattr(spec, f) for f in grouping.FIELDS})
    except grouping.GroupingError as exc:
        raise InvalidRequest(str(exc)) from None
