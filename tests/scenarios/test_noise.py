"""Less noise, first step: events carry labels, routes take Alertmanager's label matchers and
`continue`, through the real entry points (REST, the Alertmanager webhook, Slack commands)."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from bot.runtime.scheduling import SchedulerService
from tests.fakes.slack import FakeSlack
from tests.fixtures import FIXTURES
from tests.helpers import eventually
from tests.scenarios.slackops import slash, texts

Client = TestClient  # type: ignore[type-arg]
WEBHOOK = FIXTURES / "alertmanager" / "webhook_v4.sample_1_alert.prometheus_msteams_testdata.json"


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def firing(name: str, **labels: str) -> dict[str, Any]:
    """Alertmanager's webhook (its own sample) with one alert of these labels."""
    body = json.loads(WEBHOOK.read_text())
    alert = copy.deepcopy(body["alerts"][0])
    alert["labels"] = {"alertname": name, **labels}
    alert["fingerprint"] = f"fp-{name}-{'-'.join(labels.values())}"
    body["alerts"], body["commonLabels"] = [alert], {"alertname": name}
    return body


async def test_routes_match_labels_in_alertmanagers_syntax_and_continue_false_stops(
    bot: Client, slack: FakeSlack
) -> None:
    slack.channels["C222"] = {"member": True, "archived": False}
    ops = await slash(bot, 'subscribe env!="dev"')  # C111 becomes "slack:ops"
    assert 'Only alerts whose labels match env!="dev"' in (await ops.json())["text"]
    db = await slash(bot, 'subscribe severity="critical" team=~"db|storage"', channel="C222")
    said = (await db.json())["text"]
    assert 'Only alerts whose labels match severity="critical", team=~"db|storage"' in said

    async def post_am(body: dict[str, Any]) -> None:
        await ok(await bot.post("/hooks/alertmanager", json=body), 202)

    def cards(channel: str) -> list[str]:
        return [texts(m.blocks) for m in slack.in_channel(channel)]

    await post_am(firing("DiskFull", severity="critical", team="storage", env="prod"))
    await post_am(firing("DiskSlow", severity="warning", team="db", env="prod"))
    await post_am(firing("DevBroke", severity="critical", team="db", env="dev"))
    await eventually(lambda: len(cards("C111")) >= 2 and len(cards("C222")) >= 2)
    await asyncio.sleep(1.5)  # long enough for a wrongly routed card to have arrived
    assert sum("DiskFull" in t for t in cards("C222")) == 1
    assert sum("DevBroke" in t for t in cards("C222")) == 1  # env is not the db route's concern
    assert not any("DiskSlow" in t for t in cards("C222"))  # a warning
    assert len(cards("C111")) == 2 and not any("DevBroke" in t for t in cards("C111"))
    assert any("🏷 alertname=DiskFull · severity=critical" in t for t in cards("C222"))

    routes = (await ok(await bot.get("/api/v1/routes")))["data"]
    assert [r["matchers"] for r in routes] == [
        ['env!="dev"'],
        ['severity="critical"', 'team=~"db|storage"'],
    ]
    assert all(r["continue"] is True for r in routes)
    listed = (await (await slash(bot, "routes")).json())["text"]
    assert 'env!="dev"' in listed and 'team=~"db|storage"' in listed

    # A route that says continue: false keeps what it takes from every later route.
    for route in routes:
        await ok(await bot.delete(f"/api/v1/routes/{route['id']}"))
    first = {"channel": "slack:ops (C222)", "matchers": ['team="payments"'], "continue": False}
    await ok(await bot.post("/api/v1/routes", json=first), 201)
    await ok(await bot.post("/api/v1/routes", json={"channel": "slack:ops"}), 201)
    assert "stops here" in (await (await slash(bot, " routes")).json())["text"]
    before = len(cards("C111"))
    await post_am(firing("CardDeclines", severity="critical", team="payments", env="prod"))
    await post_am(firing("Latency", severity="critical", team="web", env="prod"))
    await eventually(lambda: any("CardDeclines" in t for t in cards("C222")))
    await eventually(lambda: any("Latency" in t for t in cards("C111")))
    await asyncio.sleep(1.5)
    assert not any("CardDeclines" in t for t in cards("C111")[before:])
    assert not any("Latency" in t for t in cards("C222"))


