"""Whether a send may go now: the unit beside `bot/core/delivery/flow.py`. One process on SQLite,
so its own token buckets pace each destination (PostgreSQL's shared slots are tested with
several processes in tests/scenarios/test_shared_rate.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from bot.core.delivery.flow import Flow, is_pager, rate_key
from domain import ChannelInfo, DeliveryKind, OutboxItem, Priority
from storage.db import Database


def channel(kind: str, per_minute: int = 60) -> ChannelInfo:
    return ChannelInfo(
        id=f"ch-{kind}",
        tenant="default",
        name=kind,
        type=kind,
        target="",
        rate_per_minute=per_minute,
        integration_id=f"int-{kind}",
    )


def item(kind: DeliveryKind = DeliveryKind.POST) -> OutboxItem:
    return OutboxItem(
        id="d1",
        tenant="default",
        event_id="a1",
        channel_id="ch",
        integration_id=None,
        channel_type="webhook",
        kind=kind,
        attempts=1,
        failures=0,
        max_attempts=3,
        retry_delay_seconds=1.0,
        lease_until=datetime(2027, 1, 1, tzinfo=UTC),
        message_ref=None,
        priority=Priority.HIGH,
        created_at=datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
async def flow(tmp_path: Path) -> Flow:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'flow.db'}")
    return Flow(db)


def test_edits_have_a_limit_of_their_own_and_pagers_take_every_alert() -> None:
    slack = channel("slack")
    assert rate_key(item(), slack) == ("ch-slack", 60.0)
    assert rate_key(item(DeliveryKind.UPDATE), slack) == ("ch-slack:update", 240.0)
    assert is_pager(item(), channel("pagerduty"))
    assert not is_pager(item(), slack)  # a chat channel folds a storm instead
    assert not is_pager(item(DeliveryKind.UPDATE), channel("pagerduty"))


async def test_a_pagers_held_alerts_come_back_each_in_its_own_turn(flow: Flow) -> None:
    pager = channel("pagerduty", per_minute=60)  # one a second
    waits = [await flow.wait_for_slot(item(), pager) for _ in range(4)]
    assert waits[0] == 0  # the first goes now
    # the others come back a second apart, not all at the next free slot
    assert [round(b - a) for a, b in pairwise(waits[1:])] == [1, 1]


async def test_a_429_pauses_the_destination_and_an_open_circuit_blocks_it(flow: Flow) -> None:
    slack = channel("slack", per_minute=600)
    await flow.pause(slack, 5.0)
    assert await flow.wait_for_slot(item(), slack) >= 4.9
    hook = channel("webhook")
    for _ in range(5):  # five failures in a row open the circuit
        flow.circuit(hook).failure(flow.circuits.now())
    assert flow.blocked_for(hook) > 0
    assert flow.blocked_for(channel("email")) == 0  # another destination is not touched
