"""1,000 open alerts, each running an escalation policy: what the scheduler's tick costs.

Two ticks are measured with the real `Escalations.tick` on a real database: one where every
policy is waiting (the usual tick: nothing is due), and one where all 1,000 are due at once
(each fires its step: reads the alert, works out who is on call, pages one person by Slack DM
through the outbox, records the step). CPU is this process's user + system time; the floor is
the same "what is due" query run through the raw driver (sqlite3 / asyncpg), beside it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bot.core.paging.ticks import Escalations
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from domain.escalation import policy_document, policy_from
from storage.schema import (
    Delivery,
    Escalation,
    Event,
    Integration,
    OnCallSchedule,
    Person,
    Tenant,
    new_id,
    utcnow,
)

ALERTS = 1000
POLICY = policy_document(
    policy_from(
        {
            "name": "bench",
            "steps": [
                {"notify": [{"schedule": "db"}], "wait": "5m"},
                {"notify": [{"person": "ben"}], "wait": "5m"},
            ],
        }
    )
)
LAYER = {"rotation": "weekly", "handoff": "09:00", "start": "2026-01-05", "people": ["ana", "ben"]}


async def _seed(services: Any, alerts: int) -> None:
    now = utcnow()
    async with services.db.session() as session, session.begin():
        if await session.get(Tenant, "default") is None:
            session.add(Tenant(id="default", name="default"))
        session.add(
            Integration(
                tenant_id="default",
                name="Slack",
                type="slack",
                config={},
                capabilities=["notifications"],
                created_at=now,
                updated_at=now,
            )
        )
        for name, slack in (("ana", "U0ANA"), ("ben", "U0BEN")):
            session.add(Person(tenant_id="default", name=name, slack_user_id=slack))
        session.add(
            OnCallSchedule(
                tenant_id="default",
                name="db",
                time_zone="Europe/Berlin",
                layers=[LAYER],
                feed_token="bench",
            )
        )
        events, escalations = [], []
        for n in range(alerts):
            event_id = new_id()
            events.append(
                {
                    "id": event_id,
                    "tenant_id": "default",
                    "event_type": "bench",
                    "priority": "HIGH",
                    "priority_rank": 4,
                    "title": f"alert {n}",
                    "body": "",
                    "source": "bench",
                    "dedup_key": f"bench-{n}",
                    "open_key": f"bench-{n}",
                    "state": "triggered",
                    "first_seen": now,
                    "last_seen": now,
                    "stakeholders": [],
                    "facts": {},
                    "metadata": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            due = now + timedelta(minutes=5, seconds=n % 300)  # waiting for step 2
            escalations.append(
                {
                    "id": new_id(),
                    "tenant_id": "default",
                    "event_id": event_id,
                    "policy_name": "bench",
                    "policy": POLICY,
                    "status": "running",
                    "step": 1,
                    "round": 0,
                    "next_at": due,
                    "due_at": due,
                    "fired": [{"step": 0, "round": 0, "at": now.isoformat(), "paged": ["ana"]}],
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await session.execute(insert(Event), events)
        await session.execute(insert(Escalation), escalations)


async def _floor(url: str, at: Any) -> float:
    """The due query through the raw driver: ms of CPU, median of 20."""
    samples = []
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        stamp = at.replace(tzinfo=None).isoformat(sep=" ")
        for _ in range(20):
            cpu = time.process_time()
            conn.execute(
                "SELECT id FROM escalations WHERE due_at <= ? ORDER BY due_at LIMIT 500", (stamp,)
            ).fetchall()
            samples.append(time.process_time() - cpu)
        conn.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        for _ in range(20):
            cpu = time.process_time()
            await conn.fetch(
                "SELECT id FROM escalations WHERE due_at <= $1 ORDER BY due_at LIMIT 500", at
            )
            samples.append(time.process_time() - cpu)
        await conn.close()
    return statistics.median(samples) * 1000


async def run_paging(database_url: str | None = None, alerts: int = ALERTS) -> dict[str, float]:
    """Seed `alerts` running policies and time the scheduler's tick, idle and all due."""
    data = tempfile.mkdtemp(prefix="chatops-bench-paging-")
    url = database_url or f"sqlite+aiosqlite:///{data}/p.db"
    settings = Settings(database_url=url, data_dir=data, log_level="WARNING", _env_file=None)  # type: ignore[call-arg]
    services = build_services(settings)
    await services.db.upgrade()
    await _seed(services, alerts)
    escalations = Escalations(services.db, services.cache, lambda: None)
    now = utcnow()
    idle_cpu, idle_wall = [], []
    for _ in range(20):
        cpu, wall = time.process_time(), time.perf_counter()
        moved = await escalations.tick(now)
        idle_cpu.append(time.process_time() - cpu)
        idle_wall.append(time.perf_counter() - wall)
        assert moved == 0
    floor = await _floor(url, now)
    later = now + timedelta(minutes=11)
    cpu, wall = time.process_time(), time.perf_counter()
    moved = 0
    while True:  # a tick takes 500 at most; the next takes the rest
        step = await escalations.tick(later)
        moved += step
        if step == 0:
            break
    due_cpu, due_wall = time.process_time() - cpu, time.perf_counter() - wall
    async with services.db.session() as session:
        pages = await session.scalar(select(func.count()).select_from(Delivery))
    await services.http.aclose()
    await services.db.dispose()
    return {
        "alerts": alerts,
        "idle_cpu_ms": statistics.median(idle_cpu) * 1000,
        "idle_wall_ms": statistics.median(idle_wall) * 1000,
        "floor_cpu_ms": floor,
        "due_moved": moved,
        "due_cpu_ms": due_cpu * 1000,
        "due_wall_ms": due_wall * 1000,
        "pages": float(pages or 0),
    }
