"""What comes in becomes an event by rules: the unit beside `bot/core/alerts/normalize.py`.
The Alertmanager payload is Prometheus' own (see tests/fixtures/SOURCES.md)."""

from __future__ import annotations

import json

import pytest

from bot.core.alerts.normalize import InvalidEvent, from_alertmanager, from_api
from domain import Priority
from tests.fixtures import FIXTURES

TWO_ALERTS = (
    FIXTURES / "alertmanager" / "webhook_v4.sample_2_alerts.prometheus_msteams_testdata.json"
)


def test_the_api_body_is_cleaned_and_what_was_cleaned_is_said() -> None:
    event = from_api(
        {"title": "  db-1 down ", "priority": "high", "colour": "red", "labels": {"bad-name": "1"}}
    )
    assert event.title == "db-1 down" and event.priority is Priority.HIGH
    assert event.labels == {}
    assert event.cleaned == (
        "colour: not a field of an event: ignored",
        "labels.bad-name: not a label name (letters, digits, _): dropped",
    )
    assert from_api({"title": "x"}).priority is Priority.MEDIUM  # the default
    assert from_api({"title": "x", "type": "error"}).priority is Priority.HIGH  # the seed's types


@pytest.mark.parametrize(
    "body,code",
    [
        ({"body": "no title"}, "missing_title"),
        ({"title": "x", "priority": "urgent"}, "bad_priority"),
        ({"title": "x", "type": "disaster"}, "bad_type"),
    ],
)
def test_what_cannot_be_an_event_is_refused_with_its_code(body: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        from_api(body)
    assert refused.value.code == code


def test_each_alertmanager_alert_is_an_event_keyed_by_its_labels() -> None:
    payload = json.loads(TWO_ALERTS.read_text())
    first, second = from_alertmanager(payload, tenant="acme")
    assert first.tenant == "acme" and first.source == "alertmanager"
    assert first.title == "Server High Memory usage"  # the summary annotation
    assert first.labels["alertname"] == "high_memory_load"
    assert first.labels["severity"] == "warning" and first.priority is Priority.MEDIUM
    assert first.dedup_key != second.dedup_key  # each alert its own, from its labels
    assert from_alertmanager(payload)[0].dedup_key == first.dedup_key  # and stable
    payload["alerts"][0]["status"] = "resolved"
    assert from_alertmanager(payload)[0].resolve is True
    payload["version"] = "3"
    with pytest.raises(InvalidEvent, match="version"):
        from_alertmanager(payload)
