"""10,000 integrations with no-op syncs under the real scheduler, sync engine and database.

Every integration syncs once a minute; first runs are spread over the minute by id. The
lag of a run is the time from its scheduled moment to the moment the sync engine starts it.
CPU is this process's user + system time over the window, per 1,000 runs.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from sqlalchemy import insert

from adapters.base import Adapter, BaseAdapter, SyncRequest, SyncResult
from adapters.kinds import AdapterType, BuildOptions
from adapters.registry import TYPES
from bot.infra.settings import Settings
from bot.runtime import scheduling
from bot.runtime.app import build_services
from bot.runtime.scheduling import SchedulerService
from storage.schema import Integration, new_id, utcnow


class NoopAdapter(BaseAdapter):
    """A provider whose sync finds nothing: the cost measured is ours alone."""

    kind = "noop"

    async def sync(self, request: SyncRequest) -> SyncResult:
        return SyncResult(cursor="c")


def _noop(_values: Mapping[str, Any], _http: httpx.AsyncClient, _opts: BuildOptions) -> Adapter:
    return NoopAdapter()


class Timed(SchedulerService):
    """Records when each sync job starts, against when it was scheduled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheduled: dict[str, datetime] = {}
        self.lags: list[float] = []

    def submitted(self, event: JobSubmissionEvent) -> None:
        if event.job_id.startswith("sync:"):
            self.scheduled[event.job_id] = max(event.scheduled_run_times)

    async def run_sync(self, integration_id: str) -> None:
        when = self.scheduled.get(f"sync:{integration_id}")
        if when is not None:
            self.lags.append((utcnow() - when).total_seconds())
        await super().run_sync(integration_id)


async def run_scheduling(
    integrations: int, seconds: float, database_url: str | None = None
) -> dict[str, float]:
    """Schedule `integrations` no-op syncs a minute apart each and watch for `seconds`."""
    TYPES["noop"] = AdapterType("noop", "No-op", "bench only", (), _noop, ("full_sync",))
    data = tempfile.mkdtemp(prefix="chatops-bench-sched-")
    settings = Settings(
        database_url=database_url or f"sqlite+aiosqlite:///{data}/s.db",
        data_dir=data,
        log_level="WARNING",
        schedule_refresh_seconds=3600,
        _env_file=None,
    )  # type: ignore[call-arg]
    services = build_services(settings)
    await services.db.upgrade()
    now = utcnow()
    async with services.db.session() as session, session.begin():
        rows = [
            {
                "id": new_id(),
                "tenant_id": "default",
                "name": f"noop-{i}",
                "type": "noop",
                "config": {},
                "capabilities": ["full_sync"],
                "sync_enabled": True,
                "sync_interval": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(integrations)
        ]
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Integration), rows[start : start + 1000])
    work = Timed(services)
    started = time.perf_counter()
    scheduler = await scheduling.start(services, work)
    scheduled_in = time.perf_counter() - started
    scheduler.add_listener(work.submitted, EVENT_JOB_SUBMITTED)
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    runs = len(work.lags)
    scheduler.shutdown(wait=False)
    await work.stop()
    await services.http.aclose()
    await services.db.dispose()
    lags = sorted(work.lags[:runs])
    return {
        "integrations": integrations,
        "jobs": len([j for j in scheduler.get_jobs() if j.id.startswith("sync:")]) or integrations,
        "schedule_s": scheduled_in,
        "runs": runs,
        "p50_ms": statistics.median(lags) * 1000 if lags else 0.0,
        "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000 if lags else 0.0,
        "max_ms": lags[-1] * 1000 if lags else 0.0,
        "cpu_per_1000": cpu / runs * 1000 if runs else 0.0,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
