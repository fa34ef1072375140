"""`POST /hooks/{integration_id}`: provider signatures, 24-hour idempotency, every webhook logged."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from adapters.base import hmac_hex
from adapters.webhook import sign
from bot.runtime.app import SERVICES
from storage.schema import WebhookEvent, utcnow
from tests.fakes.pagerduty import VALID_KEY, FakePagerDuty
from tests.fakes.vendors import JIRA_EMAIL, JIRA_TOKEN, FakeJira
from tests.helpers import eventually

Client = TestClient  # type: ignore[type-arg]
SECRET = "whsec-6f1d9c"


async def paged(client: Client, pd: FakePagerDuty) -> dict[str, Any]:
    settings = {"routing_key": VALID_KEY, "events_url": pd.url, "webhook_secret": SECRET}
    resp = await client.post(
        "/api/v1/integrations", json={"type": "pagerduty", "name": "pd", "settings": settings}
    )
    integration = (await resp.json())["data"]
    channel = await client.post(
        "/api/v1/channels", json={"name": "pd", "integration": integration["id"]}
    )
    channel_id = (await channel.json())["data"]["id"]
    await client.post("/api/v1/routes", json={"channel": channel_id})
    event = await client.post("/api/v1/events", json={"title": "disk full", "priority": "HIGH"})
    alert_id = (await event.json())["id"]
    await eventually(lambda: pd.incidents)
    return {"id": integration["id"], "alert_id": alert_id, "key": next(iter(pd.incidents))}


def v3_payload(
    key: str, event_type: str = "incident.acknowledged", who: str = "Tenex Engineer"
) -> bytes:
    """A v3 webhook as PagerDuty's documentation shows it."""
    status = event_type.split(".")[1]
    body = {
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2020-10-02T18:45:22.169Z",
            "agent": {
                "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                "id": "PLH1HKV",
                "self": "https://api.pagerduty.com/users/PLH1HKV",
                "summary": who,
                "type": "user_reference",
            },
            "client": {"name": "PagerDuty"},
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2,
                "status": status,
                "incident_key": key,
                "created_at": "2020-04-09T15:16:27Z",
                "title": "A little bump in the road",
                "urgency": "high",
            },
        }
    }
    return json.dumps(body).encode()


async def post(client: Client, integration_id: str, body: bytes, **headers: str) -> Any:
    client_headers = {"Content-Type": "application/json", "Authorization": "", **headers}
    return await client.post(f"/hooks/{integration_id}", data=body, headers=client_headers)


async def test_a_pagerduty_acknowledgement_acknowledges_the_alert_once(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    setup = await paged(client, pagerduty)
    body = v3_payload(setup["key"])
    # Two signatures during a secret rotation: one of them is ours.
    signature = f"v1={hmac_hex('old-secret', body)},v1={hmac_hex(SECRET, body)}"
    resp = await post(client, setup["id"], body, **{"X-PagerDuty-Signature": signature})
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["status"] == "processed" and answer["updated"] == 1
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "acknowledged"
    assert alert["acknowledged_by"] == "Tenex Engineer (in PagerDuty)"
    audit_before = len(alert["audit"])

    again = await post(client, setup["id"], body, **{"X-PagerDuty-Signature": signature})
    assert again.status == 200
    assert (await again.json()) == {"id": answer["id"], "duplicate": True, "status": "processed"}
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert len(alert["audit"]) == audit_before

    resolved = v3_payload(setup["key"], "incident.resolved")
    resp = await post(
        client,
        setup["id"],
        resolved,
        **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, resolved)}"},
    )
    assert (await resp.json())["updated"] == 1
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "resolved"
    logs = await (await client.get(f"/api/v1/integrations/{setup['id']}/logs")).json()
    hooks = logs["data"]["webhooks"]
    assert [(h["event_type"], h["status"], h["verified"]) for h in hooks] == [
        ("incident.resolved", "processed", True),
        ("incident.acknowledged", "processed", True),
    ]


