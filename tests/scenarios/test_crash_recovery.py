"""The real program, killed with SIGKILL while delivering 1,000 events, loses none of them."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_TOKEN
from tests.fakes.sink import Sink
from tests.helpers import eventually, free_port, start_bot, wait_healthy

EVENTS = 1000


@pytest.mark.slow
async def test_sigkill_mid_delivery_loses_nothing(database_url: str, tmp_path: Path) -> None:
    sink = await Sink(secret="k", delay=0.005).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": database_url,
        "CHATOPS_API_TOKEN": API_TOKEN,
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "CHATOPS_ALLOW_PRIVATE_TARGETS": "true",
        "CHATOPS_LEASE_SECONDS": "3",
        "CHATOPS_LOG_FORMAT": "json",
        "CHATOPS_WORKERS": "2",
        "INTEGRATION_DEFAULTS_WEBHOOK_RETRY_COUNT": "10",
        "INTEGRATION_DEFAULTS_WEBHOOK_RETRY_DELAY_SECONDS": "1",
    }
    log = tmp_path / "bot.log"
    proc = start_bot(env, port, log)
    try:
        await wait_healthy(base, proc)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            r = await http.post(
                "/api/v1/integrations",
                json={
                    "type": "webhook",
                    "name": "sink",
                    "settings": {"url": sink.url, "secret": "k"},
                },
            )
            assert r.status_code == 201, r.text
            r = await http.post(
                "/api/v1/channels",
                json={"name": "sink", "integration": "sink", "rate_per_minute": 1_000_000},
            )
            assert r.status_code == 201, r.text
            assert (await http.post("/api/v1/routes", json={"channel": "sink"})).status_code == 201

            sem = asyncio.Semaphore(16)

            async def submit(i: int) -> str:
                async with sem:
                    resp = await http.post(
                        "/api/v1/events", json={"title": f"event {i}", "dedup_key": f"k{i}"}
                    )
                    assert resp.status_code == 202, resp.text
                    return str(resp.json()["id"])

            ids = set(await asyncio.gather(*(submit(i) for i in range(EVENTS))))
        assert len(ids) == EVENTS

        # Kill it hard once some, but not all, have arrived.
        await eventually(lambda: len(sink.accepted()) >= 100, within=60, interval=0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        before = len({r.body["alert"]["id"] for r in sink.accepted()})
        assert before < EVENTS, "everything arrived before the kill; the test proved nothing"

        proc = start_bot(env, port, log)
        await wait_healthy(base, proc)
        await eventually(
            lambda: len({r.body["alert"]["id"] for r in sink.accepted()}) == EVENTS,
            within=120,
            interval=0.2,
        )
        arrivals = Counter(r.body["alert"]["id"] for r in sink.accepted())
        assert set(arrivals) == ids
        duplicates = sum(n - 1 for n in arrivals.values())
        assert all(r.signature_ok for r in sink.received)
        # Only what was in flight at the kill may repeat: at most one batch of sends.
        assert duplicates <= 16 * 2
        print(
            f"\ncrash recovery ({database_url.split(':')[0]}): {EVENTS} events, "
            f"{before} delivered before SIGKILL, all {EVENTS} after restart, "
            f"{duplicates} duplicate(s)"
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)
        await sink.stop()
