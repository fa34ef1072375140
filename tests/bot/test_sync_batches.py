"""Syncs starting and finishing together are recorded together, and each keeps its own record:
its cursor, its attempt count, its failure, whatever its neighbours did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from adapters.base import Adapter, AdapterError, BaseAdapter, SyncRequest, SyncResult
from adapters.kinds import AdapterType, BuildOptions
from adapters.registry import TYPES
from bot.core.services import Services
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from storage.schema import Integration, SyncLog, new_id, utcnow

SEEN: dict[str, list[str | None]] = {}


class Counting(BaseAdapter):
    """Its cursor counts the runs; an integration named `broken-*` fails."""

    kind = "counting"

    def __init__(self, name: str) -> None:
        self.name = name

    async def sync(self, request: SyncRequest) -> SyncResult:
        SEEN.setdefault(self.name, []).append(request.cursor)
        if self.name.startswith("broken"):
            raise AdapterError("counting: the provider answered 503")
        return SyncResult(cursor=str(int(request.cursor or 0) + 1))


def _build(values: Mapping[str, Any], _http: httpx.AsyncClient, _opts: BuildOptions) -> Adapter:
    return Counting(str(values["name"]))


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    TYPES["counting"] = AdapterType(
        "counting", "Counting", "tests only", (), _build, ("full_sync",)
    )
    SEEN.clear()
    built = build_services(settings)
    await built.db.upgrade()
    yield built
    await built.http.aclose()
    await built.db.dispose()
    del TYPES["counting"]


async def _integrations(services: Services, names: list[str]) -> dict[str, str]:
    now = utcnow()
    ids = {name: new_id() for name in names}
    async with services.db.session() as session, session.begin():
        await session.execute(
            insert(Integration),
            [
                {
                    "id": ids[name],
                    "tenant_id": "default",
                    "name": name,
                    "type": "counting",
                    "config": {"name": name},
                    "capabilities": ["full_sync"],
                    "sync_enabled": True,
                    "is_active": name != "disabled",
                    "created_at": now,
                    "updated_at": now,
                }
                for name in names
            ],
        )
    return ids


async def test_sixty_syncs_at_once_each_keep_their_own_cursor_and_outcome(
    services: Services,
) -> None:
    names = [f"ok-{i}" for i in range(57)] + ["broken-1", "broken-2", "disabled"]
    ids = await _integrations(services, names)

    async def round_() -> dict[str, str]:
        outcomes = await asyncio.gather(*(services.sync.run(ids[n]) for n in names))
        return {n: o.status for n, o in zip(names, outcomes, strict=True)}

    first = await round_()
    second = await round_()
    for name in names[:57]:
        assert first[name] == second[name] == "success"
        assert SEEN[name] == [None, "1"]  # the second run started from the first's cursor
    assert first["broken-1"] == second["broken-2"] == "failed"
    assert first["disabled"] == "skipped" and "disabled" not in SEEN
    async with services.db.session() as session:
        logs = (await session.scalars(select(SyncLog))).all()
        rows = {r.id: r for r in (await session.scalars(select(Integration))).all()}
    by_name: dict[str, list[SyncLog]] = {}
    for log in logs:
        by_name.setdefault(rows[log.integration_id].name, []).append(log)
    assert len(logs) == 2 * 59
    for name in names[:57]:
        runs = sorted(by_name[name], key=lambda r: r.cursor or "")
        assert [r.status for r in runs] == ["success", "success"]
        assert [r.cursor for r in runs] == ["1", "2"]
        assert rows[ids[name]].connection_status == "connected"
        assert rows[ids[name]].last_sync_at is not None
    broken = sorted(by_name["broken-1"], key=lambda r: r.attempt)
    assert [(r.status, r.attempt) for r in broken] == [("failed", 1), ("failed", 2)]
    assert "503" in (rows[ids["broken-1"]].last_error or "")
