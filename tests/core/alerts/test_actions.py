"""The state machine of an alert's actions, through core's ActionService on a real SQLite file:
which verb moves an alert from which state, what a late or repeated click is told (and that it
changes nothing), notes on any state, snoozes that replace each other, and two clicks at once
(the first wins). The unit beside `bot/core/alerts/actions.py`; the HTTP, Slack and Teams
surfaces of the same rules are tested in tests/bot and tests/scenarios."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.services import Services
from bot.infra.settings import Settings
from bot.runtime.app import build_services
from domain import AlertState, EventIn, Verb
from domain.acting import Actor, Ask
from storage import alerts as alerts_repo

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ANA = Actor("U1", "Ana", "slack", "default")
BEN = Actor("U2", "Ben", "teams", "default")


async def alert_of(services: Services, title: str = "disk full") -> str:
    made = await services.ingest.submit(EventIn(title=title, dedup_key=title))
    assert made.id is not None
    return made.id


async def trail(services: Services, alert_id: str) -> list[tuple[str, str, str | None, str | None]]:
    async with services.db.session() as session:
        rows = await alerts_repo.audit_of(session, alert_id)
    return [(r.verb, r.outcome, r.from_state, r.to_state) for r in rows]


async def test_acknowledge_then_resolve_and_what_late_clicks_are_told(services: Services) -> None:
    alert = await alert_of(services)
    acted = await services.actions.apply(Verb.ACKNOWLEDGE, alert, ANA)
    assert (acted.applied, acted.alert and acted.alert.state) == (True, AlertState.ACKNOWLEDGED)
    again = await services.actions.apply(Verb.ACKNOWLEDGE, alert, BEN)
    assert (again.applied, again.code) == (False, "already_acknowledged")
    assert again.message == "Already acknowledged by Ana."
    closed = await services.actions.apply(Verb.RESOLVE, alert, BEN)
    assert closed.applied and closed.alert and closed.alert.resolved_by == "Ben"
    for verb in (Verb.ACKNOWLEDGE, Verb.RESOLVE, Verb.ESCALATE, Verb.DISCARD):
        late = await services.actions.apply(verb, alert, ANA)
        assert (late.applied, late.code) == (False, "already_resolved"), verb
    snoozed = await services.actions.apply(Verb.SNOOZE, alert, ANA, Ask(minutes=30))
    assert not snoozed.applied
    # every click is audited, the refused ones too, with the states it found and left
    assert (await trail(services, alert))[:3] == [
        ("acknowledge", "applied", "triggered", "acknowledged"),
        ("acknowledge", "already_acknowledged", "acknowledged", "acknowledged"),
        ("resolve", "applied", "acknowledged", "resolved"),
    ]


async def test_a_note_goes_on_any_state_and_a_wrong_ask_changes_nothing(
    services: Services,
) -> None:
    alert = await alert_of(services)
    empty = await services.actions.apply(Verb.NOTE, alert, ANA, Ask(text="   "))
    assert (empty.applied, empty.code) == (False, "bad_request")
    zero = await services.actions.apply(Verb.SNOOZE, alert, ANA, Ask(minutes=0))
    assert (zero.applied, zero.code) == (False, "bad_request")
    assert await trail(services, alert) == []  # refused before anything was written
    await services.actions.apply(Verb.RESOLVE, alert, ANA)
    noted = await services.actions.apply(Verb.NOTE, alert, BEN, Ask(text="root cause: cron"))
    assert noted.applied and noted.data == {"text": "root cause: cron"}


async def test_snoozes_replace_each_other_and_unsnooze_reopens(services: Services) -> None:
    alert = await alert_of(services)
    first = await services.actions.apply(Verb.SNOOZE, alert, ANA, Ask(minutes=30))
    second = await services.actions.apply(Verb.SNOOZE, alert, BEN, Ask(minutes=240))
    assert first.applied and second.applied and second.alert is not None
    assert second.alert.snoozed_by == "Ben"
    assert first.alert is not None and first.alert.snoozed_until is not None
    assert second.alert.snoozed_until is not None
    assert second.alert.snoozed_until > first.alert.snoozed_until
    woke = await services.actions.apply(Verb.UNSNOOZE, alert, ANA)
    assert woke.applied and woke.alert is not None and not woke.alert.snoozed
    twice = await services.actions.apply(Verb.UNSNOOZE, alert, ANA)
    assert (twice.applied, twice.code) == (False, "not_snoozed")


async def test_two_clicks_at_once_the_first_wins(services: Services) -> None:
    alerts = [await alert_of(services, f"alert {n}") for n in range(10)]
    clicks = [
        services.actions.apply(Verb.ACKNOWLEDGE, a, who) for a in alerts for who in (ANA, BEN)
    ]
    outcomes = await asyncio.gather(*clicks)
    for n in range(10):
        ana, ben = outcomes[2 * n], outcomes[2 * n + 1]
        assert (ana.applied, ben.applied) == (True, False)  # arrived first, applied first
        assert ben.message == "Already acknowledged by Ana."


async def test_clicks_sharing_a_transaction_update_a_card_once_with_every_note(
    services: Services,
) -> None:
    """Clicks on one alert that commit together queue one update of its card, carrying each
    click's note: the second reads the update the first queued, not yet written."""
    from storage.schema import Channel, Delivery

    alert = await alert_of(services)
    async with services.db.session() as session, session.begin():
        session.add(Channel(id="ops", tenant_id="default", name="ops", type="webhook"))
        await session.flush()
        session.add(
            Delivery(
                tenant_id="default",
                event_id=alert,
                channel_id="ops",
                channel_type="webhook",
                kind="post",
                status="sent",
                message_ref="card-1",
                priority="medium",
                event_type="alert",
            )
        )
    other = await alert_of(services, "another")
    first, acked, resolved = await asyncio.gather(  # the first commits alone, then the two
        services.actions.apply(Verb.ACKNOWLEDGE, other, ANA),
        services.actions.apply(Verb.ACKNOWLEDGE, alert, BEN),
        services.actions.apply(Verb.RESOLVE, alert, ANA),
    )
    assert first.applied and acked.applied and resolved.applied
    async with services.db.session() as session:
        rows = await alerts_repo.deliveries_of(session, alert)
    updates = [r for r in rows if r.kind == "update"]
    assert len(updates) == 1
    notes = (updates[0].action_data or {})["notes"]
    assert notes == ["👀 Acknowledged by Ben", "✅ Resolved by Ana"]


