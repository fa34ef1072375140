"""The events API: accepted events are stored once; bad input gets a 4xx that names the problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

Client = TestClient  # type: ignore[type-arg]


async def count_events(client: Client) -> int:
    resp = await client.get("/api/v1/events")
    return int((await resp.json())["total"])


async def test_an_event_is_accepted_and_readable(client: Client) -> None:
    event = {
        "tenant": "default",
        "event_type": "integration.sync.failed",
        "priority": "HIGH",
        "title": 'Sync of "Jira - Platform" failed after 3 attempts',
        "body": "HTTP 401 from the Jira API. Check the credentials.",
        "link": "https://example.com/integrations/42/sync/7",
        "source": "jira",
        "dedup_key": "jira-42-sync",
        "stakeholders": ["SRE", "DEVOPS"],
        "facts": {"integration": "Jira - Platform", "attempts": "3"},
        "correlation_id": "task-7",
        "metadata": {},
    }
    resp = await client.post("/api/v1/events", json=event)
    assert resp.status == 202
    data = await resp.json()
    assert data["dedup_key"] == "jira-42-sync"
    assert data["state"] == "triggered"
    assert data["deduplicated"] is False
    one = await (await client.get(f"/api/v1/events/{data['id']}")).json()
    assert one["title"] == event["title"]
    assert one["priority"] == "HIGH"
    assert one["stakeholders"] == ["SRE", "DEVOPS"]
    assert one["facts"] == {"integration": "Jira - Platform", "attempts": "3"}
    assert one["deliveries"] == [] and one["audit"] == []


async def test_a_repeat_while_open_updates_the_same_alert(client: Client) -> None:
    first = await (
        await client.post("/api/v1/events", json={"title": "disk 91%", "dedup_key": "d1"})
    ).json()
    again = await (
        await client.post(
            "/api/v1/events", json={"title": "disk 97%", "dedup_key": "d1", "priority": "CRITICAL"}
        )
    ).json()
    assert again["id"] == first["id"]
    assert again["deduplicated"] is True
    one = await (await client.get(f"/api/v1/events/{first['id']}")).json()
    assert one["occurrences"] == 2
    assert one["title"] == "disk 97%"
    assert one["priority"] == "CRITICAL"
    assert one["last_seen"] >= one["first_seen"]
    assert await count_events(client) == 1


async def test_notification_types_map_to_priorities(client: Client) -> None:
    for kind, priority in [
        ("alert", "CRITICAL"),
        ("error", "HIGH"),
        ("warning", "MEDIUM"),
        ("information", "INFO"),
    ]:
        data = await (
            await client.post("/api/v1/events", json={"title": kind, "type": kind})
        ).json()
        one = await (await client.get(f"/api/v1/events/{data['id']}")).json()
        assert one["priority"] == priority


async def test_list_filters_by_state_priority_and_type(client: Client) -> None:
    await client.post("/api/v1/events", json={"title": "a", "priority": "LOW", "event_type": "x.a"})
    await client.post(
        "/api/v1/events", json={"title": "b", "priority": "HIGH", "event_type": "x.b"}
    )
    by_priority = await (await client.get("/api/v1/events?priority=HIGH")).json()
    assert [e["title"] for e in by_priority["events"]] == ["b"]
    by_type = await (await client.get("/api/v1/events?type=x.a")).json()
    assert [e["title"] for e in by_type["events"]] == ["a"]
    by_state = await (await client.get("/api/v1/events?state=resolved")).json()
    assert by_state["events"] == [] and by_state["total"] == 0
    bad = await client.get("/api/v1/events?state=sleeping")
    assert bad.status == 400


BAD: list[tuple[str, Any, dict[str, str], int, str, str]] = [
    ("malformed json", b'{"title": "x",', {}, 400, "malformed_json", "not valid JSON"),
    ("not an object", b'["title"]', {}, 400, "invalid_event", "JSON object"),
    ("empty body", b"", {}, 400, "empty_body", "empty"),
    ("missing title", b'{"body": "no title"}', {}, 422, "missing_title", "title: required"),
    ("blank title", b'{"title": "   "}', {}, 422, "missing_title", "title: required"),
    (
        "unknown priority",
        b'{"title": "x", "priority": "URGENT"}',
        {},
        422,
        "bad_priority",
        "priority: unknown 'URGENT'; use one of CRITICAL HIGH MEDIUM LOW INFO",
    ),
    (
        "unknown type",
        b'{"title": "x", "type": "panic"}',
        {},
        422,
        "bad_type",
        "type: unknown 'panic'",
    ),
    ("title not text", b'{"title": 42}', {}, 400, "invalid_event", "title: must be a string"),
    (
        "nested 100,000 deep",
        b'{"title": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        {},
        400,
        "malformed_json",
        "nested deeper than 64",
    ),
    (
        "an integer of 5,000 digits",
        b'{"title": "x", "facts": {"n": ' + b"9" * 5000 + b"}}",
        {},
        400,
        "malformed_json",
        "digits",
    ),
    ("a lone surrogate", b'{"title": "a\\ud800"}', {}, 400, "malformed_json", "surrogate"),
    ("NaN", b'{"title": "x", "facts": {"n": NaN}}', {}, 400, "malformed_json", "NaN"),
    ("not UTF-8", b'{"title": "\xff\xfe"}', {}, 400, "malformed_json", "UTF-8"),
    (
        "tenant too long",
        json.dumps({"title": "x", "tenant": "t" * 65}).encode(),
        {},
        400,
        "invalid_event",
        "tenant: 65 characters",
    ),
    (
        "tenant not text",
        b'{"title": "x", "tenant": ["a"]}',
        {},
        400,
        "invalid_event",
        "tenant: must be",
    ),
    (
        "body over 1 MB",
        json.dumps({"title": "x", "body": "y" * (1024 * 1024)}).encode(),
        {},
        413,
        "body_too_large",
        "1 MB",
    ),
    ("missing token", b'{"title": "x"}', {"Authorization": ""}, 401, "missing_token", "Bearer"),
    ("wrong token", b'{"title": "x"}', {"Authorization": "Bearer nope"}, 401, "bad_token", "wrong"),
    (
        "not bearer",
        b'{"title": "x"}',
        {"Authorization": "Basic abc"},
        401,
        "missing_token",
        "Bearer",
    ),
]


@pytest.mark.parametrize("label,body,headers,status,code,message", BAD, ids=[b[0] for b in BAD])
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: Client,
    label: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    resp = await client.post(
        "/api/v1/events", data=body, headers={"Content-Type": "application/json", **headers}
    )
    assert resp.status == status
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert message in error["message"]
    assert await count_events(client) == 0


async def test_unknown_paths_and_events_are_json_404s(client: Client) -> None:
    resp = await client.get("/api/v1/events/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.get("/no/such/path")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_an_event_is_never_refused_for_its_content(client: Client) -> None:
    """Long text is stored whole; an unsafe or over-long link is dropped and said so."""
    event = {
        "title": "T" * 5_000,
        "body": "B" * 200_000,
        "facts": {f"f{i}": str(i) for i in range(500)},
        "link": "javascript:alert(1)",
        "stakeholders": [f"team{i}" for i in range(80)],
        "dedup_key": "k" * 300,
    }
    resp = await client.post("/api/v1/events", json=event)
    assert resp.status == 202
    answer = await resp.json()
    assert "link: javascript: dropped" in answer["cleaned"]
    assert "stakeholders: 80 entries, the first 50 kept" in answer["cleaned"]
    assert "dedup_key: 300 characters, shortened to 255" in answer["cleaned"]
    one = await (await client.get(f"/api/v1/events/{answer['id']}")).json()
    assert one["title"] == "T" * 5_000 and len(one["body"]) == 200_000
    assert len(one["facts"]) == 500 and one["link"] is None
    assert [a["data"]["cleaned"] for a in one["audit"] if a["verb"] == "cleaned"] == [
        answer["cleaned"]
    ]
    again = await (await client.post("/api/v1/events", json=event)).json()
    assert again["deduplicated"] is True and again["id"] == answer["id"]


@pytest.mark.parametrize(
    "link,note",
    [
        ("https://example.com/" + "a" * 3000, "link: 3020 characters, over 2048: dropped"),
        ("http://example.com:99999/", "link: http: dropped"),
        ("http://[::1/", "link: http: dropped"),
        ("http://1.1.1.1\t/", "link: http: dropped"),
        ("data:text/html,hi", "link: data: dropped"),
        ("//evil.example/x", "link: not a URL dropped"),
    ],
)
async def test_a_bad_link_is_dropped_not_refused(client: Client, link: str, note: str) -> None:
    resp = await client.post("/api/v1/events", json={"title": "x", "link": link})
    assert resp.status == 202
    assert (await resp.json())["cleaned"] == [note]


async def test_nul_characters_are_removed_and_said(client: Client) -> None:
    """PostgreSQL cannot store NUL in text: it is removed, on both databases alike."""
    resp = await client.post(
        "/api/v1/events", json={"title": "disk\u0000full", "facts": {"a\u0000": "b\u0000"}}
    )
    assert resp.status == 202
    answer = await resp.json()
    assert answer["cleaned"] == [
        "facts: NUL characters removed",
        "facts.a: NUL characters removed",
        "title: NUL characters removed",
    ]
    one = await (await client.get(f"/api/v1/events/{answer['id']}")).json()
    assert one["title"] == "diskfull" and one["facts"] == {"a": "b"}


async def test_a_failed_request_leaves_its_tenant_usable(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that fails after creating a new tenant rolls back; the next one still works."""
    from storage import intake

    def failing_once(real: Any) -> Any:
        calls = 0

        async def fail_first(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("the database went away mid-request")
            return await real(*args, **kwargs)

        return fail_first

    # Both ways an event is written fail once: in a batch, then alone when the batch failed.
    monkeypatch.setattr(intake, "open_rows", failing_once(intake.open_rows))
    monkeypatch.setattr(intake, "store", failing_once(intake.store))
    first = await client.post("/api/v1/events", json={"title": "x", "tenant": "newten"})
    assert first.status == 500
    second = await client.post("/api/v1/events", json={"title": "y", "tenant": "newten"})
    assert second.status == 202
    listed = await (await client.get("/api/v1/events?tenant=newten")).json()
    assert [e["title"] for e in listed["events"]] == ["y"]


@pytest.mark.parametrize("path", ["/api/v1/events", "/hooks/alertmanager?tenant=newten"])
async def test_a_refused_body_does_not_block_its_tenant(client: Client, path: str) -> None:
    bad = b'{"title": "a\\ud800", "tenant": "newten", "dedup_key": "pk1", "alerts": [{"labels": {"alertname": "a\\ud800"}}]}'
    resp = await client.post(path, data=bad, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    good = {
        "title": "ok",
        "tenant": "newten",
        "alerts": [{"labels": {"alertname": "ok"}, "status": "firing"}],
    }
    assert (await client.post(path, json=good)).status == 202


@pytest.mark.parametrize(
    "actor,status,shown",
    [
        ("a" * 200, 200, "a" * 200),
        ("é" * 200, 200, "é" * 200),
        ("x\u0000y", 200, "xy"),
        ("a" * 201, 400, None),
    ],
)
async def test_an_actor_up_to_200_characters_acts(
    client: Client, actor: str, status: int, shown: str | None
) -> None:
    event = await (await client.post("/api/v1/events", json={"title": "x"})).json()
    resp = await client.post(f"/api/v1/events/{event['id']}/acknowledge", json={"actor": actor})
    assert resp.status == status, await resp.text()
    detail = await (await client.get(f"/api/v1/events/{event['id']}")).json()
    assert detail["acknowledged_by"] == shown


async def test_links_are_kept_up_to_five_and_bad_ones_dropped(client: Client) -> None:
    links = [
        {"title": "Runbook", "url": "https://wiki.example.com/rb"},
        {"url": "https://grafana.example.com/d/1"},
        {"title": "x", "url": "javascript:alert(1)"},
        "not a link",
        {"title": "a", "url": "https://a.example.com"},
        {"title": "b", "url": "https://b.example.com"},
        {"title": "c", "url": "https://c.example.com"},
        {"title": "d", "url": "https://d.example.com"},
    ]
    resp = await client.post("/api/v1/events", json={"title": "x", "links": links})
    assert resp.status == 202
    answer = await resp.json()
    assert answer["cleaned"] == [
        "links[2].url: javascript: dropped",
        "links[3]: not an object: dropped",
        "links: 6 given, the first 5 kept",
    ]
    one = await (await client.get(f"/api/v1/events/{answer['id']}")).json()
    assert [(x["title"], x["url"]) for x in one["links"]] == [
        ("Runbook", "https://wiki.example.com/rb"),
        ("grafana.example.com", "https://grafana.example.com/d/1"),
        ("a", "https://a.example.com"),
        ("b", "https://b.example.com"),
        ("c", "https://c.example.com"),
    ]
    bad = await client.post("/api/v1/events", json={"title": "x", "links": "https://a.b"})
    assert bad.status == 400


async def test_unknown_fields_are_said_to_be_ignored(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.post(
        "/api/v1/events", json={"title": "x", "severity": "high", "summary": "typo'd fields"}
    )
    assert resp.status == 202
    assert (await resp.json())["cleaned"] == [
        "severity: not a field of an event: ignored",
        "summary: not a field of an event: ignored",
    ]
