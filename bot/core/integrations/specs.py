"""Channels and routes from what a request, a command or the configuration file asked for,
checked: the rules and defaults of a channel and of a route live here once."""

from __future__ import annotations

from typing import Any

from adapters.egress import url_problem
from adapters.registry import TYPES, adapter_type
from bot.core.alerts import muting, windows
from bot.core.errors import InvalidRequest
from domain import Priority, Verb, grouping
from storage.schema import (
    Channel,
    Integration,
    Route,
)


def new_channel(tenant: str, body: dict[str, Any], integration: Integration | None) -> Channel:
    """A channel from a request body, validated."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name: required")
    kind = integration.type if integration else body.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise InvalidRequest(f"type: one of {', '.join(sorted(TYPES))} (or give integration)")
    if "notifications" not in adapter_type(kind).capabilities:
        raise InvalidRequest(f"type: {kind} integrations take no notifications; no channel on it")
    rate = body.get("rate_per_minute", adapter_type(kind).rate_per_minute)
    if not isinstance(rate, int) or not 1 <= rate <= 1_000_000:
        raise InvalidRequest("rate_per_minute: a whole number from 1 to 1000000")
    if len(name) > 255:
        raise InvalidRequest("name: at most 255 characters")
    target = body.get("target", "")
    if not isinstance(target, str) or len(target) > 2048:
        raise InvalidRequest("target: text of at most 2048 characters")
    if target and any(s.url and s.name == "url" for s in adapter_type(kind).settings):
        if problem := url_problem(target):
            raise InvalidRequest(f"target: {problem}")
    config = body.get("config", {})
    if not isinstance(config, dict):
        raise InvalidRequest("config: must be an object")
    return Channel(
        tenant_id=tenant,
        name=name.strip(),
        type=kind,
        integration_id=integration.id if integration else None,
        target=target,
        config=config,
        rate_per_minute=rate,
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


def new_route(tenant: str, body: dict[str, Any], channel: Channel, actor: str | None) -> Route:
    """A route from a request body, validated."""
    priority = str(body.get("min_priority", "INFO")).upper()
    if priority not in Priority.__members__:
        raise InvalidRequest(f"min_priority: one of {' '.join(p.value for p in Priority)}")
    stakeholders = body.get("stakeholders", [])
    if not isinstance(stakeholders, list) or not all(isinstance(s, str) for s in stakeholders):
        raise InvalidRequest("stakeholders: a list of names")
    level = body.get("escalation_level", 0)
    if not isinstance(level, int) or not 0 <= level <= 10:
        raise InvalidRequest("escalation_level: 0 to 10")
    user = body.get("user_id")
    if user is not None and (not isinstance(user, str) or len(user) > 255):
        raise InvalidRequest("user_id: text of at most 255 characters")
    is_default = body.get("default", False)
    if not isinstance(is_default, bool):
        raise InvalidRequest("default: true or false (true: only alerts no other route takes)")
    policy = body.get("escalation_policy")
    if policy is not None and (not isinstance(policy, str) or not 0 < len(policy) <= 255):
        raise InvalidRequest("escalation_policy: the name of an escalation policy")
    goes_on = body.get("continue", True)
    if not isinstance(goes_on, bool):
        raise InvalidRequest("continue: true (later routes take the alert too) or false")
    return Route(
        tenant_id=tenant,
        channel_id=channel.id,
        actions=route_actions(body.get("actions")),
        event_glob=str(body.get("event_glob", "*"))[:255],
        min_priority=priority,
        stakeholders=[s.upper() for s in stakeholders],
        source_glob=str(body.get("source_glob", "*"))[:255],
        user_id=user,
        escalation_level=level,
        is_default=is_default,
        escalation_policy=policy,
        matchers=route_matchers(body.get("matchers")),
        continues=goes_on,
        mute_time_intervals=windows.route_names(body, "mute_time_intervals"),
        active_time_intervals=windows.route_names(body, "active_time_intervals"),
        grouping=route_grouping(body),
        created_by=actor,
    )


def route_grouping(body: dict[str, Any]) -> dict[str, Any] | None:
    """A route's `group_by` and intervals, checked (`domain.grouping`)."""
    try:
        return grouping.given({f: body.get(f) for f in grouping.FIELDS})
    except grouping.GroupingError as exc:
        raise InvalidRequest(str(exc)) from None
