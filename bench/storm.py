"""Storms: N alerts in one Alertmanager webhook, all routed to one Slack channel; and a storm
spread over many channels (one webhook per team, each team's route to its own channel).

The bot runs as its own process on SQLite; Slack is the fake from the test suite on loopback
(one message a second per channel, 429 with Retry-After beyond that). The clock runs from the
moment the webhook is answered to the moment every alert is visible in the channel: as its own
card, or counted in a digest message.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
from typing import Any

import aiohttp

from bench.pipeline import TOKEN, start_bot
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers import free_port, wait_healthy

CHANNEL = "C111"
COUNTED = re.compile(r"📚 (\d+) alerts")


def visible(slack: FakeSlack, channel: str = CHANNEL) -> int:
    """Alerts shown in the channel: single cards, plus what each digest message counts."""
    shown = 0
    for message in slack.in_channel(channel):
        counted = COUNTED.match(message.text)
        shown += int(counted.group(1)) if counted else 1
    return shown


def webhook(count: int, team: str = "ops") -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "DiskFull",
                "instance": f"host-{i}",
                "severity": "warning",
                "team": team,
            },
            "annotations": {"summary": f"disk full on host-{i}"},
            "fingerprint": f"{team}{i:06d}",
        }
        for i in range(count)
    ]
    return {"version": "4", "status": "firing", "receiver": "chatops", "alerts": alerts}


async def run_storm(count: int) -> dict[str, float]:
    """Start a bot, send one webhook of `count` alerts, and time until all are visible."""
    return await _storm(count, 1)


async def run_spread(count: int, channels: int) -> dict[str, float]:
    """`count` alerts over `channels` teams, each team's webhook sent at once and routed (by a
    label matcher) to its own Slack channel; the time until every alert is visible in its
    channel, from the moment the webhooks are sent."""
    return await _storm(count, channels)


def _channel_of(n: int, channels: int) -> str:
    return CHANNEL if channels == 1 else f"C2{n:02d}"


async def _storm(count: int, channels: int) -> dict[str, float]:
    fake = FakeSlack()
    for n in range(channels):  # the bot is a member of each team's channel
        fake.channels[_channel_of(n, channels)] = {"member": True, "archived": False}
    slack = await fake.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="chatops-storm-")
    proc = start_bot(
        f"sqlite+aiosqlite:///{data}/storm.db",
        port,
        data,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.url,
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        await wait_healthy(base, proc)
        async with aiohttp.ClientSession(base, headers=headers) as http:
            for _ in range(100):  # the bot token becomes the Slack integration at start
                async with http.get("/api/v1/integrations") as resp:
                    if any(i["type"] == "slack" for i in (await resp.json())["data"]):
                        break
                await asyncio.sleep(0.05)
            for n in range(channels):
                name, target = f"storm-{n}", _channel_of(n, channels)
                channel = {"name": name, "integration": "Slack", "target": target}
                async with http.post("/api/v1/channels", json=channel) as resp:
                    assert resp.status == 201, await resp.text()
                route: dict[str, Any] = {"channel": name}
                if channels > 1:
                    route["matchers"] = [f'team="t{n}"']
                async with http.post("/api/v1/routes", json=route) as resp:
                    assert resp.status == 201, await resp.text()
            before = len(slack.calls)
            each = count // channels

            async def send(n: int) -> None:
                body = webhook(each, f"t{n}" if channels > 1 else "ops")
                async with http.post("/hooks/alertmanager", json=body) as resp:
                    assert resp.status == 202, await resp.text()

            sent = time.perf_counter()
            await asyncio.gather(*(send(n) for n in range(channels)))
            answered = time.perf_counter()

            def shown() -> int:
                return sum(
                    min(each, visible(slack, _channel_of(n, channels))) for n in range(channels)
                )

            while shown() < each * channels:
                if time.perf_counter() - answered > 300:
                    raise RuntimeError(f"only {shown()} of {count} visible after 300 s")
                await asyncio.sleep(0.02)
            done = time.perf_counter()
            calls = [m for m, _ in slack.calls[before:] if m.startswith("chat.")]
        return {
            "alerts": each * channels,
            "channels": channels,
            "answered_s": answered - sent,
            "visible_s": done - answered,
            "from_sent_s": done - sent,
            "calls": len(calls),
            "rate_limited": len(slack.rate_limited),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await slack.stop()
        shutil.rmtree(data, ignore_errors=True)