async def test_forged_malformed_and_unknown_webhooks_are_refused_and_change_nothing(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    setup = await paged(client, pagerduty)
    body = v3_payload(setup["key"])
    forged = await post(client, setup["id"], body, **{"X-PagerDuty-Signature": "v1=" + "0" * 64})
    assert forged.status == 401
    assert (await forged.json())["error"]["code"] == "bad_signature"
    unsigned = await post(client, setup["id"], body)
    assert unsigned.status == 401
    tampered = body.replace(b"Tenex", b"Mallory")
    resp = await post(
        client, setup["id"], tampered, **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, body)}"}
    )
    assert resp.status == 401
    garbage = b"{not json"
    resp = await post(
        client, setup["id"], garbage, **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, garbage)}"}
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "malformed_json"
    odd = json.dumps({"something": "else"}).encode()
    resp = await post(
        client, setup["id"], odd, **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, odd)}"}
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unreadable_payload"
    assert (await post(client, "nosuchintegration", body)).status == 404
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "triggered" and alert["audit"] == []
    logs = await (await client.get(f"/api/v1/integrations/{setup['id']}/logs")).json()
    assert [h["status"] for h in logs["data"]["webhooks"]] == ["rejected"]


async def test_generic_webhooks_are_signed_like_ours_and_replays_are_refused(
    client: Client,
) -> None:
    resp = await client.post(
        "/api/v1/integrations",
        json={
            "type": "webhook",
            "name": "tracker",
            "settings": {"url": "https://example.com/x", "secret": SECRET},
        },
    )
    integration_id = (await resp.json())["data"]["id"]
    body = json.dumps({"ref": "nothing-we-sent", "state": "resolved", "by": "bot"}).encode()
    stamp = str(int(time.time()))
    good = {"X-ChatOps-Timestamp": stamp, "X-ChatOps-Signature": sign(SECRET, stamp, body)}
    resp = await post(client, integration_id, body, **good)
    assert resp.status == 200 and (await resp.json())["updated"] == 0
    old = str(int(time.time()) - 600)
    stale = {"X-ChatOps-Timestamp": old, "X-ChatOps-Signature": sign(SECRET, old, body)}
    assert (await post(client, integration_id, body, **stale)).status == 401
    # The named hooks still need the API token.
    assert (await post(client, "alertmanager", b"{}")).status == 401


async def test_a_jira_issue_moved_to_done_resolves_its_alert(client: Client) -> None:
    jira = await FakeJira().start()
    try:
        settings = {
            "site_url": jira.url,
            "email": JIRA_EMAIL,
            "api_token": JIRA_TOKEN,
            "project_key": "OPS",
            "webhook_secret": SECRET,
        }
        resp = await client.post(
            "/api/v1/integrations", json={"type": "jira", "name": "jira", "settings": settings}
        )
        integration_id = (await resp.json())["data"]["id"]
        channel = await client.post(
            "/api/v1/channels", json={"name": "jira", "integration": integration_id}
        )
        await client.post("/api/v1/routes", json={"channel": (await channel.json())["data"]["id"]})
        event = await client.post("/api/v1/events", json={"title": "queue stuck"})
        alert_id = (await event.json())["id"]
        key = (await eventually(lambda: list(jira.issues)))[0]
        jira.change(key, "resolved", "Fox Mulder")
        body = json.dumps(
            {
                "timestamp": 1795316590000,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "user": {"displayName": "Fox Mulder", "accountId": "x"},
                "issue": jira.issues[key],
            }
        ).encode()
        unsigned = await post(client, integration_id, body)
        assert unsigned.status == 401
        signed = await post(
            client, integration_id, body, **{"X-Hub-Signature": f"sha256={hmac_hex(SECRET, body)}"}
        )
        assert signed.status == 200, await signed.text()
        assert (await signed.json())["event_type"] == "jira:issue_updated"
        alert = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert alert["state"] == "resolved" and alert["resolved_by"] == "Fox Mulder (in Jira)"
    finally:
        await jira.stop()


