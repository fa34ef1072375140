"""Flow control for deliveries: token buckets, circuit breakers and backoff with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
_RNG = random.Random()


@dataclass
class TokenBucket:
    """`rate` tokens a second, up to `capacity`; `pause` empties it until a moment."""

    rate: float
    capacity: float
    clock: Clock = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self) -> float:
        """Take a token and return 0, or return the seconds until one will be free."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def available(self) -> int:
        """Whole tokens free now, without taking any."""
        self._refill()
        return max(0, int(self.tokens))

    def pause(self, seconds: float) -> None:
        """The destination said to wait: no tokens until `seconds` from now."""
        self._refill()
        self.tokens = min(self.tokens, 0.0) - seconds * self.rate


class RateLimits:
    """One bucket per destination at its messages-per-minute rate, with no burst above it."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._clock = clock

    def bucket(self, key: str, per_minute: float) -> TokenBucket:
        """The bucket for a destination, resized if its rate changed."""
        rate = max(per_minute, 1) / 60.0
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = TokenBucket(rate=rate, capacity=1.0, clock=self._clock)
            self._buckets[key] = bucket
        return bucket


@dataclass
class Circuit:
    """Opens after `threshold` failures in a row; lets one try through once `open_until` passes."""

    threshold: int = 5
    base_open: float = 30.0
    max_open: float = 300.0
    failures: int = 0
    open_until: float = 0.0
    trips: int = 0

    def blocked_for(self, now: float) -> float:
        """Seconds until a try is allowed; 0 when closed or half-open."""
        return max(0.0, self.open_until - now)

    def success(self) -> None:
        """A send worked: close the circuit."""
        self.failures, self.trips, self.open_until = 0, 0, 0.0

    def failure(self, now: float) -> bool:
        """A send failed; True when this failure opened the circuit."""
        self.failures += 1
        if self.failures < self.threshold:
            return False
        self.trips += 1
        self.open_until = now + min(self.max_open, self.base_open * 2 ** (self.trips - 1))
        self.failures = 0
        return True


class Circuits:
    """One circuit per integration (or per channel without one)."""

    def __init__(self, clock: Clock = time.monotonic, threshold: int = 5) -> None:
        self._circuits: dict[str, Circuit] = {}
        self._clock = clock
        self._threshold = threshold

    def get(self, key: str) -> Circuit:
        """The circuit for a key, created closed."""
        return self._circuits.setdefault(key, Circuit(threshold=self._threshold))

    def now(self) -> float:
        """The clock the circuits run on."""
        return self._clock()


def backoff(
    failures: int, base: float, *, cap: float = 900.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: between half and all of `base * 2**(failures-1)`."""
    ceiling = min(cap, base * 2.0 ** max(0, failures - 1))
    return ceiling / 2 + (rng or _RNG).uniform(0, ceiling / 2)
