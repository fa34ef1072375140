"""Configuration as code: bot A set up by hand, exported; an empty bot B applies the file and
becomes the same, byte for byte, routing alike; bad files change nothing."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.core import config_reading
from bot.core.config_export import export_document, to_yaml
from bot.infra.settings import Settings
from bot.runtime.app import SERVICES, create_app
from tests.conftest import API_TOKEN
from tests.fakes.sink import Sink
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers import chatops_cli
from tests.pg import Cluster
from tests.scenarios.slackops import slash

Client = TestClient  # type: ignore[type-arg]
_names = itertools.count()
HOOK_URL = "/hooks/T0/SECRETURLPART"
SECRETS = {
    "CHATOPS_SECRET_OPS_HOOK_SECRET": "HMAC-SECRET-4b1d",
    "CHATOPS_SECRET_PAGING_ROUTING_KEY": "R0UTINGKEY0123456789abcdef012345",
    "CHATOPS_SECRET_SLACK_BOT_TOKEN": BOT_TOKEN,
}


@pytest.fixture
def admins() -> str:
    return "slack:W111"


@pytest.fixture
def other_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second, empty database of the same kind: bot B's."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = f"b{next(_names)}"
    cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    return cluster.url(name)


@pytest.fixture
async def bot_b(
    settings: Settings, other_url: str, slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={
            "database_url": other_url,
            "data_dir": str(tmp_path / "var-b"),  # its own encryption key
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


async def set_up_by_hand(bot: Client, sink: Sink) -> None:
    """Bot A: a signed webhook, PagerDuty, channels, routes, preferences, an override, admins."""

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await bot.post(path, json=body)
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json())

    hook = await post(
        "/api/v1/integrations",
        {
            "type": "webhook",
            "name": "ops hook",
            "settings": {"url": sink.url, "secret": SECRETS["CHATOPS_SECRET_OPS_HOOK_SECRET"]},
        },
    )
    paging = await post(
        "/api/v1/integrations",
        {
            "type": "pagerduty",
            "name": "paging",
            "settings": {"routing_key": SECRETS["CHATOPS_SECRET_PAGING_ROUTING_KEY"]},
        },
    )
    await post(
        "/api/v1/channels",
        {"name": "ops", "integration": hook["data"]["id"], "rate_per_minute": 600},
    )
    await post("/api/v1/channels", {"name": "pager", "integration": paging["data"]["id"]})
    await post(
        "/api/v1/routes",
        {
            "channel": "ops",
            "event_glob": "deploy.*",
            "min_priority": "HIGH",
            "stakeholders": ["SRE"],
            "matchers": ['env!="dev"'],
            "continue": False,
        },
    )
    await post(
        "/api/v1/people", {"name": "ana", "slack_user_id": "U222", "time_zone": "Asia/Tokyo"}
    )
    await post("/api/v1/people", {"name": "ben", "email": "ben@example.com"})
    layer = {
        "rotation": "daily",
        "handoff": "08:30",
        "start": "2026-11-30",
        "people": ["ana", "ben"],
    }
    await post("/api/v1/schedules", {"name": "db", "time_zone": "Asia/Tokyo", "layers": [layer]})
    policy = {
        "name": "db pages",
        "steps": [
            {"notify": [{"schedule": "db"}, {"channel": "ops"}], "wait": "90s"},
            {"notify": [{"person": "ben"}], "wait": "1h30m"},
        ],
        "repeat": 1,
        "remind_after": "2h",
    }
    await post("/api/v1/escalation-policies", policy)
    weekends = [{"weekdays": ["saturday:sunday"], "location": "Europe/Berlin"}]
    await post("/api/v1/time-intervals", {"name": "weekends", "time_intervals": weekends})
    await post(
        "/api/v1/routes",
        {"channel": "ops", "event_glob": "batch.*", "mute_time_intervals": ["weekends"]},
    )
    beat = {"name": "backup-job", "interval": "15m", "grace": "5m", "watchdog": "Watchdog"}
    await post("/api/v1/heartbeats", beat)
    grouped = {"channel": "ops", "event_glob": "k8s.*", "group_by": ["cluster", "alertname"]}
    await post("/api/v1/routes", {**grouped, "group_wait": "10s", "repeat_interval": "12h"})
    await post(
        "/api/v1/inhibit-rules",
        {
            "source_matchers": ['alertname="ClusterDown"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["cluster"],
        },
    )
    await post(
        "/api/v1/silences",
        {"matchers": ['service="db"', 'env!="prod"'], "duration": "2h", "comment": "disk swap"},
    )
    await post(
        "/api/v1/routes",
        {"channel": "pager", "min_priority": "CRITICAL", "escalation_policy": "db pages"},
    )
    await post("/api/v1/routes", {"channel": "ops", "escalation_level": 1})
    reply = await slash(bot, "subscribe db.* min=MEDIUM actions=acknowledge,resolve,note")
    assert "Subscribed" in (await reply.json())["text"]
    assert "Admins listed" in (await (await slash(bot, "admins add U0ONCALL")).json())["text"]
    prefs = await bot.put("/api/v1/preferences", json={"configuration_changes": True})
    assert prefs.status == 200
    override = await bot.post(
        "/api/v1/users/dana/integrations",
        json={"integration_type": "EMAIL", "enabled": False},
    )
    assert override.status in (200, 201), await override.text()


async def exported(bot: Client) -> str:
    services = bot.app[SERVICES]
    return to_yaml(await export_document(services.db, services.keyring, None))


async def routed(bot: Client, sink: Sink, event: dict[str, Any]) -> list[str]:
    """The channels one event reaches, by name."""
    resp = await bot.post("/api/v1/events", json=event)
    alert_id = (await resp.json())["id"]
    services = bot.app[SERVICES]
    async with services.db.session() as session:
        from sqlalchemy import select

        from storage.schema import Channel, Delivery

        rows = await session.execute(
            select(Channel.name)
            .join(Delivery, Delivery.channel_id == Channel.id)
            .where(Delivery.event_id == alert_id)
        )
        return sorted(rows.scalars().all())


async def test_a_setup_exported_from_a_applies_to_b_byte_for_byte(
    bot: Client, bot_b: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sink = await Sink(secret=SECRETS["CHATOPS_SECRET_OPS_HOOK_SECRET"]).start()
    try:
        await set_up_by_hand(bot, sink)
        text = await exported(bot)
        for value in [*SECRETS.values(), sink.url]:
            assert value not in text  # no secret in the file
        assert "${CHATOPS_SECRET_OPS_HOOK_URL}" in text
        assert "group_by:\n      - cluster\n      - alertname\n      group_wait: 10s\n" in text
        assert "heartbeats:\n    - name: backup-job\n      interval: 15m\n      grace: 5m\n" in text
        monkeypatch.setenv("CHATOPS_SECRET_OPS_HOOK_URL", sink.url)
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)

        resp = await bot_b.post("/api/v1/config/plan", data=text.encode())
        plan = await resp.json()
        assert resp.status == 200 and plan["applied"] is False, plan
        assert '+ create integration "ops hook" (webhook) in default' in plan["changes"]
        for made in (
            'person "ana"',
            'schedule "db"',
            'escalation policy "db pages"',
            'inhibition rule alertname="ClusterDown"',
            'time interval "weekends"',
            'silence service="db", env!="prod"',
        ):
            assert f"+ create {made} in default" in plan["changes"]
        assert any(line.startswith('+ create route to "slack:ops"') for line in plan["changes"])
        for value in [*SECRETS.values(), sink.url]:
            assert value not in str(plan)
        assert "ops hook" not in await (await bot_b.get("/api/v1/config")).text()  # unchanged

        applied = await (await bot_b.post("/api/v1/config/apply", data=text.encode())).json()
        assert applied["applied"] is True and applied["changes"] == plan["changes"]
        assert await exported(bot_b) == text  # byte for byte
        again = await (await bot_b.post("/api/v1/config/apply", data=text.encode())).json()
        assert again == {"changes": [], "applied": False, "message": "no changes"}

        for event in (
            {
                "title": "deploy failed",
                "event_type": "deploy.failed",
                "priority": "HIGH",
                "stakeholders": ["SRE"],
            },
            {"title": "db down", "event_type": "db.down", "priority": "CRITICAL"},
            {"title": "disk", "event_type": "host.disk", "priority": "LOW"},
        ):
            assert await routed(bot, sink, event) == await routed(bot_b, sink, event), event
        detail = await (await bot_b.get("/api/v1/routes")).json()
        assert {tuple(r["actions"] or ()) for r in detail["data"]} == {
            (),
            ("acknowledge", "resolve", "note"),
        }
        audit_b = bot_b.app[SERVICES]
        async with audit_b.db.session() as session:
            from sqlalchemy import select

            from storage.schema import ActionAudit

            actors = set((await session.scalars(select(ActionAudit.actor))).all())
        assert actors >= {"config:api"}
    finally:
        await sink.stop()


def bad_files(text: str) -> list[tuple[str, str, str]]:
    """(what, file contents, the line the CLI must print)."""
    document = yaml.safe_load(text)
    tenant = document["tenants"]["default"]

    def changed(edit: Callable[[dict[str, Any]], None]) -> str:
        copy = yaml.safe_load(text)
        edit(copy["tenants"]["default"])
        return yaml.safe_dump(copy, sort_keys=False)

    route_at = len(tenant["routes"]) - 1
    return [
        ("syntax", text + "\n  - : [unclosed\n", "YAML syntax error at line"),
        (
            "unknown key",
            changed(lambda t: t["channels"][0].update(colour="red")),
            "tenants.default.channels[0].colour: not a field here",
        ),
        (
            "wrong type",
            changed(lambda t: t["channels"][0].update(rate_per_minute="fast")),
            "tenants.default.channels[0].rate_per_minute: expected a whole number, got text",
        ),
        (
            "dangling reference",
            changed(lambda t: t["routes"][route_at].update(channel="nowhere")),
            f'tenants.default.routes[{route_at}].channel: no channel "nowhere"',
        ),
        (
            "unknown type",
            changed(lambda t: t["integrations"][0].update(type="carrier-pigeon")),
            "tenants.default.integrations[0].type: unknown integration type 'carrier-pigeon'",
        ),
        (
            "unknown setting",
            changed(lambda t: t["integrations"][0]["settings"].update(colour="red")),
            "tenants.default.integrations[0].settings: colour: not a setting of",
        ),
        (
            "a field only the API keeps",
            changed(lambda t: t["integrations"][0].update(search_enabled=True)),
            "tenants.default.integrations[0].search_enabled: set over the API, not in the file",
        ),
        (
            "a sync setting misspelt",
            changed(lambda t: t["integrations"][0].update(sync={"every": 5})),
            "tenants.default.integrations[0]: sync.every: not a field here",
        ),
        (
            "a policy paging nobody known",
            changed(
                lambda t: t["escalation_policies"][0]["steps"][1].update(notify=[{"person": "zoe"}])
            ),
            "tenants.default.escalation_policies[0]: steps[1].notify: no person 'zoe' (add it first)",
        ),
        (
            "a layer of strangers",
            changed(lambda t: t["schedules"][0]["layers"][0].update(people=["ana", "zoe"])),
            "tenants.default.schedules[0].layers[0].people: no person 'zoe'",
        ),
        ("missing variable", text, "CHATOPS_SECRET_OPS_HOOK_URL is not set in the environment"),
        ("10 MB", "#" * (10 * 1024 * 1024), "bytes; a configuration file is at most 1 MB"),
    ]


# Refused files are refused before anything is written; one database shows it. The command
# line is run for the refusals only it can show (exit 2, one line); the rest go through the
# API's plan, which reads and checks a file with the same code.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_bad_files_say_where_exit_2_and_change_nothing(
    bot: Client, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = await Sink(secret=SECRETS["CHATOPS_SECRET_OPS_HOOK_SECRET"]).start()
    try:
        await set_up_by_hand(bot, sink)
        text = await exported(bot)
    finally:
        await sink.stop()
    before = text
    chatops = chatops_cli(tmp_path)
    env_db = {"CHATOPS_DATABASE_URL": settings.database_url, "CHATOPS_DATA_DIR": settings.data_dir}
    for name, value in {**SECRETS, "CHATOPS_SECRET_OPS_HOOK_URL": "http://127.0.0.1:9/x"}.items():
        monkeypatch.setenv(name, value)  # the bot's own environment, for the API's plan
    by_cli = ("syntax", "unknown key", "missing variable", "10 MB")
    for what, contents, expected in bad_files(text):
        if what not in by_cli:  # the same reading and checks, through the API: faster
            refused = await bot.post(
                "/api/v1/config/plan", data=contents, headers={"Content-Type": "application/yaml"}
            )
            assert refused.status == 422, (what, await refused.text())
            assert expected in (await refused.json())["error"]["message"], what
            assert await exported(bot) == before, what
            continue
        path = tmp_path / f"{what.replace(' ', '_')}.yml"
        path.write_text(contents)
        env = {**env_db, **SECRETS}  # every variable but the hook's URL, for "missing variable"
        if what != "missing variable":
            env["CHATOPS_SECRET_OPS_HOOK_URL"] = "http://127.0.0.1:9/x"
        done = chatops("config", "apply", str(path), "--prune", env=env)
        assert done.returncode == 2, (what, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (what, done.stderr)
        assert await exported(bot) == before, what  # nothing changed
    # a good file with a change: the plan names it, the dry run changes nothing, apply does
    document = yaml.safe_load(text)
    document["tenants"]["default"]["channels"][0]["rate_per_minute"] = 30
    path = tmp_path / "good.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    env = {**env_db, **SECRETS, "CHATOPS_SECRET_OPS_HOOK_URL": "http://127.0.0.1:9/x"}
    dry = chatops("config", "apply", str(path), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert '~ change channel "ops" in default (rate_per_minute: 600 → 30)' in dry.stdout
    assert "settings.url: changed" in dry.stdout  # a secret is only said to change
    assert "127.0.0.1:9" not in dry.stdout
    assert await exported(bot) == before
    done = chatops("config", "apply", str(path), env=env)
    assert done.returncode == 0 and dry.stdout == done.stdout
    assert "rate_per_minute: 30" in await exported(bot)
    assert chatops("config", "apply", str(path), env=env).stdout.strip() == "no changes"


def test_run_refuses_to_start_when_its_config_does_not_apply(tmp_path: Path) -> None:
    chatops = chatops_cli(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\ntenants:\n  default:\n    routes:\n      - channel: ops\n")
    env = {"CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"}
    done = chatops("run", "--port", "1", "--config", str(bad), env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        'chatops: --config: tenants.default.routes[0].channel: no channel "ops"; not starting'
    )


def test_parse_refuses_what_is_not_a_configuration() -> None:
    for text, expected in (
        ("- a\n- b\n", "expected a mapping"),
        (b"\xff\xfe", "not UTF-8"),
    ):
        with pytest.raises(config_reading.ConfigError, match=expected):
            config_reading.parse(text, "f.yml")
    _ = subprocess  # the CLI tests above run the real program
