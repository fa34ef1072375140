"""Three processes on PostgreSQL (the bot and two `--role worker`) share one channel's rate."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import API_TOKEN
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, sign
from tests.fixtures import FIXTURES
from tests.helpers import eventually, free_port, start_bot, wait_healthy
from tests.pg import Cluster

_names = itertools.count()
ALERTS = 60
SECONDS = 20.0


def subscribe_body() -> str:
    form = json.loads((FIXTURES / "slack" / "slash_command.bolt_test.parsed.json").read_text())
    form.update(
        command="/chatops",
        text="subscribe",
        user_id="W111",
        user_name="w111",
        team_id=TEAM_ID,
        channel_id="C111",
        channel_name="ops",
    )
    return urlencode(form)


def sent_by(metrics: str) -> float:
    """The process's chatops_notifications_sent_total, all labels summed."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("chatops_notifications_sent_total{")
    )


def visible(slack: FakeSlack) -> int:
    shown = 0
    for message in slack.in_channel("C111"):
        counted = re.match(r"📚 (\d+) alerts", message.text)
        shown += int(counted.group(1)) if counted else 1
    return shown


@pytest.mark.slow
async def test_three_processes_keep_one_channel_rate_and_show_every_alert(
    pg_cluster: Cluster | None, tmp_path: Path
) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"shared{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    slack = await FakeSlack().start()
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": pg_cluster.url(name),
        "CHATOPS_API_TOKEN": API_TOKEN,
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "CHATOPS_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "CHATOPS_SLACK_BOT_TOKEN": BOT_TOKEN,
        "CHATOPS_SLACK_API_URL": slack.url,
        "CHATOPS_LOG_FORMAT": "json",
        "CHATOPS_ALLOW_PRIVATE_TARGETS": "true",
    }
    ports = [free_port() for _ in range(3)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # The bot first: it creates the secret key the workers then read.
        procs.append(start_bot(env, ports[0], tmp_path / "bot.log"))
        await wait_healthy(bases[0], procs[0])
        for i in (1, 2):
            procs.append(start_bot(env, ports[i], tmp_path / f"worker{i}.log", "--role", "worker"))
        for base, proc in zip(bases[1:], procs[1:], strict=True):
            await wait_healthy(base, proc)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with httpx.AsyncClient(base_url=bases[0], headers=headers, timeout=30) as http:
            body = subscribe_body()
            reply = await http.post(
                "/slack/events",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
            )
            assert "Subscribed" in reply.json()["text"], reply.text
            started = time.monotonic()
            for i in range(ALERTS):
                resp = await http.post("/api/v1/events", json={"title": f"wave {i}"})
                assert resp.status_code == 202, resp.text
                await asyncio.sleep(
                    max(0.0, started + (i + 1) * SECONDS / ALERTS - time.monotonic())
                )
            await eventually(lambda: visible(slack) == ALERTS, within=60, interval=0.2)
            listed = (await http.get("/api/v1/events?limit=100")).json()
            assert listed["total"] == ALERTS
        async with httpx.AsyncClient(timeout=10) as http:
            sent = [sent_by((await http.get(f"{base}/metrics")).text) for base in bases]
        assert slack.rate_limited == [], f"{len(slack.rate_limited)} x 429"
        # The test proves something only if more than one process did send to the channel.
        assert sum(1 for n in sent if n > 0) >= 2, sent
        posts = [m for m, _ in slack.calls if m == "chat.postMessage"]
        print(
            f"\nshared rate: {ALERTS} alerts over {SECONDS:.0f} s, 3 processes, "
            f"sent per process {sent}, {len(posts)} posts, 0 x 429"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        await slack.stop()
