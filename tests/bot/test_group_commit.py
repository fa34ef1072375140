"""Group commit: events and delivery outcomes that arrive together share a transaction, and
nothing about an event's fate changes because it shared one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select

from bot.core.group_commit import GroupCommit
from storage.db import Database
from storage.schema import Tenant

Client = TestClient  # type: ignore[type-arg]


async def post(client: Client, **body: Any) -> Any:
    return await client.post("/api/v1/events", json={"title": "t", **body})


async def test_many_repeats_at_once_fold_into_one_alert(client: Client) -> None:
    answers = await asyncio.gather(*(post(client, dedup_key="same") for _ in range(40)))
    ids = {(await r.json())["id"] for r in answers}
    assert [r.status for r in answers] == [202] * 40 and len(ids) == 1
    alert = await (await client.get(f"/api/v1/events/{ids.pop()}")).json()
    assert alert["occurrences"] == 40


def alertmanager(status: str) -> dict[str, Any]:
    alert = {"status": status, "labels": {"alertname": "DiskFull"}, "fingerprint": "fp1"}
    return {"status": status, "alerts": [alert]}


async def test_a_resolve_and_a_new_firing_in_the_same_moment_keep_their_order(
    client: Client,
) -> None:
    hook = "/hooks/alertmanager"
    first = (await (await client.post(hook, json=alertmanager("firing"))).json())["events"][0]
    # Sent at once, they land in one batch, in this order.
    answers = await asyncio.gather(
        client.post(hook, json=alertmanager("resolved")),
        client.post(hook, json=alertmanager("firing")),
    )
    resolved, reopened = [(await r.json())["events"][0] for r in answers]
    assert resolved["id"] == first["id"] and resolved["state"] == "resolved"
    assert reopened["id"] != first["id"] and reopened["state"] == "triggered"


async def test_one_failing_request_does_not_fail_the_ones_written_with_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import intake

    def poisoned(real: Any) -> Any:
        def check(*args: Any) -> Any:
            if any(getattr(a, "title", "") == "poison" for a in args):
                raise RuntimeError("this one cannot be stored")
            return real(*args)

        return check

    async def store(session: Any, event: Any, *rest: Any) -> Any:
        poisoned(lambda *a: None)(event)
        return await real_store(session, event, *rest)

    real_store = intake.store
    monkeypatch.setattr(intake, "store_among", poisoned(intake.store_among))
    monkeypatch.setattr(intake, "store", store)
    titles = [f"fine {i}" for i in range(15)] + ["poison"]
    answers = await asyncio.gather(
        *(client.post("/api/v1/events", json={"title": t, "dedup_key": t}) for t in titles)
    )
    statuses = {t: r.status for t, r in zip(titles, answers, strict=True)}
    assert statuses.pop("poison") == 500
    assert set(statuses.values()) == {202}
    listed = await (await client.get("/api/v1/events?limit=100")).json()
    assert sorted(e["title"] for e in listed["events"]) == sorted(titles[:-1])


async def test_writes_landing_together_share_a_commit_and_fail_alone(settings: Any) -> None:
    db = Database(settings.database_url)
    await db.upgrade()
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine.sync_engine, "commit", count)
    writes = GroupCommit(db)

    def add(name: str) -> Any:
        async def work(session: Any) -> str:
            if name == "bad":
                raise ValueError("refused")
            session.add(Tenant(id=name, name=name))
            return name

        return work

    names = [f"t{i}" for i in range(30)] + ["bad"]
    try:
        results = await asyncio.gather(*(writes.run(add(n)) for n in names), return_exceptions=True)
        assert results[:-1] == names[:-1]
        assert isinstance(results[-1], ValueError)
        async with db.session() as session:
            stored = set((await session.scalars(select(Tenant.id))).all())
        assert set(names[:-1]) <= stored and "bad" not in stored
        # 31 writes: one shared transaction that failed, then each alone: still far fewer
        # commits than writes would be if the first batch had held.
        assert commits <= len(names) + 1
    finally:
        await db.dispose()
