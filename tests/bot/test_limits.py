"""Token buckets, circuits and backoff, on a clock the test controls."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from adapters.base import retry_after_seconds
from bot.core.delivery.limits import Circuit, RateLimits, TokenBucket, backoff


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_rate_and_no_burst_above_one() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, capacity=1.0, clock=clock)
    assert bucket.take() == 0
    assert bucket.take() == pytest.approx(1.0)
    clock.now += 0.5
    assert bucket.take() == pytest.approx(0.5)
    clock.now += 10  # idle time does not bank more than one message
    assert bucket.take() == 0
    assert bucket.take() > 0


def test_a_pause_holds_sends_for_the_retry_after() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, capacity=1.0, clock=clock)
    bucket.pause(3.0)
    assert bucket.take() == pytest.approx(3.5)
    clock.now += 3.5
    assert bucket.take() == 0


def test_rate_limits_resize_when_a_channel_rate_changes() -> None:
    limits = RateLimits(clock=Clock())
    assert limits.bucket("c", 60).rate == 1.0
    assert limits.bucket("c", 120).rate == 2.0


def test_a_circuit_opens_after_five_failures_and_closes_on_success() -> None:
    circuit = Circuit(threshold=5, base_open=30, max_open=300)
    assert [circuit.failure(0.0) for _ in range(5)] == [False] * 4 + [True]
    assert circuit.blocked_for(10.0) == pytest.approx(20.0)
    assert circuit.blocked_for(31.0) == 0  # half-open: one try may go
    assert [circuit.failure(31.0) for _ in range(5)][-1] is True
    assert circuit.blocked_for(31.0) == pytest.approx(60.0)  # open longer each time
    circuit.success()
    assert circuit.blocked_for(31.0) == 0 and circuit.failures == 0


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for failures, base in [(1, 30.0), (2, 30.0), (3, 30.0)]:
        ceiling = base * 2 ** (failures - 1)
        for _ in range(50):
            assert ceiling / 2 <= backoff(failures, base, rng=rng) <= ceiling
    assert backoff(30, 60.0, cap=900.0, rng=rng) <= 900.0


@pytest.mark.parametrize(
    "header,expected",
    [
        ("120", 120.0),
        ("1.5", 1.5),
        (None, 30.0),
        ("soon", 30.0),
        ("-5", 0.0),
        ("Sat, 21 Nov 2026 12:00:10 GMT", 10.0),
    ],
)
def test_retry_after_takes_seconds_or_a_date(header: str | None, expected: float) -> None:
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(header, 30.0, now=now) == pytest.approx(expected)
