"""A write of configuration tells the caches when it commits, and only then: routing reads the
new routes at once, and a refused change (rolled back) costs no one a cache. The unit beside
`Services.configuring` (`bot/core/services.py`), which every configuration write goes through."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.core.config_cache import ConfigCache
from bot.infra.settings import Settings
from bot.runtime.app import build_services


async def test_a_commit_clears_the_cache_and_a_rollback_does_not(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db", data_dir=str(tmp_path))
    cache = ConfigCache(ttl=3600)
    services = build_services(settings, cache=cache)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    try:
        assert await cache.get(("routing", "acme"), load) == 1
        with pytest.raises(ValueError):
            async with services.configuring() as session:
                await session.execute(text("select 1"))
                raise ValueError("refused")  # rolled back
        assert await cache.get(("routing", "acme"), load) == 1  # still the cached value
        async with services.configuring() as session:
            await session.execute(text("select 1"))
        assert await cache.get(("routing", "acme"), load) == 2  # read anew after the commit
        async with services.configuring(begin=False) as session:  # a dry run rolls back
            transaction = await session.begin()
            await transaction.rollback()
        assert await cache.get(("routing", "acme"), load) == 2
    finally:
        await services.http.aclose()
        await services.db.dispose()
