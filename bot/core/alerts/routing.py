"""Which routes an alert matches: event-type glob, minimum priority, stakeholders, source,
and label matchers in Alertmanager's syntax. Routes are tried in their order (oldest first, or
the configuration file's); every matching route takes the alert unless one that matched says
`continue: false`, after which no later route does."""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase

from domain import Alert, RouteRule
from domain.intervals import Spec, inside
from domain.matchers import all_match


def matches(rule: RouteRule, alert: Alert) -> bool:
    """Whether the rule sends this alert at its current escalation level."""
    if rule.tenant != alert.tenant or rule.escalation_level != alert.escalation_level:
        return False
    if not alert.priority.at_least(rule.min_priority):
        return False
    if not fnmatchcase(alert.event_type, rule.event_glob):
        return False
    if not fnmatchcase(alert.source, rule.source_glob):
        return False
    if rule.stakeholders:
        wanted = {s.upper() for s in rule.stakeholders}
        if not wanted & {s.upper() for s in alert.stakeholders}:
            return False
    return all_match(rule.matchers, alert.labels)


def matching(rules: list[RouteRule], alert: Alert) -> list[RouteRule]:
    """Matching rules, one per (channel, user) so no channel gets the alert twice.

    Default routes ("else the default channel") count only when no other route matched.
    """
    result = _first_per_destination([r for r in rules if not r.is_default], alert)
    return result or _first_per_destination([r for r in rules if r.is_default], alert)


def _first_per_destination(rules: list[RouteRule], alert: Alert) -> list[RouteRule]:
    seen: set[tuple[str, str | None]] = set()
    result = []
    for rule in rules:
        if not matches(rule, alert):
            continue
        key = (rule.channel_id, rule.user_id)
        if key not in seen:
            seen.add(key)
            result.append(rule)
        if not rule.continues:
            break
    return result


Intervals = dict[str, tuple[Spec, ...]]


def quiet(rule: RouteRule, intervals: Intervals | None, now: datetime) -> str | None:
    """Why the route is quiet now: inside one of its `mute_time_intervals`, or outside all of
    its `active_time_intervals` (the interval's name); None when it may send. An interval the
    tenant no longer has mutes nothing."""
    known = intervals or {}
    for name in rule.mute_time_intervals:
        if name in known and inside(known[name], now):
            return name
    active = [n for n in rule.active_time_intervals if n in known]
    if active and not any(inside(known[n], now) for n in active):
        return f"outside {active[0]}"
    return None


ADMIN_EVENTS = ("integration.*", "delivery.*")  # what the tenant admins' channel hears by default


def with_admin_channel(
    rules: list[RouteRule], alert: Alert, admin_channel: str | None
) -> list[RouteRule]:
    """Admin notices also go to the tenant admins' channel, unless a route already sends there."""
    if admin_channel is None or not any(fnmatchcase(alert.event_type, g) for g in ADMIN_EVENTS):
        return rules
    if any(r.channel_id == admin_channel and r.user_id is None for r in rules):
        return rules
    return [*rules, RouteRule(id="admin-channel", tenant=alert.tenant, channel_id=admin_channel)]
