"""10,000 alerts in 100 groups through the noise controls: what routing costs per alert.

Ten of them are `ClusterDown` for ten clusters, whose warnings an inhibition rule mutes.

The alerts are stored first (as ingest would), then each is routed by the real
`dispatch.route_new` in transactions of 100 (ingest's group commit takes about that many): the
tenant's preferences, 50 active silences, an inhibition rule (its source query per alert), the
routes' matchers and time intervals, and the card row queued with its group. Then the worker's
real claim and grouping fold (`outbox.claim` and `grouping.fold_members`, batches of 50) make
the 100 group cards. CPU is this process's user + system time.

The floor, in the same run on the same database: the same alerts routed through a plain route
(no matchers, silences, inhibition or grouping), and claimed and left as they are.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from sqlalchemy import delete, func, insert, select

from bot.core.alerts import dispatch
from bot.core.alerts.fanout import load_routing
from bot.core.delivery import grouping
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from storage import alerts as alerts_repo
from storage import outbox
from storage.schema import (
    AlertGroup,
    Channel,
    Delivery,
    Event,
    InhibitRule,
    Route,
    Silence,
    Tenant,
    new_id,
    utcnow,
)

ALERTS = 10_000
GROUPS = 100
SILENCES = 50
BATCH = 100


async def _seed(services: Any, alerts: int) -> list[str]:
    now = utcnow()
    async with services.db.session() as session, session.begin():
        if await session.get(Tenant, "default") is None:
            session.add(Tenant(id="default", name="default"))
        session.add(
            Channel(id="bench-ch", tenant_id="default", name="ops", type="slack", target="C1")
        )
        events = []
        for n in range(alerts):
            labels = {  # the first ten: ClusterDown in c0..c9, muting those clusters' warnings
                "alertname": "ClusterDown" if n < 10 else "HighLatency",
                "cluster": f"c{n % GROUPS}",
                "severity": "warning" if n % 7 == 0 and n >= 10 else "critical",
                "service": f"svc-{n % 499}",
                "instance": f"i-{n}",
            }
            events.append(
                {
                    "id": new_id(),
                    "tenant_id": "default",
                    "event_type": "alertmanager.alert",
                    "priority": "HIGH",
                    "priority_rank": 4,
                    "title": f"High latency on i-{n}",
                    "body": "",
                    "source": "alertmanager",
                    "dedup_key": f"bench-{n}",
                    "open_key": f"bench-{n}",
                    "state": "triggered",
                    "first_seen": now,
                    "last_seen": now,
                    "stakeholders": [],
                    "facts": {},
                    "metadata": {},
                    "labels": labels,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await session.execute(insert(Event), events)
    return [e["id"] for e in events]


async def _noise(services: Any, plain: bool) -> None:
    """The tenant's routing: a plain route (the floor), or the noise controls."""
    now = utcnow()
    async with services.db.session() as session, session.begin():
        await session.execute(delete(Route))
        await session.execute(delete(Silence))
        await session.execute(delete(InhibitRule))
        if plain:
            session.add(Route(tenant_id="default", channel_id="bench-ch"))
            return
        session.add(
            Route(
                tenant_id="default",
                channel_id="bench-ch",
                matchers=['alertname=~"High.*|Cluster.*"', 'severity=~"critical|warning"'],
                grouping={"group_by": ["cluster"]},
            )
        )
        session.add(
            InhibitRule(
                tenant_id="default",
                source_matchers=['alertname="ClusterDown"'],
                target_matchers=['severity="warning"'],
                equal=["cluster"],
                created_by="bench",
            )
        )
        for n in range(SILENCES):  # 50 active; the first mutes the alerts of one service
            session.add(
                Silence(
                    tenant_id="default",
                    matchers=[f'service="svc-{n * 10}"', 'env!="dev"'],
                    starts_at=now,
                    ends_at=now.replace(year=now.year + 1),
                    comment="bench",
                    created_by="bench",
                    created_at=now,
                )
            )


async def _route_all(services: Any, ids: list[str]) -> tuple[float, int]:
    """Route every alert with the real code; CPU seconds and deliveries queued."""
    cpu = time.process_time()
    queued = 0
    for start in range(0, len(ids), BATCH):
        async with services.db.session() as session, session.begin():
            config = await load_routing(session, "default")
            alerts = await alerts_repo.get_many(session, ids[start : start + BATCH])
            now = utcnow()
            for alert in alerts.values():
                queued += await dispatch.route_new(session, alert, now, config)
    return time.process_time() - cpu, queued


async def _fold_all(services: Any, fold: bool) -> tuple[float, int]:
    """Claim every card row as the worker does and fold it into its group (or not: the
    floor); CPU seconds and rows claimed."""
    cpu = time.process_time()
    claimed = 0
    while True:
        async with services.db.session() as session, session.begin():
            items = await outbox.claim(session, now=utcnow(), lease=300, limit=50)
            if fold and items:
                alerts = await alerts_repo.get_many(
                    session, [i.event_id for i in items if i.event_id]
                )
                await grouping.fold_members(
                    session,
                    items,
                    dict.fromkeys((i.id for i in items), "slack"),
                    {i.id: alerts.get(i.event_id or "") for i in items},
                    utcnow(),
                )
        if not items:
            break
        claimed += len(items)
    return time.process_time() - cpu, claimed


async def _reset(services: Any) -> None:
    async with services.db.session() as session, session.begin():
        await session.execute(delete(AlertGroup))
        await session.execute(delete(Delivery))
        await session.execute(Event.__table__.update().values(muted_by=None))


async def run_noise(database_url: str | None = None, alerts: int = ALERTS) -> dict[str, float]:
    """Route `alerts` alerts plainly (the floor), then through the noise controls."""
    data = tempfile.mkdtemp(prefix="chatops-bench-noise-")
    url = database_url or f"sqlite+aiosqlite:///{data}/n.db"
    settings = Settings(database_url=url, data_dir=data, log_level="WARNING", _env_file=None)  # type: ignore[call-arg]
    services = build_services(settings)
    await services.db.upgrade()
    ids = await _seed(services, alerts)
    await _noise(services, plain=True)
    floor_route, floor_queued = await _route_all(services, ids)
    floor_claim, _ = await _fold_all(services, fold=False)
    await _reset(services)
    await _noise(services, plain=False)
    route_cpu, queued = await _route_all(services, ids)
    fold_cpu, claimed = await _fold_all(services, fold=True)
    async with services.db.session() as session:
        groups = await session.scalar(select(func.count()).select_from(AlertGroup))
        muted = await session.scalar(
            select(func.count()).select_from(Event).where(Event.muted_by.is_not(None))
        )
    await services.http.aclose()
    await services.db.dispose()
    return {
        "alerts": alerts,
        "floor_route_ms": floor_route * 1000 / alerts,
        "floor_claim_ms": floor_claim * 1000 / alerts,
        "floor_queued": floor_queued,
        "route_ms": route_cpu * 1000 / alerts,
        "fold_ms": fold_cpu * 1000 / max(claimed, 1),
        "queued": queued,
        "groups": float(groups or 0),
        "muted": float(muted or 0),
    }
