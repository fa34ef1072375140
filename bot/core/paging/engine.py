"""Running escalation policies: the first step when an alert starts one, the next steps when
their wait is over, reminders and the end of an acknowledgement, and what clicks do to them.

The state of each running policy is a row (`escalations`) changed in the same transaction as
the outbox rows of the page it sends: a crash before the commit pages nobody and the step is
fired again; after it, the outbox delivers and the row says the step is done. Nobody is paged
twice for one step, across restarts and several processes (rows are taken with SKIP LOCKED).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.config_cache import ConfigCache
from bot.core.delivery.updates import queue_updates
from bot.core.paging.reach import Means, direct_channels, means_of
from domain import Alert, DeliveryKind, Verb
from domain.escalation import Position, after, describe, policy_from
from domain.schedules import on_call
from storage import alerts as alerts_repo
from storage import outbox
from storage.notify import notify_outbox
from storage.oncall import load_schedule
from storage.schema import (
    Channel,
    Escalation,
    Event,
    OnCallSchedule,
    Person,
    utcnow,
)

log = logging.getLogger(__name__)

RUNNING, ACKNOWLEDGED, EXHAUSTED, DONE = "running", "acknowledged", "exhausted", "done"
PAGE_ATTEMPTS = 6  # a page is tried this many times, 10 s apart and backing off


@dataclass(frozen=True)
class Fired:
    """What one step did: its words for the card, and how many pages it queued."""

    text: str
    queued: int


def spoken_ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def due_at(row: Escalation) -> datetime | None:
    """The soonest thing to do for the row in its status."""
    times = [row.remind_at, row.unack_at] if row.status == ACKNOWLEDGED else [row.next_at]
    found = [t for t in times if t is not None]
    return min(found) if found else None


async def start(
    session: AsyncSession,
    alert: Alert,
    name: str,
    document: dict[str, Any],
    now: datetime,
    cache: ConfigCache | None = None,
) -> int:
    """Start the policy for a new alert and fire its first step in this transaction."""
    row = Escalation(
        tenant_id=alert.tenant,
        event_id=alert.id,
        policy_name=name,
        policy=document,
        status=RUNNING,
        step=0,
        round=0,
        next_at=now,
        due_at=now,
        fired=[],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    fired = await fire(session, row, alert, now, by="policy", cache=cache, first=True)
    return fired.queued


async def person_named(session: AsyncSession, tenant: str, name: str) -> Person | None:
    return await session.scalar(
        select(Person).where(Person.tenant_id == tenant, Person.name == name)
    )


async def _on_call(session: AsyncSession, tenant: str, name: str, now: datetime) -> str | None:
    """Who is on call in the schedule now; None when nobody is (or there is no schedule)."""
    row = await session.scalar(
        select(OnCallSchedule).where(
            OnCallSchedule.tenant_id == tenant, OnCallSchedule.name == name
        )
    )
    if row is None:
        return None
    found = on_call(await load_schedule(session, row, now), now)
    return found.person


async def _channel(session: AsyncSession, tenant: str, name: str) -> Channel | None:
    return await session.scalar(
        select(Channel).where(
            Channel.tenant_id == tenant,
            Channel.name == name,
            Channel.person_id.is_(None),
            Channel.is_active.is_(True),
        )
    )


async def fire(
    session: AsyncSession,
    row: Escalation,
    alert: Alert,
    now: datetime,
    *,
    by: str,
    cache: ConfigCache | None = None,
    first: bool = False,
    means: dict[str, Means] | None = None,
) -> Fired:
    """Notify the targets of the row's next step and move it on; the card's words. `means`
    keeps each tenant's ways to reach people across the steps of one tick."""
    policy = policy_from(row.policy, row.policy_name)
    at = Position(row.step, row.round)
    step = policy.steps[min(at.step, len(policy.steps) - 1)]
    names: list[str] = []
    problems: list[str] = []
    channels: list[Channel] = []
    for target in step.targets:
        if target.kind == "channel":
            found = await _channel(session, alert.tenant, target.name)
            if found is None:
                problems.append(f"no channel {target.name!r}")
            else:
                names.append(f"#{found.name}")
                channels.append(found)
            continue
        person_name: str | None = target.name
        if target.kind == "schedule":
            person_name = await _on_call(session, alert.tenant, target.name, now)
            if person_name is None:
                problems.append(f"nobody is on call in {target.name!r}")
                continue
        assert person_name is not None
        person = await person_named(session, alert.tenant, person_name)
        if person is None:
            problems.append(f"no person {person_name!r}")
            continue
        if means is not None and alert.tenant not in means:
            means[alert.tenant] = await means_of(session, alert.tenant)
        known = means.get(alert.tenant) if means is not None else None
        reached = await direct_channels(session, person, known)
        if reached.problem:
            problems.append(reached.problem)
        if reached.changed and cache is not None:
            for channel in reached.channels:
                cache.forget(("channel", channel.id))
        if reached.channels:
            names.append(person.name)
            channels.extend(reached.channels)
    text = f"📟 Paging {', '.join(dict.fromkeys(names)) or 'nobody'} ({describe(policy, at)})"
    if problems:
        text += ": " + "; ".join(problems)
    text = text[:255]
    await session.execute(update(Event).where(Event.id == alert.id).values(paging=text))
    shown = dataclasses.replace(alert, paging=text)
    queued = 0
    due = min(now, utcnow())  # pages go now, even when `now` is a scheduler's clock ahead
    cards = await alerts_repo.cards(session, alert.id)
    if not first:  # the cards already out say who is paged now, before the new pages go
        queued += await queue_updates(session, shown, due, text, cards)
    for channel in dict((c.id, c) for c in channels).values():
        if channel.id in cards.showing:
            continue  # paged again in a later round: the update above says so under it
        outbox.queue(
            session,
            shown,
            channel,
            DeliveryKind.POST,
            due,
            max_attempts=PAGE_ATTEMPTS,
            retry_delay_seconds=10.0,
            retry_for=600.0,
        )
        queued += 1
    session.add(
        alerts_repo.audit_row(
            alert.tenant,
            "page",
            f"escalation:{by}",
            "scheduler" if by == "policy" else "chat",
            alert=alert,
            outcome="applied" if names else "nobody_reached",
            data={
                "name": "ChatOps (escalation policy)",
                "policy": row.policy_name,
                "step": at.step + 1,
                "round": at.round + 1,
                "paged": names,
                "problems": problems,
            },
        )
    )
    row.fired = [
        *row.fired,
        {"step": at.step, "round": at.round, "at": now.isoformat(), "paged": names, "by": by},
    ]
    following = after(policy, at)
    if following is None:
        row.status, row.next_at = EXHAUSTED, None
    else:
        row.step, row.round, row.next_at = following.step, following.round, now + step.wait
    row.due_at = due_at(row)
    row.updated_at = now
    await session.flush()  # a caller that reloads the alert (expire_all) must not lose this
    if problems:
        log.warning(
            "escalation step reached not everyone",
            extra={"alert_id": alert.id, "policy": row.policy_name, "problems": problems},
        )
    return Fired(text, queued)


