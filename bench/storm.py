"""Storms: N alerts in one Alertmanager webhook, all routed to one Slack channel.

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


def visible(slack: FakeSlack) -> int:
    """Alerts shown in the channel: single cards, plus what each digest message counts."""
    shown = 0
    for message in slack.in_channel(CHANNEL):
        counted = COUNTED.match(message.text)
        shown += int(counted.group(1)) if counted else 1
    return shown


def webhook(count: int) -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": f"host-{i}", "severity": "warning"},
            "annotations": {"summary": f"disk full on host-{i}"},
            "fingerprint": f"storm{i:06d}",
        }
        for i in range(count)
    ]
    return {"version": "4", "status": "firing", "receiver": "chatops", "alerts": alerts}


async def run_storm(count: int) -> dict[str, float]:
    """Start a bot, send one webhook of `count` alerts, and time until all are visible."""
    slack = await FakeSlack().start()
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
            channel = {"name": "storm", "integration": "Slack", "target": CHANNEL}
            async with http.post("/api/v1/channels", json=channel) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post("/api/v1/routes", json={"channel": "storm"}) as resp:
                assert resp.status == 201, await resp.text()
            before = len(slack.calls)
            async with http.post("/hooks/alertmanager", json=webhook(count)) as resp:
                assert resp.status == 202, await resp.text()
            answered = time.perf_counter()
            while visible(slack) < count:
                if time.perf_counter() - answered > 300:
                    raise RuntimeError(f"only {visible(slack)} of {count} visible after 300 s")
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - answered
            calls = [m for m, _ in slack.calls[before:] if m.startswith("chat.")]
        return {
            "alerts": count,
            "visible_s": seconds,
            "calls": len(calls),
            "rate_limited": len(slack.rate_limited),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await slack.stop()
        shutil.rmtree(data, ignore_errors=True)
