"""`chatops config import-alertmanager` on Alertmanager's own example configuration and on the
documented fragments of its configuration reference: the file it writes is accepted by
`config apply --dry-run`, routes alerts as Alertmanager's tree does (where it can), and every
part left out is said."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.alerts.routing import matching
from bot.core.config_import import from_alertmanager
from domain import Priority, RouteRule
from domain.matchers import parse_all
from tests.cards.samples import TEMPLATES
from tests.fixtures import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = FIXTURES / "alertmanager" / "simple.alertmanager_doc_examples.yml"
FRAGMENTS = FIXTURES / "alertmanager" / "configuration.alertmanager_docs.fragments.yml"


def receivers_for(document: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """Where an alert with these labels goes by the imported routes, as the bot routes it."""
    entries = document["tenants"]["default"]["routes"]
    rules = [
        RouteRule(
            id=str(n),
            tenant="default",
            channel_id=entry["channel"],
            matchers=parse_all(entry.get("matchers", [])),
            continues=entry.get("continue", True),
            is_default=entry.get("default", False),
        )
        for n, entry in enumerate(entries)
    ]
    alert = dataclasses.replace(TEMPLATES["generic"], labels=labels, priority=Priority.INFO)
    return [rule.channel_id for rule in matching(rules, alert)]


def test_alertmanagers_example_routes_alerts_as_its_tree_does_and_says_what_it_left() -> None:
    imported = from_alertmanager(SIMPLE.read_bytes(), SIMPLE.name)
    document = imported.document
    assert receivers_for(document, {"service": "foo1", "severity": "critical"}) == ["team-X-pager"]
    assert receivers_for(document, {"service": "baz", "severity": "warning"}) == ["team-X-mails"]
    assert receivers_for(document, {"service": "database", "owner": "team-X"}) == ["team-X-pager"]
    assert receivers_for(document, {"service": "files"}) == ["team-Y-mails"]
    assert receivers_for(document, {"alertname": "Anything"}) == ["team-X-mails"]  # the root
    routes = document["tenants"]["default"]["routes"]
    assert routes[0]["group_by"] == ["alertname", "cluster", "service"]
    assert routes[0]["repeat_interval"] == "3h" and "group_wait" not in routes[0]  # 30s: default
    database = next(r for r in routes if 'service="database"' in r.get("matchers", []))
    assert database["group_by"] == ["alertname", "cluster", "database"]  # its own, not the root's
    assert document["tenants"]["default"]["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", "cluster", "service"],
        }
    ]
    said = "\n".join(imported.notes)
    for expected in (
        "global.hipchat_auth_token: not carried",
        "templates: not carried",
        "receivers[team-X-hipchat].hipchat_configs: not carried",
        "receivers[team-DB-pager].pagerduty_configs[0]: only an Events API v2 routing_key",
        "route.routes[1].routes[0]: receiver team-Y-pager sends nowhere this bot can",
    ):
        assert expected in said
    assert ("CHATOPS_SECRET_TEAM_X_MAILS_PASSWORD", "global.smtp_auth_password") in (
        imported.variables
    )
    assert "password" not in yaml.safe_dump(document).replace("password: ${", "")


def test_documented_fragments_carry_matchers_intervals_slack_and_teams() -> None:
    imported = from_alertmanager(FRAGMENTS.read_bytes(), FRAGMENTS.name)
    tenant = imported.document["tenants"]["default"]
    channels = {c["name"]: c for c in tenant["channels"]}
    assert channels["default-receiver"] == {
        "name": "default-receiver",
        "type": "slack",
        "target": "#alerts",
    }
    assert channels["frontend-pager"]["type"] == "teams"
    teams = next(i for i in tenant["integrations"] if i["name"] == "frontend-pager")
    assert teams["settings"] == {"webhook_url": "${CHATOPS_SECRET_FRONTEND_PAGER_WEBHOOK_URL}"}
    assert [i["name"] for i in tenant["time_intervals"]] == ["offhours"]
    dev = next(r for r in tenant["routes"] if r["channel"] == "dev-pager")
    assert dev["mute_time_intervals"] == ["offhours"] and "continue" not in dev
    assert dev["group_by"] == ["cluster", "alertname"]
    database = next(r for r in tenant["routes"] if r["channel"] == "database-pager")
    assert database["group_wait"] == "10s" and database["continue"] is False
    assert receivers_for(imported.document, {"service": "inhouse-service"}) == [
        "dev-pager",
        "on-call-pager teams",
        "on-call-pager slack",
    ]
    said = "\n".join(imported.notes)
    assert "(holidays): time_intervals[0].location: 'Local' is not a time zone" in said
    assert "Office 365 connector URLs were retired" in said
    assert "slack_configs[0]: title not carried" in said
    text = yaml.safe_dump(imported.document)
    assert "hooks.slack.com" not in text and "webhook.office.com" not in text and "&id" not in text


@pytest.mark.parametrize("fixture", [SIMPLE, FRAGMENTS], ids=["example", "fragments"])
def test_the_imported_file_is_accepted_by_config_apply_dry_run(
    fixture: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    env.update(
        CHATOPS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        CHATOPS_DATA_DIR=str(tmp_path / "var"),
    )

    def chatops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = tmp_path / "chatops.yml"
    done = chatops("config", "import-alertmanager", str(fixture), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "Not carried over, or not exactly:" in done.stderr
    for line in done.stderr.splitlines():  # the variables it names, set as an operator would
        if line.startswith("  CHATOPS_SECRET_"):
            name = line.split()[0]
            env[name] = "https://example.webhook.office.com/x" if "URL" in name else "s3cret"
    applied = chatops("config", "apply", str(out), "--dry-run")
    assert applied.returncode == 0, applied.stderr
    assert "(dry run)" in applied.stderr and "+ create route to" in applied.stdout
    assert "s3cret" not in applied.stdout + applied.stderr