async def acted(
    session: AsyncSession,
    verb: Verb,
    alert: Alert,
    person: str | None,
    now: datetime,
    cache: ConfigCache | None = None,
) -> None:
    """What an applied action does to the alert's running policy: acknowledge stops it (and
    starts the reminders), resolve ends it, unsnooze lets it go on."""
    if alert.paging is None:
        return  # no policy ever ran for it: a policy's first step fires as it starts
    row = await session.scalar(
        select(Escalation).where(Escalation.event_id == alert.id).with_for_update()
    )
    if row is None:
        return
    policy = policy_from(row.policy, row.policy_name)
    if verb is Verb.ACKNOWLEDGE:
        row.status, row.acknowledger = ACKNOWLEDGED, person
        row.remind_at = now + policy.remind_after if policy.remind_after and person else None
        row.unack_at = now + policy.unacknowledge_after if policy.unacknowledge_after else None
    elif verb in (Verb.RESOLVE, Verb.DISCARD):
        row.status = DONE
    elif verb is Verb.UNSNOOZE and row.status == RUNNING:
        row.next_at = max(row.next_at or now, now)
    row.due_at = due_at(row) if row.status in (RUNNING, ACKNOWLEDGED) else None
    row.updated_at = now


async def escalate_now(
    session: AsyncSession, alert: Alert, now: datetime, cache: ConfigCache | None = None
) -> tuple[bool, str] | None:
    """Escalate from the card: fire the policy's next step at once. (done, words), or None
    when the alert runs no policy (its routes' levels escalate it instead)."""
    row = await session.scalar(
        select(Escalation).where(Escalation.event_id == alert.id).with_for_update()
    )
    if row is None:
        return None
    if row.status in (EXHAUSTED, DONE):
        return False, f"Already past the last step of {row.policy_name}."
    row.status = RUNNING
    fired = await fire(session, row, alert, now, by="escalate", cache=cache)
    return True, fired.text


