"""Settings: every invalid value refused at start with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.infra.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("CHATOPS_PORT", "eighty", "CHATOPS_PORT: got 'eighty'"),
        (
            "CHATOPS_PORT",
            "70000",
            "CHATOPS_PORT: got '70000'; input should be less than or equal to 65535",
        ),
        (
            "CHATOPS_DATABASE_URL",
            "mysql://x",
            "must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        (
            "CHATOPS_PUBLIC_URL",
            "ftp://x",
            "CHATOPS_PUBLIC_URL: got 'ftp://x'; must be an http:// or https:// URL",
        ),
        ("CHATOPS_ADMINS", "slack:U1,irc:bob", "CHATOPS_ADMINS: got 'slack:U1,irc:bob'"),
        ("CHATOPS_ALLOW_PRIVATE_TARGETS", "maybe", "CHATOPS_ALLOW_PRIVATE_TARGETS: got 'maybe'"),
    ],
)
def test_invalid_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert len(caught.value.lines) == 1
    assert expected in caught.value.lines[0]


def test_two_mistakes_give_two_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_PORT", "-1")
    monkeypatch.setenv("CHATOPS_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert [line.split(":")[0] for line in caught.value.lines] == [
        "CHATOPS_PORT",
        "CHATOPS_LOG_LEVEL",
    ]


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CHATOPS_"):
            monkeypatch.delenv(key)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./var/chatops.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.api_token is None


def test_the_command_refuses_a_bad_setting_with_exit_code_2(tmp_path: object) -> None:
    env = {**os.environ, "CHATOPS_PORT": "abc"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "chatops: CHATOPS_PORT: got 'abc'; input should be a valid integer, unable to parse string as an integer"
    ]


def test_an_unknown_command_is_one_line_and_exit_code_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "launch"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "invalid choice: 'launch'" in done.stderr