async def test_processing_is_tried_three_times_and_the_window_is_24_hours(
    client: Client, pagerduty: FakePagerDuty, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app[SERVICES]
    setup = await paged(client, pagerduty)
    real = services.sync.apply_states
    failures = [RuntimeError("deadlock"), RuntimeError("deadlock")]

    async def flaky(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(*args)

    monkeypatch.setattr(services.sync, "apply_states", flaky)
    body = v3_payload(setup["key"])
    headers = {"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, body)}"}
    resp = await post(client, setup["id"], body, **headers)
    assert resp.status == 200 and (await resp.json())["updated"] == 1
    logs = await (await client.get(f"/api/v1/integrations/{setup['id']}/logs")).json()
    assert logs["data"]["webhooks"][0]["attempts"] == 3

    async def broken(*args: Any) -> Any:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(services.sync, "apply_states", broken)
    other = v3_payload(setup["key"], "incident.resolved")
    resp = await post(
        client, setup["id"], other, **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, other)}"}
    )
    assert resp.status == 503  # PagerDuty delivers it again later
    logs = await (await client.get(f"/api/v1/integrations/{setup['id']}/logs")).json()
    newest = logs["data"]["webhooks"][0]
    assert (newest["status"], newest["attempts"]) == ("failed", 3)

    # A day later the same body is new again.
    async with services.db.session() as session, session.begin():
        await session.execute(
            update(WebhookEvent).values(received_at=utcnow() - timedelta(hours=25))
        )
    monkeypatch.setattr(services.sync, "apply_states", real)
    again = await post(client, setup["id"], body, **headers)
    assert (await again.json())["status"] == "processed"


async def leave_unapplied(client: Client, integration_id: str, body: bytes, ago: float) -> str:
    """The state a kill -9 leaves between recording a webhook and applying it."""
    import hashlib

    from bot.infra import jsonbody

    services = client.app[SERVICES]
    event_id = hashlib.sha256(integration_id.encode() + b"\0" + body).hexdigest()
    integration = await (await client.get(f"/api/v1/integrations/{integration_id}")).json()
    async with services.db.session() as session, session.begin():
        session.add(
            WebhookEvent(
                id=event_id,
                tenant_id="default",
                integration_id=integration_id,
                provider=integration["data"]["type"],
                event_type="incident.acknowledged",
                payload=jsonbody.parse(body)[0],
                verified=True,
                status="received",
                attempts=0,
                received_at=utcnow() - timedelta(seconds=ago),
            )
        )
    return event_id


async def test_a_webhook_recorded_but_never_applied_is_applied_on_redelivery(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    setup = await paged(client, pagerduty)
    body = v3_payload(setup["key"])
    await leave_unapplied(client, setup["id"], body, ago=1)
    resp = await post(
        client, setup["id"], body, **{"X-PagerDuty-Signature": f"v1={hmac_hex(SECRET, body)}"}
    )
    assert resp.status == 200
    assert (await resp.json())["status"] == "processed"
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "acknowledged"


async def test_the_sweeper_applies_webhooks_left_by_a_dead_process(
    client: Client, pagerduty: FakePagerDuty
) -> None:
    from bot.runtime.scheduling import SchedulerService

    setup = await paged(client, pagerduty)
    await leave_unapplied(client, setup["id"], v3_payload(setup["key"]), ago=120)
    applied = await SchedulerService(client.app[SERVICES]).apply_webhooks()
    assert applied == 1
    alert = await (await client.get(f"/api/v1/events/{setup['alert_id']}")).json()
    assert alert["state"] == "acknowledged"
    again = await SchedulerService(client.app[SERVICES]).apply_webhooks()
    assert again == 0
