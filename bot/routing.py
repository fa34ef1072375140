"""Which routes an alert matches: event-type glob, minimum priority, stakeholders, source."""

from __future__ import annotations

from fnmatch import fnmatchcase

from bot.model import Alert, RouteRule


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
    return True


def matching(rules: list[RouteRule], alert: Alert) -> list[RouteRule]:
    """Matching rules, one per (channel, user) so no channel gets the alert twice."""
    seen: set[tuple[str, str | None]] = set()
    result = []
    for rule in rules:
        key = (rule.channel_id, rule.user_id)
        if key not in seen and matches(rule, alert):
            seen.add(key)
            result.append(rule)
    return result
