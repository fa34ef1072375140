"""The response report over 100,000 alerts of one tenant (a busy quarter), on a real database.

The alerts are stored directly (first seen over 30 days, three in four acknowledged, two in
three resolved), then the real `reports.response` is asked for 30 days by priority, five
times; the figure is the median wall time. The floor, in the same run: the same rows read
through the raw driver (sqlite3 / asyncpg) with the same query, nothing computed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from bot.core import reports
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from storage.schema import Event, Tenant, new_id, utcnow

ALERTS = 100_000
PRIORITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
QUERY = (
    "SELECT id, priority, source, event_type, dedup_key, title, labels, occurrences, first_seen, "
    "acknowledged_at, resolved_at FROM events WHERE tenant_id = {p} AND first_seen >= {q} "
    "AND muted_by IS NULL"
)


async def _seed(services: Any, alerts: int) -> None:
    now = utcnow()
    async with services.db.session() as session, session.begin():
        if await session.get(Tenant, "default") is None:
            session.add(Tenant(id="default", name="default"))
    batch = []
    for n in range(alerts):
        first = now - timedelta(seconds=(n * 26) % (30 * 86400))
        acked = first + timedelta(seconds=30 + n % 900) if n % 4 else None
        resolved = first + timedelta(seconds=600 + n % 7200) if n % 3 else None
        batch.append(
            {
                "id": new_id(),
                "tenant_id": "default",
                "event_type": "alertmanager.alert",
                "priority": PRIORITIES[n % 5],
                "priority_rank": 5 - n % 5,
                "title": f"alert {n % 500}",
                "body": "",
                "source": "alertmanager",
                "dedup_key": f"key-{n % 500}",
                "open_key": None if resolved else f"key-{n}",
                "state": "resolved" if resolved else ("acknowledged" if acked else "triggered"),
                "first_seen": first,
                "last_seen": first,
                "acknowledged_at": acked,
                "resolved_at": resolved,
                "stakeholders": [],
                "facts": {},
                "metadata": {},
                "labels": {"alertname": f"A{n % 50}", "team": f"t{n % 7}"},
                "created_at": first,
                "updated_at": first,
            }
        )
        if len(batch) == 5000:
            async with services.db.session() as session, session.begin():
                await session.execute(insert(Event), batch)
            batch = []
    if batch:
        async with services.db.session() as session, session.begin():
            await session.execute(insert(Event), batch)


async def _floor(url: str, since: Any) -> float:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        start = time.perf_counter()
        stamp = since.replace(tzinfo=None).isoformat(sep=" ")
        conn.execute(QUERY.format(p="?", q="?"), ("default", stamp)).fetchall()
        took = time.perf_counter() - start
        conn.close()
        return took
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    start = time.perf_counter()
    await conn.fetch(QUERY.format(p="$1", q="$2"), "default", since)
    took = time.perf_counter() - start
    await conn.close()
    return took


async def run_reports(database_url: str | None = None, alerts: int = ALERTS) -> dict[str, float]:
    data = tempfile.mkdtemp(prefix="chatops-bench-reports-")
    url = database_url or f"sqlite+aiosqlite:///{data}/r.db"
    settings = Settings(database_url=url, data_dir=data, log_level="WARNING", _env_file=None)  # type: ignore[call-arg]
    services = build_services(settings)
    await services.db.upgrade()
    await _seed(services, alerts)
    ask = reports.ask_of("30d", "priority")
    walls, cpus = [], []
    found: dict[str, Any] = {}
    for _ in range(5):
        cpu, wall = time.process_time(), time.perf_counter()
        found = await reports.response(services, "default", ask)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    floor = statistics.median([await _floor(url, ask.since) for _ in range(3)])
    await services.http.aclose()
    await services.db.dispose()
    return {
        "alerts": float(found["alerts"]),
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "floor_s": floor,
    }
