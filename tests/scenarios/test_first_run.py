"""A newcomer's first run: no configuration at all, then a token and a first event."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


async def test_no_configuration_serves_health_and_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "INTEGRATION_"))}
    env["PYTHONPATH"] = str(ROOT)
    port = free_port()
    log = tmp_path / "log.txt"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=handle,
            stderr=handle,
        )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{port}/health")
            refused = await http.post(f"http://127.0.0.1:{port}/api/v1/events", json={"title": "x"})
        assert health.json() == {"status": "ok"}
        assert refused.status_code == 401
        assert "CHATOPS_API_TOKEN" in refused.json()["error"]["message"]
        assert (tmp_path / "var" / "chatops.db").exists()
        assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    text = log.read_text()
    assert "REST API and hooks need a key: set CHATOPS_API_TOKEN" in text
    assert "Slack not configured" in text


async def test_send_prints_the_id_of_the_accepted_event(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")},
        "CHATOPS_API_TOKEN": "tok",
        "CHATOPS_PORT": str(port),  # `send` reaches the bot where it listens
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        send = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "send",
            "--title",
            "Disk 97% on db-1",
            "--priority",
            "CRITICAL",
            "--dedup-key",
            "db-1-disk",
            "--stakeholder",
            "SRE",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await send.communicate()
        assert send.returncode == 0, err.decode()
        event_id = out.decode().strip()
        async with httpx.AsyncClient() as http:
            one = await http.get(
                f"http://127.0.0.1:{port}/api/v1/events/{event_id}",
                headers={"Authorization": "Bearer tok"},
            )
        assert one.json()["title"] == "Disk 97% on db-1"
        assert one.json()["stakeholders"] == ["SRE"]
        bad = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "send",
            "--title",
            "x",
            "--priority",
            "LOUD",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await bad.communicate()
        assert bad.returncode == 2
        assert "priority: unknown 'LOUD'" in err.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
