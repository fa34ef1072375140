"""A short-lived cache of routing configuration, so the hot path skips queries that rarely change.

Writes through this process's API clear it at once; changes made by other processes
(another bot, the CLI) are seen within `ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigCache:
    """Values by key, each kept for `ttl` seconds or until `invalidate()`."""

    def __init__(self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._values: dict[tuple[Any, ...], tuple[float, Any]] = {}

    async def get(self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or `load()`'s result, kept until it expires."""
        now = self._clock()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        self._values[key] = (now + self._ttl, value)
        return value

    def invalidate(self) -> None:
        """Forget everything: configuration has changed."""
        self._values.clear()