async def test_labels_come_in_by_rest_and_bad_ones_are_said(bot: Client) -> None:
    made = await ok(
        await bot.post(
            "/api/v1/events",
            json={
                "title": "Checkout slow",
                "labels": {"service": "checkout", "tier": 1, "bad-name": "x"},
            },
        ),
        202,
    )
    assert made["cleaned"] == ["labels.bad-name: not a label name (letters, digits, _): dropped"]
    event = await ok(await bot.get(f"/api/v1/events/{made['id']}"))
    assert event["labels"] == {"service": "checkout", "tier": "1"}
    hook = {"name": "hook", "type": "webhook", "target": "http://127.0.0.1:9/x"}
    await ok(await bot.post("/api/v1/channels", json=hook), 201)
    for matchers, said in (
        (['team=~"(db"'], "matchers[0]: team=~: not a regular expression"),
        (["team"], "matchers[0]: team: expected =, !=, =~ or !~ after the name"),
        ({"team": "db"}, "matchers: expected a list or text, got a mapping"),
    ):
        refused = await bot.post("/api/v1/routes", json={"channel": "hook", "matchers": matchers})
        assert refused.status == 400
        assert said in (await refused.json())["error"]["message"]
    assert (await ok(await bot.get("/api/v1/routes")))["data"] == []


