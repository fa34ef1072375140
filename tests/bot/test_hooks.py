"""Alertmanager and Grafana webhooks, from the published sample payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp.test_utils import TestClient

from tests.fixtures import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "alertmanager"
Client = TestClient  # type: ignore[type-arg]


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


async def events(client: Client, **query: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/events", params=query)
    return list((await resp.json())["events"])


async def test_alertmanager_two_alerts_become_two_events(client: Client) -> None:
    payload = fixture("webhook_v4.sample_2_alerts.prometheus_msteams_testdata.json")
    resp = await client.post("/hooks/alertmanager", json=payload)
    assert resp.status == 202
    assert (await resp.json())["accepted"] == 2
    stored = sorted(await events(client), key=lambda e: e["event_type"])
    assert [e["event_type"] for e in stored] == [
        "alertmanager.high_memory_load",
        "alertmanager.high_memory_load2",
    ]
    assert stored[0]["title"] == "Server High Memory usage"
    assert stored[0]["body"] == "10.80.40.11 reported high memory usage with 23.28%."
    assert stored[0]["priority"] == "MEDIUM"  # commonLabels severity=warning
    assert stored[0]["facts"]["monitor"] == "master"


async def test_alertmanager_repeat_dedups_and_resolved_resolves(client: Client) -> None:
    payload = fixture("webhook_v4.sample_1_alert.prometheus_msteams_testdata.json")
    first = await (await client.post("/hooks/alertmanager", json=payload)).json()
    again = await (await client.post("/hooks/alertmanager", json=payload)).json()
    assert again["events"][0]["id"] == first["events"][0]["id"]
    assert again["events"][0]["deduplicated"] is True
    resolved = copy.deepcopy(payload)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
    done = await (await client.post("/hooks/alertmanager", json=resolved)).json()
    assert done["events"][0]["state"] == "resolved"
    stored = await events(client)
    assert len(stored) == 1
    assert stored[0]["state"] == "resolved"
    assert stored[0]["occurrences"] == 2
    # Firing again after resolution opens a new alert.
    reopened = await (await client.post("/hooks/alertmanager", json=payload)).json()
    assert reopened["events"][0]["id"] != first["events"][0]["id"]


async def test_grafana_alerts_use_their_fingerprints_and_links(client: Client) -> None:
    payload = fixture("grafana_webhook.sample.grafana_docs.json")
    resp = await client.post("/hooks/grafana", json=payload)
    assert resp.status == 202
    keys = sorted(e["dedup_key"] for e in (await resp.json())["events"])
    assert keys == ["grafana-bc97ff14869b13e3", "grafana-c6eadffa33fcdf37"]
    stored = {e["dedup_key"]: e for e in await events(client)}
    memory = stored["grafana-c6eadffa33fcdf37"]
    assert memory["title"] == "This alert was triggered for zone us-1"
    assert memory["link"] == "https://play.grafana.org/alerting/1afz29v7z/edit"
    assert memory["stakeholders"] == ["BLUE"]
    assert memory["facts"]["zone"] == "us-1"
    assert memory["facts"]["value B"].startswith("44.2394")


async def test_a_hook_refuses_what_is_not_an_alert_payload(client: Client) -> None:
    resp = await client.post("/hooks/alertmanager", json={"version": "4", "status": "firing"})
    assert resp.status == 400
    assert "alerts" in (await resp.json())["error"]["message"]
    resp = await client.post("/hooks/alertmanager", json={"version": "3", "alerts": []})
    assert resp.status == 400
    assert "version" in (await resp.json())["error"]["message"]
    resp = await client.post(
        "/hooks/grafana", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    resp = await client.post(
        "/hooks/grafana", json={"alerts": []}, headers={"Authorization": "Bearer wrong"}
    )
    assert resp.status == 401
    assert await events(client) == []


async def test_an_unusable_generator_url_is_dropped_not_refused(client: Client) -> None:
    """On both databases: an int, a list or an over-long generatorURL never costs the alert."""
    payload = fixture("webhook_v4.sample_1_alert.prometheus_msteams_testdata.json")
    alert = payload["alerts"][0]
    payload["alerts"] = [
        {**copy.deepcopy(alert), "generatorURL": 5, "labels": {**alert["labels"], "n": "1"}},
        {**copy.deepcopy(alert), "generatorURL": [], "labels": {**alert["labels"], "n": "2"}},
        {
            **copy.deepcopy(alert),
            "generatorURL": "https://prom.example/" + "g" * 3000,
            "labels": {**alert["labels"], "n": "3", "x": "a\u0000b"},
        },
    ]
    resp = await client.post("/hooks/alertmanager", json=payload)
    assert resp.status == 202, await resp.text()
    answer = await resp.json()
    assert [e["cleaned"] for e in answer["events"]] == [
        ["generatorURL: int, not a URL: dropped"],
        ["generatorURL: list, not a URL: dropped"],
        ["generatorURL: 3021 characters, over 2048: dropped"],
    ]
    stored = await events(client)
    assert len(stored) == 3 and all(e["link"] is None and e["links"] == [] for e in stored)
    assert any(e["facts"].get("x") == "ab" for e in stored)


async def test_alertmanager_urls_become_links_runbook_first(client: Client) -> None:
    payload = fixture("webhook_v4.sample_1_alert.prometheus_msteams_testdata.json")
    alert = payload["alerts"][0]
    alert["generatorURL"] = "https://prom.example.com/graph?g0.expr=up"
    alert["annotations"] = {
        **alert.get("annotations", {}),
        "logs_url": "https://logs.example.com/q",
        "dashboard_url": "https://grafana.example.com/d/1",
        "runbook_url": "https://wiki.example.com/rb/memory",
        "bad_url": "javascript:alert(1)",
    }
    resp = await client.post("/hooks/alertmanager", json=payload)
    assert resp.status == 202
    assert (await resp.json())["events"][0]["cleaned"] == ["bad_url: javascript: dropped"]
    stored = (await events(client))[0]
    assert stored["link"] == "https://prom.example.com/graph?g0.expr=up"  # as before links
    assert [(x["title"], x["url"]) for x in stored["links"]] == [
        ("Runbook", "https://wiki.example.com/rb/memory"),
        ("Dashboard", "https://grafana.example.com/d/1"),
        ("Logs", "https://logs.example.com/q"),
        ("Source", "https://prom.example.com/graph?g0.expr=up"),
    ]


async def test_grafana_dashboard_panel_and_silence_urls_become_links(client: Client) -> None:
    payload = fixture("grafana_webhook.sample.grafana_docs.json")
    payload["alerts"][0]["dashboardURL"] = "https://play.grafana.org/d/abc"
    payload["alerts"][0]["panelURL"] = "https://play.grafana.org/d/abc?viewPanel=2"
    resp = await client.post("/hooks/grafana", json=payload)
    assert resp.status == 202
    titles = sorted([x["title"] for x in e["links"]] for e in await events(client))
    # The docs' sample leaves dashboardURL and panelURL empty on its second alert.
    assert titles == [
        ["Runbook", "Dashboard", "Panel", "Silence", "Source"],
        ["Runbook", "Silence", "Source"],
    ]