async def test_who_clicked_is_known_at_once_after_people_change(settings: Settings) -> None:
    """Each click is attributed to a person from the cache of the tenant's chat identities; a
    change of people clears it when it commits (the cache here would otherwise keep an hour)."""
    from bot.core import oncall
    from bot.core.config_cache import ConfigCache
    from bot.core.paging import roster
    from bot.core.specs.oncall import PersonChange, PersonSpec
    from domain import SYSTEM

    built = build_services(settings, cache=ConfigCache(ttl=3600))
    await built.db.upgrade()
    try:
        first, second, third = [await alert_of(built, f"alert {n}") for n in range(3)]
        await built.actions.apply(Verb.ACKNOWLEDGE, first, ANA)  # nobody yet: the cache fills
        await oncall.add_person(
            built, "default", PersonSpec(name="ana", slack_user_id="U1"), SYSTEM
        )
        await built.actions.apply(Verb.ACKNOWLEDGE, second, ANA)
        await roster.change_person(
            built, "default", "ana", PersonChange(slack_user_id=None), SYSTEM
        )
        await built.actions.apply(Verb.ACKNOWLEDGE, third, ANA)
        async with built.db.session() as session:
            people = [
                (await alerts_repo.audit_of(session, a))[0].data.get("person")
                for a in (first, second, third)
            ]
        assert people == [None, "ana", None]
    finally:
        await built.http.aclose()
        await built.db.dispose()