async def test_a_silence_keeps_matching_alerts_off_the_channel_until_it_ends(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    said = await (await slash(bot, 'silence service="db" 2h disk swap', user="U222")).json()
    assert said["text"].startswith('Silenced service="db" until ')
    silence_id = said["text"].split("`")[1]

    async def post_am(body: dict[str, Any]) -> None:
        await ok(await bot.post("/hooks/alertmanager", json=body), 202)

    def cards() -> list[str]:
        return [texts(m.blocks) for m in slack.in_channel("C111")]

    await post_am(firing("DiskFull", service="db", env="prod"))
    await post_am(firing("Latency", service="web", env="prod"))
    await eventually(lambda: any("Latency" in t for t in cards()))
    await post_am(firing("DiskFull", service="db", env="prod"))  # a repeat, still muted
    await asyncio.sleep(1.5)  # long enough for a muted card to have been posted
    assert not any("DiskFull" in t for t in cards())
    muted = (await ok(await bot.get("/api/v1/events?muted=true")))["events"]
    assert len(muted) == 1 and "alertname" in muted[0]["labels"]
    assert muted[0]["muted_by"].startswith(f"silence:{silence_id}")
    listed = (await (await slash(bot, "silences")).json())["text"]
    assert 'service="db"' in listed and "(active, by slack:U222): disk swap" in listed

    expired = (await (await slash(bot, f"silence expire {silence_id}")).json())["text"]
    assert expired.startswith(f"Silence `{silence_id}` expired")
    work = SchedulerService(bot.app[SERVICES])
    assert await work.tend_escalations() == 1
    await eventually(lambda: len(cards()) == 2)
    event = await ok(await bot.get(f"/api/v1/events/{muted[0]['id']}"))
    assert event["muted_by"] is None
    verbs = [a["verb"] for a in event["audit"] if a["verb"] in ("muted", "unmuted")]
    assert verbs == ["muted", "unmuted"]  # oldest first
    kinds = [e["kind"] for e in (await ok(await bot.get("/api/v1/audit?kind=silence")))["entries"]]
    assert kinds == ["silence.expire", "silence.create"]


async def test_silences_over_rest_refuse_what_would_mute_everything(bot: Client) -> None:
    for body, said in (
        ({"matchers": ['env!="dev"'], "duration": "1h"}, "would mute everything"),
        ({"matchers": ["service"], "duration": "1h"}, "expected =, !=, =~ or !~"),
        ({"matchers": ['service="db"']}, "ends_at or duration"),
        ({"matchers": ['service="db"'], "duration": "soon"}, "not a duration"),
        ({"matchers": ['service="db"'], "ends_at": "2020-01-01T00:00:00Z"}, "after now"),
    ):
        refused = await bot.post("/api/v1/silences", json=body)
        assert refused.status == 400, body
        assert said in (await refused.json())["error"]["message"]
    made = await ok(
        await bot.post(
            "/api/v1/silences", json={"matchers": ['service=~"db|cache"'], "duration": "30m"}
        ),
        201,
    )
    assert made["data"]["state"] == "active" and made["data"]["created_by"] == "operator"
    listed = (await ok(await bot.get("/api/v1/silences")))["data"]
    assert [s["matchers"] for s in listed] == [['service=~"db|cache"']]
    gone = await ok(await bot.delete(f"/api/v1/silences/{made['data']['id']}"))
    assert gone["data"]["state"] == "expired"
    assert (await ok(await bot.get("/api/v1/silences")))["data"] == []


async def test_a_firing_cluster_down_mutes_its_clusters_warnings_until_it_resolves(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    rule = {
        "source_matchers": ['alertname="ClusterDown"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["cluster"],
    }
    made = await ok(await bot.post("/api/v1/inhibit-rules", json=rule), 201)
    rule_id = made["data"]["id"]

    async def post_am(body: dict[str, Any]) -> None:
        await ok(await bot.post("/hooks/alertmanager", json=body), 202)

    def cards() -> list[str]:
        return [texts(m.blocks) for m in slack.in_channel("C111")]

    down = firing("ClusterDown", severity="critical", cluster="eu")
    await post_am(down)
    await eventually(lambda: any("ClusterDown" in t for t in cards()))
    await post_am(firing("QueueSlow", severity="warning", cluster="eu"))
    await post_am(firing("QueueSlow", severity="warning", cluster="us"))
    await eventually(lambda: len(cards()) >= 2)
    await asyncio.sleep(1.5)  # long enough for the muted warning to have been posted
    assert len(cards()) == 2  # the cluster down and us's warning; eu's is kept back
    muted = (await ok(await bot.get("/api/v1/events?muted=true")))["events"]
    assert [(e["muted_by"], e["labels"]["cluster"]) for e in muted] == [
        (f"inhibit:{rule_id}", "eu")
    ]
    event = await ok(await bot.get(f"/api/v1/events/{muted[0]['id']}"))
    why = next(a for a in event["audit"] if a["verb"] == "muted")
    assert why["data"]["rule"] == rule_id and why["data"]["source_title"]

    # The source resolves: the warning still fires, so it is posted now.
    down["status"], down["alerts"][0]["status"] = "resolved", "resolved"
    await post_am(down)
    assert await SchedulerService(bot.app[SERVICES]).tend_escalations() == 1
    await eventually(lambda: len(cards()) == 3)
    assert (await ok(await bot.get("/api/v1/events?muted=true")))["events"] == []
    listed = (await ok(await bot.get("/api/v1/inhibit-rules")))["data"]
    assert listed == [{**rule, "id": rule_id, "created_by": "operator"}]
    bad = await bot.post("/api/v1/inhibit-rules", json={**rule, "equal": ["not-a-label"]})
    assert bad.status == 400


async def test_a_rule_made_while_its_source_fires_mutes_from_then_on(
    bot: Client, slack: FakeSlack
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    down = firing("ClusterDown", severity="critical", cluster="eu")
    await ok(await bot.post("/hooks/alertmanager", json=down), 202)
    await eventually(lambda: len(slack.in_channel("C111")) == 1)
    rule = {
        "source_matchers": ['alertname="ClusterDown"'],
        "target_matchers": ['severity="warning"'],
    }
    rule_id = (await ok(await bot.post("/api/v1/inhibit-rules", json=rule), 201))["data"]["id"]
    await ok(
        await bot.post("/hooks/alertmanager", json=firing("QueueSlow", severity="warning")), 202
    )
    muted = await eventually(lambda: _muted(bot))
    assert [e["muted_by"] for e in muted] == [f"inhibit:{rule_id}"]
    await asyncio.sleep(1.0)  # long enough for a wrongly posted warning to have arrived
    assert len(slack.in_channel("C111")) == 1


async def _muted(bot: Client) -> list[dict[str, Any]]:
    return list((await ok(await bot.get("/api/v1/events?muted=true")))["events"])


async def test_a_routes_maintenance_window_keeps_its_alerts_quiet_until_it_ends(
    bot: Client, slack: FakeSlack
) -> None:
    said = (await (await slash(bot, "subscribe")).json())["text"]
    route_id = said.split("Route `")[1].split("`")[0]
    await ok(await bot.delete(f"/api/v1/routes/{route_id}"))
    today = datetime.now(UTC).strftime("%A").lower()
    window = {"name": "maintenance", "time_intervals": [{"weekdays": [today], "location": "UTC"}]}
    await ok(await bot.post("/api/v1/time-intervals", json=window), 201)
    unknown = await bot.post(
        "/api/v1/routes", json={"channel": "slack:ops", "mute_time_intervals": ["nope"]}
    )
    assert unknown.status == 400
    assert "no time interval 'nope'" in (await unknown.json())["error"]["message"]
    route = {"channel": "slack:ops", "mute_time_intervals": ["maintenance"]}
    await ok(await bot.post("/api/v1/routes", json=route), 201)

    await ok(await bot.post("/hooks/alertmanager", json=firing("DiskFull", env="prod")), 202)
    await asyncio.sleep(1.5)  # long enough for a card to have been posted
    assert slack.in_channel("C111") == []
    muted = (await ok(await bot.get("/api/v1/events?muted=true")))["events"]
    assert [e["muted_by"] for e in muted] == ["interval:maintenance"]
    in_use = await bot.delete("/api/v1/time-intervals/maintenance")
    assert in_use.status == 409

    tomorrow = SchedulerService(
        bot.app[SERVICES], clock=lambda: datetime.now(UTC) + timedelta(days=1)
    )
    assert await tomorrow.tend_escalations() == 1  # the window is over: posted now
    await eventually(lambda: slack.in_channel("C111"))
    assert (await ok(await bot.get("/api/v1/events?muted=true")))["events"] == []


async def test_a_tenants_key_reaches_its_own_policies_silences_rules_and_intervals_only(
    bot: Client,
) -> None:
    secret, _ = await bot.app[SERVICES].keys.create("acme", "acme-admin", "admin", by="test")
    acme = {"Authorization": f"Bearer {secret}"}
    window = {
        "name": "nights",
        "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}],
    }
    made = {
        "/api/v1/silences": {"matchers": ['service="db"'], "duration": "1h"},
        "/api/v1/inhibit-rules": {"source_matchers": ['a="1"'], "target_matchers": ['b="2"']},
        "/api/v1/time-intervals": window,
        "/api/v1/heartbeats": {"name": "backup", "interval": "15m"},
    }
    for path, body in made.items():
        await ok(await bot.post(path, json=body), 201)  # the operator, tenant default
        assert (await ok(await bot.get(path, headers=acme)))["data"] == [], path
    silence = (await ok(await bot.get("/api/v1/silences")))["data"][0]["id"]
    gone = await bot.delete(f"/api/v1/silences/{silence}", headers=acme)
    assert gone.status == 404
    assert (await bot.delete("/api/v1/time-intervals/nights", headers=acme)).status == 404
    assert (await ok(await bot.get("/api/v1/silences")))["data"][0]["state"] == "active"
    for call in (bot.post, bot.get):  # another tenant's heartbeat: not pinged, not seen
        assert (await call("/hooks/heartbeats/backup", headers=acme)).status == 404
    assert (await bot.post("/api/v1/heartbeats/backup/pause", headers=acme)).status == 404
    assert (await bot.delete("/api/v1/heartbeats/backup", headers=acme)).status == 404
    backup = (await ok(await bot.get("/api/v1/heartbeats/backup")))["data"]
    assert backup["state"] == "waiting" and backup["last_ping_at"] is None
    await ok(await bot.post("/api/v1/people", json={"name": "ana"}), 201)
    policy = {"name": "p", "steps": [{"notify": [{"person": "ana"}], "wait": "1m"}]}
    await ok(await bot.post("/api/v1/escalation-policies", json=policy), 201)
    assert (await ok(await bot.get("/api/v1/escalation-policies", headers=acme)))["data"] == []
    assert (await bot.get("/api/v1/escalation-policies/p", headers=acme)).status == 404
    assert (await bot.delete("/api/v1/escalation-policies/p", headers=acme)).status == 404
    theirs = await bot.post("/api/v1/escalation-policies", json=policy, headers=acme)
    assert theirs.status == 400  # default's "ana" is not acme's
    assert "no person 'ana'" in (await theirs.json())["error"]["message"]