async def to_person(
    session: AsyncSession, alert: Alert, channels: tuple[Channel, ...], note: str, now: datetime
) -> None:
    """The alert's card to a person's direct channels: a new card where they have none, else
    an update of theirs with `note` as a reply under it (a reminder, a page by hand)."""
    cards = await alerts_repo.cards(session, alert.id)
    for channel in channels:
        kind = DeliveryKind.UPDATE if channel.id in cards.showing else DeliveryKind.POST
        outbox.queue(
            session,
            alert,
            channel,
            kind,
            min(now, utcnow()),  # now, even when `now` is a scheduler's clock ahead
            max_attempts=PAGE_ATTEMPTS,
            retry_delay_seconds=10.0,
            retry_for=600.0,
            action_data={"notes": [note]} if kind is DeliveryKind.UPDATE else None,
        )


async def page_by_hand(
    session: AsyncSession,
    alert: Alert,
    person: str | None,
    schedule: str | None,
    now: datetime,
    by: str,
) -> tuple[str | None, list[str]]:
    """Page one person (or whoever is on call in `schedule`) for an alert now, outside any
    policy: (whom, problems)."""
    if schedule is not None:
        person = await _on_call(session, alert.tenant, schedule, now)
        if person is None:
            return None, [f"nobody is on call in {schedule!r} now"]
    assert person is not None
    row = await person_named(session, alert.tenant, person)
    if row is None:
        return None, [f"no person {person!r}"]
    reached = await direct_channels(session, row)
    if not reached.channels:
        return None, [reached.problem or f"{person} cannot be reached"]
    await to_person(session, alert, reached.channels, f"📟 {by} paged {person}", now)
    data = {"name": by, "paged": [person], "schedule": schedule}
    session.add(
        alerts_repo.audit_row(alert.tenant, "page", by, by.split(":", 1)[0], data, alert=alert)
    )
    await notify_outbox(session)
    return person, []


async def person_acting(
    session: AsyncSession, tenant: str, platform: str, user_id: str, cache: ConfigCache
) -> str | None:
    """The person a chat user is, by their Slack user id or Teams AAD object (or account) id.
    Every click asks, so the tenant's chat identities are kept in the configuration cache (a
    change of people is a configuration write, which clears it)."""
    if not user_id or platform not in ("slack", "teams"):
        return None
    known = await cache.get(("people", tenant), lambda: chat_identities(session, tenant))
    return known.get((platform, user_id))


async def chat_identities(session: AsyncSession, tenant: str) -> dict[tuple[str, str], str]:
    """(platform, chat user id) → the person's name, for every person of the tenant."""
    rows = await session.execute(
        select(
            Person.name, Person.slack_user_id, Person.teams_aad_object_id, Person.teams_user_id
        ).where(Person.tenant_id == tenant)
    )
    found: dict[tuple[str, str], str] = {}
    for name, slack, aad, account in rows.all():
        for platform, user_id in (("slack", slack), ("teams", aad), ("teams", account)):
            if user_id:
                found.setdefault((platform, user_id), name)
    return found


async def running(session: AsyncSession, alert_id: str) -> dict[str, Any] | None:
    """The policy running for an alert, as the API and the console show its progress."""
    row = await session.scalar(select(Escalation).where(Escalation.event_id == alert_id))
    if row is None:
        return None
    policy = policy_from(row.policy, row.policy_name)
    return {
        "policy": row.policy_name,
        "status": row.status,
        "steps": len(policy.steps),
        "next_step": row.step + 1 if row.status == RUNNING else None,
        "next_at": row.next_at.isoformat() if row.next_at and row.status == RUNNING else None,
        "acknowledged_by": row.acknowledger,
        "fired": list(row.fired),
    }
