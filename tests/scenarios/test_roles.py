"""Separate web and worker roles on PostgreSQL: LISTEN/NOTIFY wakes the worker at once."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from tests.conftest import API_TOKEN
from tests.fakes.sink import Sink
from tests.helpers import eventually, webhook_route
from tests.pg import Cluster

_names = itertools.count()


@pytest.fixture
def pg_settings(pg_cluster: Cluster | None, tmp_path: Path) -> Settings:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"roles{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    return Settings(
        database_url=pg_cluster.url(name),
        data_dir=str(tmp_path / "var"),
        api_token=API_TOKEN,
        allow_private_targets=True,  # type: ignore[arg-type]
        _env_file=None,
    )  # type: ignore[call-arg]


async def test_a_web_process_queues_and_a_worker_process_delivers(pg_settings: Settings) -> None:
    sink = await Sink(secret="s3cret").start()
    # The worker polls only every minute: a quick delivery proves the notification woke it.
    web_app = create_app(pg_settings, role="web")
    worker_app = create_app(pg_settings.model_copy(update={"poll_seconds": 60.0}), role="worker")
    async with (
        TestClient(TestServer(web_app, host="127.0.0.1")) as web,
        TestClient(TestServer(worker_app, host="127.0.0.1")) as worker,
    ):
        web.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        worker.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        await webhook_route(web, sink.url)
        assert (await worker.get("/api/v1/events")).status == 404  # the worker serves no API
        assert (await worker.get("/health")).status == 200
        started = time.monotonic()
        resp = await web.post("/api/v1/events", json={"title": "from the web role"})
        assert resp.status == 202
        await eventually(lambda: sink.accepted(), within=10)
        assert time.monotonic() - started < 5
        assert sink.accepted()[0].body["alert"]["title"] == "from the web role"
    await sink.stop()
