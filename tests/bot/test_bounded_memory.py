"""Per-tenant memory is bounded: a flood of new tenants cannot grow the process without end."""

from __future__ import annotations

from bot.core.config_cache import BoundedSet, ConfigCache
from bot.infra.replay import ReplayGuard


def test_the_known_tenants_keep_the_most_recent_only() -> None:
    seen: BoundedSet[str] = BoundedSet(size=1000)
    for n in range(20_000):
        seen.add(f"tenant-{n}")
    assert len(seen) == 1000
    assert "tenant-19999" in seen and "tenant-0" not in seen


async def test_the_routing_cache_holds_at_most_its_size() -> None:
    cache = ConfigCache(ttl=60, size=100)

    async def load() -> str:
        return "routes"

    for n in range(5_000):
        await cache.get(("routing", f"t{n}"), load)
    assert len(cache) == 100


def test_remembered_signatures_expire_and_are_bounded() -> None:
    now = [0.0]
    guard = ReplayGuard(window=300, size=1000, clock=lambda: now[0])
    assert guard.first_time("sig-a") and not guard.first_time("sig-a")
    for n in range(5_000):
        guard.first_time(f"sig-{n}")
    assert len(guard._seen) <= 1000
    now[0] = 400.0  # past the window: the old signature is forgotten, and would be stale anyway
    assert guard.first_time("sig-a")
