"""The `chatops` command as a newcomer uses it: exit codes, secrets never echoed, key rotation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.infra.secrets import Keyring, generate_key
from storage.db import MIGRATIONS
from tests.fixtures import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SECRET = "routing-key-that-stays-hidden"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    return {
        **clean,
        "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
    }


def chatops(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_command(env: dict[str, str]) -> None:
    done = chatops(env, "--help")
    assert done.returncode == 0
    for command in ("run", "db", "send", "integrations", "channels", "routes", "keys"):
        assert command in done.stdout


def test_db_upgrade_then_status(env: dict[str, str]) -> None:
    assert chatops(env, "db", "status").returncode == 1
    done = chatops(env, "db", "upgrade")
    count = len(list((MIGRATIONS / "versions").glob("0*.py")))
    assert done.returncode == 0 and f"applied {count} migration(s)" in done.stdout
    assert chatops(env, "db", "status").stdout.strip() == "schema is current"


def test_integration_channel_and_route_from_the_command_line(env: dict[str, str]) -> None:
    done = chatops(
        env,
        "integrations",
        "add",
        "pagerduty",
        "--name",
        "PD",
        "--secrets-stdin",
        stdin=f"routing_key={SECRET}\n",
    )
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert json.loads(done.stdout)["settings"]["routing_key"] == "********"
    listed = chatops(env, "integrations", "list")
    assert SECRET not in listed.stdout and json.loads(listed.stdout)[0]["name"] == "PD"
    assert chatops(env, "channels", "add", "pager", "--integration", "PD").returncode == 0
    route = chatops(env, "routes", "add", "pager", "--min", "HIGH", "--event", "deploy.*")
    assert route.returncode == 0, route.stderr
    assert json.loads(route.stdout)["min_priority"] == "HIGH"
    assert chatops(env, "integrations", "disable", "PD").stdout.strip() == "PD: disabled"


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["integrations", "add", "pagerduty", "--name", "PD", "--set", f"routing_key={SECRET}"],
            "routing_key is secret",
        ),
        (["integrations", "show", "nope"], "no integration 'nope'"),
        (["routes", "add", "nowhere"], "no channel 'nowhere'"),
        (["routes", "add", "x", "--min", "LOUD"], "no channel 'x'"),
        (["integrations"], "choose an action"),
        (["integrations", "add", "fax", "--name", "f"], "invalid choice: 'fax'"),
    ],
)
def test_mistakes_exit_2_with_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    done = chatops(env, *args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr
    assert SECRET not in done.stderr


def test_keys_rotate_moves_secrets_to_the_newest_key(env: dict[str, str], tmp_path: Path) -> None:
    old = generate_key()
    env["CHATOPS_SECRET_KEY"] = old
    assert (
        chatops(
            env,
            "integrations",
            "add",
            "pagerduty",
            "--name",
            "PD",
            "--secrets-stdin",
            stdin=f"routing_key={SECRET}\n",
        ).returncode
        == 0
    )
    new = generate_key()
    env["CHATOPS_SECRET_KEY"] = f"{new},{old}"
    done = chatops(env, "keys", "rotate")
    assert done.returncode == 0 and "1 integration" in done.stdout
    env["CHATOPS_SECRET_KEY"] = new  # the old key can now be dropped
    shown = chatops(env, "integrations", "show", "PD")
    assert shown.returncode == 0, shown.stderr
    import sqlite3

    token = (
        sqlite3.connect(tmp_path / "c.db")
        .execute("SELECT credentials FROM integrations")
        .fetchone()[0]
    )
    assert Keyring([new]).decrypt(token) == {"routing_key": SECRET}
    env["CHATOPS_SECRET_KEY"] = "not-a-key"
    bad = chatops(env, "integrations", "list")
    assert bad.returncode == 2 and "Fernet key" in bad.stderr


def test_send_without_a_token_says_what_to_set(env: dict[str, str]) -> None:
    done = chatops(env, "send", "--title", "x")
    assert done.returncode == 2
    assert "CHATOPS_API_TOKEN" in done.stderr


@pytest.mark.parametrize(
    "fmt,state",
    [
        ("blockkit", "triggered"),
        ("adaptive", "acknowledged"),
        ("blockkit", "resolved"),
        ("adaptive", "escalated"),
        ("blockkit", "snoozed"),
        ("adaptive", "snoozed"),
    ],
)
def test_preview_prints_a_valid_card(env: dict[str, str], fmt: str, state: str) -> None:
    from tests.cards.checks import adaptive_problems, blockkit_problems

    event = {
        "title": "<!channel> Disk 97% on db-1",
        "priority": "CRITICAL",
        "facts": {"host": "db-1"},
        "stakeholders": ["SRE"],
        "links": [
            {"title": "Runbook", "url": "https://wiki.example.com/rb/disk"},
            {"title": "Dashboard", "url": "https://grafana.example.com/d/disk"},
        ],
    }
    done = chatops(env, "preview", "--format", fmt, "--state", state, stdin=json.dumps(event))
    assert done.returncode == 0, done.stderr
    card = json.loads(done.stdout)
    if fmt == "blockkit":
        assert blockkit_problems(card) == []
        assert "Block Kit Builder: https://app.slack.com/block-kit-builder/#" in done.stderr
        assert card["text"].startswith("[CRITICAL] &lt;!channel&gt; Disk 97% on db-1")
    else:
        assert adaptive_problems(card) == []
    verbs = {"triggered": 3, "acknowledged": 2, "escalated": 3, "snoozed": 3, "resolved": 0}
    rendered = json.dumps(card, ensure_ascii=False)
    assert (
        rendered.count('"acknowledge"') + rendered.count('"escalate"') + rendered.count('"resolve"')
        == verbs[state]
    )
    if state != "resolved":  # the snooze control, the note button and the link buttons
        assert ('"unsnooze"' if state == "snoozed" else '"snooze"') in rendered
        assert '"note"' in rendered
        assert "https://wiki.example.com/rb/disk" in rendered
        assert "https://grafana.example.com/d/disk" in rendered
    if state == "snoozed":
        assert "💤 Snoozed by you until " in rendered


def test_preview_refuses_a_bad_event_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"body": "no title"}')
    done = chatops(env, "preview", "--format", "adaptive", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == "chatops: title: required; send a short summary of what happened"
    missing = chatops(env, "preview", "--format", "adaptive", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_teams_package_fills_in_the_app_id_and_refuses_without_it(tmp_path: Path) -> None:
    import zipfile

    script = ROOT / "deploy" / "teams" / "package.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    refused = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "CHATOPS_TEAMS_APP_ID" in refused.stderr
    env.update(
        CHATOPS_TEAMS_APP_ID="11111111-2222-3333-4444-555555555555",
        CHATOPS_PUBLIC_URL="https://bot.example.com",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "dist" / "chatops-teams.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["id"] == manifest["bots"][0]["botId"] == "11111111-2222-3333-4444-555555555555"
    assert manifest["validDomains"] == ["bot.example.com"]
    # Microsoft's published schema for the manifest version it declares: no typo reaches Teams.
    schema = json.loads((FIXTURES / "teams" / "MicrosoftTeams.schema.v1.16.json").read_text())
    assert manifest["manifestVersion"] == "1.16"
    problems = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(manifest)]
    assert problems == []


def test_a_locked_database_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a write held elsewhere (SQLite's busy timeout ran out) looks like to a person."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from bot.cli import main as cli_main

    def locked(*_args: object) -> int:
        raise OperationalError(
            "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(cli_main, "dispatch", locked)
    assert cli_main.main(["integrations", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chatops: the database refused the work: database is locked",
        "chatops: another process holds a write on it; try again",
    ]
