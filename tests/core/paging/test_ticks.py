"""The escalation clock: a policy's steps fire when their waits are over and not a moment
before, round after round, then stop; a snooze pauses the clock and an acknowledgement stops
it. Driven by the scheduler's tick with its clock moved on, on a real SQLite file. The unit
beside `bot/core/paging/ticks.py` (and `domain.escalation.after`); paging people on Slack and
Teams through the same clock is tests/scenarios/test_paging.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.core.integrations import channels
from bot.core.paging import policies
from bot.core.paging.ticks import Escalations
from bot.core.services import Services
from bot.core.specs.oncall import PolicySpec, StepSpec
from bot.core.specs.routes import ChannelSpec, RouteSpec
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from domain import SYSTEM, EventIn, Priority, Verb
from domain.acting import Actor, Ask
from domain.escalation import Position, after, policy_from
from storage import alerts as alerts_repo
from storage.schema import utcnow

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ANA = Actor("U1", "Ana", "slack", "default")


def test_after_a_step_comes_the_next_then_the_next_round_then_nothing() -> None:
    policy = policy_from({"name": "db", "steps": [{"notify": [{"channel": "a"}]}] * 2, "repeat": 1})
    walk, at = [], Position(0, 0)
    while at is not None:
        walk.append((at.step, at.round))
        at = after(policy, at)  # type: ignore[assignment]
    assert walk == [(0, 0), (1, 0), (0, 1), (1, 1)]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = build_services(settings)
    await built.db.upgrade()
    for name in ("first", "second"):
        spec = ChannelSpec(name=name, type="webhook", target=f"http://127.0.0.1:9/{name}")
        await channels.add_channel(built, "default", spec, SYSTEM)
    steps = [
        StepSpec(notify=[{"channel": "first"}], wait="5m"),
        StepSpec(notify=[{"channel": "second"}], wait="10m"),
    ]
    await policies.save(built, "default", PolicySpec(name="db", steps=steps, repeat=1), SYSTEM)
    route = RouteSpec(channel="first", escalation_policy="db")
    await channels.add_route(built, "default", route, SYSTEM)
    yield built
    await built.http.aclose()
    await built.db.dispose()


async def pages(services: Services, alert_id: str) -> list[tuple[int, int]]:
    async with services.db.session() as session:
        rows = await alerts_repo.audit_of(session, alert_id)
    return [(r.data["step"], r.data["round"]) for r in rows if r.verb == "page"]


@ON_SQLITE
async def test_steps_fire_when_their_waits_end_round_after_round(services: Services) -> None:
    start = utcnow()
    made = await services.ingest.submit(EventIn(title="db down", priority=Priority.HIGH))
    assert made.id is not None
    clock = Escalations(services.db, services.cache, wake=lambda: None)
    assert await pages(services, made.id) == [(1, 1)]  # the first step at once
    assert await clock.tick(start + timedelta(minutes=4, seconds=50)) == 0
    assert await clock.tick(start + timedelta(minutes=5, seconds=1)) == 1
    assert await pages(services, made.id) == [(1, 1), (2, 1)]
    assert await clock.tick(start + timedelta(minutes=14, seconds=50)) == 0  # 5 + 10 not yet
    assert await clock.tick(start + timedelta(minutes=15, seconds=2)) == 1  # round 2, step 1
    assert await clock.tick(start + timedelta(minutes=20, seconds=3)) == 1  # round 2, step 2
    assert await clock.tick(start + timedelta(hours=3)) == 0  # every step of every round done
    assert await pages(services, made.id) == [(1, 1), (2, 1), (1, 2), (2, 2)]


@ON_SQLITE
async def test_a_snooze_pauses_the_clock_and_an_acknowledgement_stops_it(
    services: Services,
) -> None:
    start = utcnow()
    made = await services.ingest.submit(EventIn(title="db slow", priority=Priority.HIGH))
    assert made.id is not None
    clock = Escalations(services.db, services.cache, wake=lambda: None)
    snoozed = await services.actions.apply(Verb.SNOOZE, made.id, ANA, Ask(minutes=60))
    assert snoozed.applied
    assert await clock.tick(start + timedelta(minutes=30)) == 0  # step 2 was due; snoozed
    await services.actions.apply(Verb.UNSNOOZE, made.id, ANA)
    assert await clock.tick(start + timedelta(minutes=31)) == 1  # due again once awake
    await services.actions.apply(Verb.ACKNOWLEDGE, made.id, ANA)
    assert await clock.tick(start + timedelta(hours=5)) == 0  # acknowledged: nobody paged
    assert await pages(services, made.id) == [(1, 1), (2, 1)]
