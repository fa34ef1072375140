"""Which routes an alert matches, as rules: the unit beside `bot/core/alerts/routing.py`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bot.core.alerts.routing import matches, matching, quiet, with_admin_channel
from domain import Alert, AlertState, Priority, RouteRule
from domain.intervals import interval_from
from domain.matchers import parse_all

NOW = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)  # a Friday


def alert(**changes: object) -> Alert:
    base = Alert(
        id="a1",
        tenant="default",
        event_type="db.down",
        priority=Priority.HIGH,
        title="db-1 down",
        body="",
        state=AlertState.TRIGGERED,
        dedup_key="db-1",
        source="prometheus",
        link=None,
        stakeholders=("SRE",),
        facts={},
        correlation_id=None,
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
        labels={"team": "db", "severity": "critical"},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rule(rid: str, channel: str = "c1", **changes: object) -> RouteRule:
    return dataclasses.replace(RouteRule(id=rid, tenant="default", channel_id=channel), **changes)  # type: ignore[arg-type]


def test_each_condition_of_a_route_can_refuse_an_alert() -> None:
    assert matches(rule("r"), alert())
    assert not matches(rule("r", tenant="acme"), alert())  # another tenant's route
    assert not matches(rule("r", escalation_level=1), alert())
    assert not matches(rule("r", min_priority=Priority.CRITICAL), alert())
    assert matches(rule("r", min_priority=Priority.MEDIUM), alert())
    assert not matches(rule("r", event_glob="app.*"), alert())
    assert matches(rule("r", event_glob="db.*"), alert())
    assert not matches(rule("r", source_glob="grafana"), alert())
    assert not matches(rule("r", stakeholders=("NETWORK",)), alert())
    assert matches(rule("r", stakeholders=("sre",)), alert())  # any case
    assert matches(rule("r", matchers=parse_all(['team="db"', 'severity=~"crit.*"'])), alert())
    assert not matches(rule("r", matchers=parse_all(['team="db"', 'env="prod"'])), alert())


def test_one_card_per_channel_defaults_only_when_nothing_else_and_continue_false_stops() -> None:
    rules = [
        rule("a", "c1"),
        rule("b", "c1"),  # the same channel again: not twice
        rule("c", "c2", continues=False),
        rule("d", "c3"),  # after a route that stops
        rule("e", "c9", is_default=True),
    ]
    assert [r.id for r in matching(rules, alert())] == ["a", "c"]
    other = alert(event_type="app.crash")
    narrow = [rule("a", "c1", event_glob="db.*"), rule("e", "c9", is_default=True)]
    assert [r.id for r in matching(narrow, other)] == ["e"]  # nothing else took it
    assert [r.id for r in matching(narrow, alert())] == ["a"]  # a default only when alone


def test_time_intervals_mute_inside_and_active_ones_speak_only_inside() -> None:
    weekdays = interval_from([{"weekdays": ["monday:friday"]}])
    weekend = interval_from([{"weekdays": ["saturday", "sunday"]}])
    known = {"weekdays": weekdays, "weekend": weekend}
    assert quiet(rule("r", mute_time_intervals=("weekdays",)), known, NOW) == "weekdays"
    assert quiet(rule("r", mute_time_intervals=("weekend",)), known, NOW) is None
    assert quiet(rule("r", active_time_intervals=("weekend",)), known, NOW) == "outside weekend"
    assert quiet(rule("r", active_time_intervals=("weekdays",)), known, NOW) is None
    assert quiet(rule("r", mute_time_intervals=("gone",)), known, NOW) is None  # deleted since


def test_admin_notices_also_reach_the_admin_channel_once() -> None:
    notice = alert(event_type="integration.sync.failed")
    assert [r.channel_id for r in with_admin_channel([], notice, "adm")] == ["adm"]
    already = [rule("x", "adm")]
    assert with_admin_channel(already, notice, "adm") == already
    assert with_admin_channel([], alert(), "adm") == []  # an ordinary alert does not go there
    assert with_admin_channel([], notice, None) == []
