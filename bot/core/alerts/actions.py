"""Acting on alerts: acknowledge, escalate, resolve, snooze, unsnooze, note, retry, discard;
first wins, every click audited (refused ones too), and every copy of the card updated."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import snoozing
from bot.core.alerts.fanout import load_routing, queue_posts
from bot.core.alerts.ingest import IngestService
from bot.core.alerts.silences import Silences
from bot.core.config_cache import ConfigCache
from bot.core.delivery.updates import queue_updates
from bot.core.group_commit import GroupCommit
from bot.core.paging import engine
from cards.templates import offers
from domain import Alert, AlertState, Verb
from domain.acting import (
    CARD_VERBS,
    ESCALATED,
    MAX_LEVEL,
    NOTES,
    OPEN,
    PAST,
    STOPS,
    Actor,
    Ask,
    Outcome,
    problem,
    spoken_until,
)
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import outbox, snoozes
from storage.db import Database
from storage.notify import notify_outbox
from storage.schema import utcnow

log = logging.getLogger(__name__)


JobRetry = Callable[[Alert, "Actor"], Awaitable[object]]


class ActionService:
    """Applies verbs to alerts with conditional updates, so two clicks give one winner.

    Retry on a failed-job alert whose `metadata.job` names a registered job (a sync) starts
    that job again in the background; the alert closes when the job succeeds.
    """

    def __init__(
        self,
        db: Database,
        ingest: IngestService,
        cache: ConfigCache,
        *,
        silences: Silences | None = None,
        jobs: Mapping[str, JobRetry] | None = None,
    ) -> None:
        self._db, self._ingest, self._cache = db, ingest, cache
        self._writes = GroupCommit(db)
        self.silences = silences  # Alertmanager silences that follow snoozes
        # what Retry on a failed job's card runs again, by job ("sync": the sync engine's)
        self.jobs: Mapping[str, JobRetry] = jobs if jobs is not None else {}
        self._running: set[asyncio.Task[object]] = set()

    async def apply(
        self, verb: Verb, alert_id: str, actor: Actor, ask: Ask | None = None
    ) -> Outcome:
        """Apply `verb` to the alert, write the audit record, and queue every card's update.

        Clicks arriving together share one transaction (group commit); they are applied one
        after another inside it, so the first click still wins.
        """
        ask = ask or Ask()
        wrong = problem(verb, ask)
        if wrong:
            return Outcome(False, wrong, code="bad_request")
        outcome = await self._writes.run(partial(self._apply, verb, alert_id, actor, ask))
        if outcome.applied:
            self._ingest.wake_workers()
            if self.silences is not None and outcome.alert is not None:
                said = await self.silences.follow(verb, outcome.alert, actor.name)
                if said:
                    outcome = dataclasses.replace(outcome, message=f"{outcome.message} {said}")
        if outcome.code == "job_restarted" and outcome.alert is not None:
            self._restart(outcome.alert, actor)
        log.info(
            "action",
            extra={
                "verb": verb.value,
                "alert_id": alert_id,
                "actor": f"{actor.platform}:{actor.id}",
                "outcome": outcome.code,
            },
        )
        return outcome

    async def _apply(
        self, verb: Verb, alert_id: str, actor: Actor, ask: Ask, session: AsyncSession
    ) -> Outcome:
        """The database work of one action, in a transaction it may share."""
        alert = await alerts_repo.get(session, alert_id)
        if alert is None or (actor.tenant is not None and alert.tenant != actor.tenant):
            return Outcome(False, f"No alert {alert_id!r} here.", code="not_found")
        offered = None
        if ask.where is not None:
            offered = await self._offered(session, alert.tenant, actor.platform, ask.where)
        if not offers(offered, verb):
            outcome = Outcome(
                False, f"This channel's cards do not offer {verb.value}.", alert, "not_offered"
            )
        else:
            outcome = await self._transition(session, verb, alert, actor, utcnow(), ask)
        outcome = dataclasses.replace(outcome, offered=offered)
        person = await engine.person_acting(
            session, alert.tenant, actor.platform, actor.id, self._cache
        )
        alerts_repo.add_audit(
            session,
            alerts_repo.audit_row(
                alert.tenant,
                verb.value,
                f"{actor.platform}:{actor.id}",
                actor.platform,
                {"name": actor.name, **outcome.data, **({"person": person} if person else {})},
                alert=alert,
                outcome=outcome.code,
                to_state=outcome.alert.state.value if outcome.alert else None,
            ),
        )
        if outcome.applied and outcome.alert is not None:
            if verb in STOPS:
                await engine.acted(session, verb, outcome.alert, person, utcnow(), self._cache)
            cards = await alerts_repo.cards(session, alert.id)
            if cards.posts and verb is not Verb.NOTE:
                await self._record_on_deliveries(session, outcome.alert, verb, actor)
            template = ESCALATED if outcome.data.get("policy") else NOTES[verb]
            note = template.format(
                name=actor.name,
                level=outcome.alert.escalation_level,
                until=spoken_until(outcome.alert, utcnow()),
                text=ask.text or "",
            )
            await queue_updates(session, outcome.alert, utcnow(), note, cards, self._cache)
            await notify_outbox(session)
        return outcome

    async def _offered(
        self, session: AsyncSession, tenant: str, platform: str, where: str
    ) -> frozenset[Verb] | None:
        """The verbs the routes of the channel at `where` offer (kept briefly)."""
        return await self._cache.get(
            ("offered", tenant, platform, where),
            lambda: config_repo.offered_at(session, tenant, platform, where),
        )

    async def wake_snoozed(self, now: datetime | None = None) -> int:
        """End every snooze that is due: each copy of a still-open alert is updated and a
        reply says it is back (resolved ones were unsnoozed when they resolved)."""
        now = now or utcnow()
        async with self._db.session() as session:
            due = await snoozes.snoozes_due(session, now)
        woke = 0
        for alert_id in due:
            woke += int(await self._writes.run(partial(snoozing.wake_one, alert_id, now)))
        if woke:
            self._ingest.wake_workers()
            log.info("snoozes ended", extra={"count": woke})
        return woke

    def _restart(self, alert: Alert, actor: Actor) -> None:
        job = self.jobs[str(alert.metadata["job"])]
        task: asyncio.Task[object] = asyncio.create_task(job(alert, actor))  # type: ignore[arg-type]
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def settle(self) -> None:
        """Wait for jobs restarted by Retry (tests, shutdown)."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def acknowledge_digest(self, digest_id: str, actor: Actor) -> Outcome:
        """Acknowledge every alert folded into a digest; report how many were still open."""
        return await self.apply_to_card(Verb.ACKNOWLEDGE, digest_id, actor)

    async def apply_to_card(
        self, verb: Verb, card_id: str, actor: Actor, ask: Ask | None = None
    ) -> Outcome:
        """Apply a verb to every alert a digest or a group's card stands for, each as its own
        click (first wins per alert, each audited); say how many took it."""
        if verb not in CARD_VERBS:
            return Outcome(
                False, f"{verb.value} is not offered on a card of many alerts.", code="bad_request"
            )
        async with self._db.session() as session:
            ids = await alerts_repo.alerts_in_digest(session, card_id[:64])
        outcomes = await asyncio.gather(*(self.apply(verb, i, actor, ask) for i in ids))
        mine = [o for o in outcomes if o.code != "not_found"]
        if not mine:
            return Outcome(False, "That card has no alerts here.", code="not_found")
        applied = sum(o.applied for o in mine)
        done = PAST[verb]
        return Outcome(
            applied > 0,
            f"{done} {applied} of {len(mine)} alerts.",
            code="applied" if applied else f"already_{done.lower()}",
            data={"applied": applied, "alerts": len(mine)},
        )

    async def _transition(
        self,
        session: AsyncSession,
        verb: Verb,
        alert: Alert,
        actor: Actor,
        now: datetime,
        ask: Ask,
    ) -> Outcome:
        if verb is Verb.NOTE:  # resolved alerts take notes too: what was found afterwards
            noted = await alerts_repo.add_note(session, alert.id, actor.name)
            return Outcome(True, "Note added.", noted, data={"text": ask.text})
        if alert.state is AlertState.RESOLVED:
            who = alert.resolved_by or "someone"
            return Outcome(False, f"Already resolved by {who}.", alert, code="already_resolved")
        if verb is Verb.ACKNOWLEDGE:
            won = await alerts_repo.transition(
                session,
                alert.id,
                allowed_from=(AlertState.TRIGGERED,),
                values={
                    "state": AlertState.ACKNOWLEDGED.value,
                    "acknowledged_by": actor.name,
                    "acknowledged_at": now,
                },
            )
            if not won:
                fresh = await _reload(session, alert.id)
                who = fresh.acknowledged_by or "someone"
                return Outcome(
                    False, f"Already acknowledged by {who}.", fresh, code="already_acknowledged"
                )
            return Outcome(True, "Acknowledged.", won)
        if verb in (Verb.RESOLVE, Verb.DISCARD):
            return await self._close(session, verb, alert, actor, now)
        if verb is Verb.ESCALATE:
            return await self._escalate(session, alert, now)
        if verb is Verb.SNOOZE:
            return await self._snooze(session, alert, actor, now, ask.minutes or 0)
        if verb is Verb.UNSNOOZE:
            return await self._unsnooze(session, alert, now)
        return await self._retry(session, alert, actor, now)

    async def _snooze(
        self, session: AsyncSession, alert: Alert, actor: Actor, now: datetime, minutes: int
    ) -> Outcome:
        """Quiet until now + minutes; a second snooze replaces the first."""
        began = await snoozes.snoozed_at(session, alert.id) if alert.snoozed else None
        won = await alerts_repo.transition(
            session,
            alert.id,
            allowed_from=OPEN,
            values={
                "snoozed_at": now,
                "snoozed_until": now + timedelta(minutes=minutes),
                "snoozed_by": actor.name[:255],
                **snoozes.snooze_values(began, now),
            },
        )
        if won is None:
            fresh = await _reload(session, alert.id)
            return Outcome(False, f"Already resolved by {fresh.resolved_by or 'someone'}.", fresh)
        said = f"Snoozed until {spoken_until(won, now)}."
        return Outcome(True, said, won, data={"minutes": minutes})

    async def _unsnooze(self, session: AsyncSession, alert: Alert, now: datetime) -> Outcome:
        if not alert.snoozed:
            return Outcome(False, "The alert is not snoozed.", alert, code="not_snoozed")
        won = await snoozing.end_snooze(session, alert.id, now)
        if won is None:
            fresh = await _reload(session, alert.id)
            return Outcome(False, "The alert is not snoozed any more.", fresh, code="not_snoozed")
        return Outcome(True, "Unsnoozed: the alert is open again.", won)

    async def _close(
        self, session: AsyncSession, verb: Verb, alert: Alert, actor: Actor, now: datetime
    ) -> Outcome:
        won = await alerts_repo.transition(
            session,
            alert.id,
            allowed_from=OPEN,
            values={
                "state": AlertState.RESOLVED.value,
                "open_key": None,
                "resolved_by": actor.name,
                "resolved_at": now,
                **snoozes.SNOOZE_CLEARED,  # its silence, if any, is expired after commit
            },
        )
        if not won:
            fresh = await _reload(session, alert.id)
            return Outcome(
                False,
                f"Already resolved by {fresh.resolved_by or 'someone'}.",
                fresh,
                code="already_resolved",
            )
        word = "Discarded" if verb is Verb.DISCARD else "Resolved"
        return Outcome(True, f"{word}.", won)

    async def _escalate(self, session: AsyncSession, alert: Alert, now: datetime) -> Outcome:
        paged = await engine.escalate_now(session, alert, now, self._cache)
        if paged is not None:  # the alert runs a policy: its next step, not the next level
            done, words = paged
            code = "applied" if done else "last_step"
            fresh = await _reload(session, alert.id)
            return Outcome(done, words, fresh, code=code, data={"policy": done})
        if alert.escalation_level >= MAX_LEVEL:
            return Outcome(
                False,
                f"Already at the last escalation level ({MAX_LEVEL}).",
                alert,
                code="max_level",
            )
        level = alert.escalation_level + 1
        if not await alerts_repo.escalate(session, alert, level):
            fresh = await _reload(session, alert.id)
            return Outcome(
                False,
                f"Already escalated to level {fresh.escalation_level}.",
                fresh,
                code="already_escalated",
            )
        fresh = await _reload(session, alert.id)
        config = await load_routing(session, alert.tenant)
        reached = await queue_posts(session, fresh, now, config)
        note = f"Escalated to level {level}" + (
            "." if reached else "; no route has that level yet."
        )
        return Outcome(True, note, fresh, data={"level": level, "destinations": reached})

    async def _retry(
        self, session: AsyncSession, alert: Alert, actor: Actor, now: datetime
    ) -> Outcome:
        """Queue again every delivery this failed-job alert stands for, then close it."""
        job = alert.metadata.get("job")
        if isinstance(job, str) and job in self.jobs:
            return Outcome(
                True,
                f"Started the {job} again; this card changes when it finishes.",
                alert,
                code="job_restarted",
                data={"job": job},
            )
        channel_id = alert.metadata.get("failed_channel_id")
        delivery_id = alert.metadata.get("delivery_id")
        if not (channel_id or delivery_id):
            return Outcome(False, "There is no job to retry for this alert.", alert, code="no_job")
        # Repeats of a dead-letter alert fold into it: retry every dead delivery of its channel.
        count = await outbox.retry_dead(
            session,
            channel_id=str(channel_id) if channel_id else None,
            delivery_id=str(delivery_id) if delivery_id else None,
            now=now,
            note=f"retried by {actor.name}",
        )
        if not count:
            return Outcome(
                False, "Nothing is dead-lettered there any more.", alert, code="nothing_to_retry"
            )
        closed = await self._close(session, Verb.RESOLVE, alert, actor, now)
        return Outcome(
            True,
            f"Retry queued for {count} deliver{'y' if count == 1 else 'ies'}.",
            closed.alert or alert,
            data={"retried": count},
        )

    @staticmethod
    async def _record_on_deliveries(
        session: AsyncSession, alert: Alert, verb: Verb, actor: Actor
    ) -> None:
        """The delivery audit columns: every delivery of the alert records the action."""
        data = {"actor": actor.name, "platform": actor.platform}
        await alerts_repo.record_action(session, alert, verb.value, data)


async def _reload(session: AsyncSession, alert_id: str) -> Alert:
    session.expire_all()
    alert = await alerts_repo.get(session, alert_id)
    assert alert is not None
    return alert
