"""Snoozing an Alertmanager alert silences it in the real Alertmanager; the end expires it."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from tests.alertmanager import alertmanager, silences
from tests.fixtures import FIXTURES

Client = TestClient  # type: ignore[type-arg]
WEBHOOK = FIXTURES / "alertmanager" / "webhook_v4.sample_1_alert.prometheus_msteams_testdata.json"


@pytest.fixture
def am(tmp_path: Path) -> Iterator[str]:
    with alertmanager(tmp_path / "alertmanager") as url:
        yield url


async def connect(client: Client, url: str) -> str:
    resp = await client.post(
        "/api/v1/integrations",
        json={"type": "alertmanager", "name": "prod-am", "settings": {"url": url}},
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["data"]["id"])


async def fire(client: Client, status: str = "firing") -> tuple[str, dict[str, str]]:
    payload: dict[str, Any] = json.loads(WEBHOOK.read_text())
    if status == "resolved":
        payload = copy.deepcopy(payload)
        payload["status"] = "resolved"
        for alert in payload["alerts"]:
            alert["status"] = "resolved"
    resp = await client.post("/hooks/alertmanager", json=payload)
    assert resp.status == 202, await resp.text()
    alert_id = str((await resp.json())["events"][0]["id"])
    labels = {**payload["commonLabels"], **payload["alerts"][0]["labels"]}
    return alert_id, labels


async def act(client: Client, alert_id: str, verb: str, **body: Any) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/events/{alert_id}/{verb}", json={"actor": "Dana Ops", **body}
    )
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def states(url: str) -> list[str]:
    return [str(s["status"]["state"]) for s in silences(url)]  # type: ignore[index]


async def test_the_connection_test_reads_alertmanagers_status(client: Client, am: str) -> None:
    integration_id = await connect(client, am)
    outcome = await (await client.post(f"/api/v1/integrations/{integration_id}/test")).json()
    assert outcome["data"]["success"] is True, outcome
    assert outcome["data"]["detail"].startswith("Alertmanager 0.2")
    channel = await client.post(
        "/api/v1/channels", json={"name": "nope", "integration": integration_id}
    )
    assert channel.status == 400  # it silences; it is not somewhere to send alerts


async def test_snooze_silences_the_alert_and_unsnooze_or_resolve_expires_it(
    client: Client, am: str
) -> None:
    await connect(client, am)
    alert_id, labels = await fire(client)
    snoozed = await act(client, alert_id, "snooze", minutes=30)
    assert "Silenced in Alertmanager" in snoozed["message"]
    [silence] = silences(am)
    assert silence["status"] == {"state": "active"}
    assert silence["matchers"] == [
        {"name": k, "value": v, "isRegex": False, "isEqual": True}
        for k, v in sorted(labels.items())
    ]
    assert silence["createdBy"] == "ChatOps (Dana Ops)"
    assert f"/alerts/{alert_id}/" in str(silence["comment"])
    assert str(silence["endsAt"])[:16] == snoozed["snoozed_until"][:16]

    unsnoozed = await act(client, alert_id, "unsnooze")
    assert "Alertmanager silence is expired" in unsnoozed["message"]
    assert states(am) == ["expired"]

    await act(client, alert_id, "snooze", minutes=60)
    assert sorted(states(am)) == ["active", "expired"]
    await act(client, alert_id, "resolve")
    assert states(am) == ["expired", "expired"]


async def test_a_resolve_from_alertmanager_expires_the_silence_on_the_next_round(
    client: Client, am: str
) -> None:
    await connect(client, am)
    alert_id, _ = await fire(client)
    await act(client, alert_id, "snooze", minutes=240)
    assert states(am) == ["active"]
    await fire(client, "resolved")  # the source says it cleared; the snooze ends with it
    services = client.app[SERVICES]
    assert services.actions.silences is not None
    assert await services.actions.silences.tend() == 1
    assert states(am) == ["expired"]
    assert await services.actions.silences.tend() == 0  # nothing left to put right


async def test_when_alertmanager_is_down_the_snooze_holds_and_the_silence_follows(
    client: Client, tmp_path: Path
) -> None:
    with alertmanager(tmp_path / "first") as url:
        port = url.rsplit(":", 1)[1]
    resp = await client.post(
        "/api/v1/integrations",
        json={
            "type": "alertmanager",
            "name": "prod-am",
            "settings": {"url": f"http://127.0.0.1:{port}"},
        },
    )
    assert resp.status == 201
    alert_id, _ = await fire(client)
    snoozed = await act(client, alert_id, "snooze", minutes=30)
    assert snoozed["snoozed_by"] == "Dana Ops"  # the snooze itself is not lost
    assert "Alertmanager: " in snoozed["message"] and "tried again" in snoozed["message"]
    services = client.app[SERVICES]
    assert services.actions.silences is not None
    assert await services.actions.silences.tend() == 0  # still down
    with alertmanager(tmp_path / "second", port=int(port)) as url:
        assert await services.actions.silences.tend() == 1  # the scheduler's next round
        assert states(url) == ["active"]
        await act(client, alert_id, "unsnooze")
        assert states(url) == ["expired"]
