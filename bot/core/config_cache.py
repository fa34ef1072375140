"""A short-lived cache of routing configuration, so the hot path skips queries that rarely change.

Writes through this process's API clear it at once; changes made by other processes
(another bot, the CLI) are seen within `ttl` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class BoundedSet(Generic[K]):
    """The most recently seen `size` keys: memory stays flat however many tenants appear."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._keys: OrderedDict[K, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)  # type: ignore[arg-type]
            return True
        return False

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> None:
        """Remember `key`, forgetting the least recently seen one past the bound."""
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)


class ConfigCache:
    """Values by key, each kept for `ttl` seconds or until `invalidate()`, at most `size` keys."""

    def __init__(
        self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic, size: int = 4_096
    ) -> None:
        self._ttl, self._clock, self._size = ttl, clock, size
        self._values: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    async def get(
        self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]], ttl: float | None = None
    ) -> T:
        """The cached value, or `load()`'s result, kept until it expires (`ttl` seconds when
        given: for facts that change only through this cache's `invalidate`)."""
        now = self._clock()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        self._values[key] = (now + (self._ttl if ttl is None else ttl), value)
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)
        return value

    def forget(self, key: tuple[Any, ...]) -> None:
        """Forget one key: what it names changed here."""
        self._values.pop(key, None)

    def invalidate(self) -> None:
        """Forget everything: configuration has changed."""
        self._values.clear()
