"""Acting on alerts: acknowledge, escalate, resolve, retry, discard; first wins, all audited."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts.ingest import IngestService, load_routing, queue_posts, queue_updates
from bot.core.group import GroupCommit
from bot.model import Alert, AlertState, Verb
from storage import events as events_repo
from storage import outbox
from storage.db import Database
from storage.notify import notify_outbox
from storage.schema import ActionAudit, utcnow

log = logging.getLogger("chatops.actions")
OPEN = (AlertState.TRIGGERED, AlertState.ACKNOWLEDGED)
NOTES = {  # the thread reply each action leaves under the card
    Verb.ACKNOWLEDGE: "👀 Acknowledged by {name}",
    Verb.ESCALATE: "⏫ Escalated to level {level} by {name}",
    Verb.RESOLVE: "✅ Resolved by {name}",
    Verb.DISCARD: "🗑️ Discarded by {name}",
    Verb.RETRY: "🔄 Retried by {name}",
}
MAX_LEVEL = 5


@dataclass(frozen=True)
class Actor:
    """Who clicked or typed: their id and name, the platform, and the tenant they belong to."""

    id: str
    name: str
    platform: str
    tenant: str | None = None  # None: the REST API's token may act in any tenant


@dataclass(frozen=True)
class Outcome:
    """What an action did, in words for the person who asked."""

    applied: bool
    message: str
    alert: Alert | None = None
    code: str = "applied"
    data: dict[str, Any] = field(default_factory=dict)


JobRetry = Callable[[Alert, "Actor"], Awaitable[object]]


class ActionService:
    """Applies verbs to alerts with conditional updates, so two clicks give one winner.

    Retry on a failed-job alert whose `metadata.job` names a registered job (a sync) starts
    that job again in the background; the alert closes when the job succeeds.
    """

    def __init__(self, db: Database, ingest: IngestService) -> None:
        self._db, self._ingest = db, ingest
        self._writes = GroupCommit(db)
        self.jobs: dict[str, JobRetry] = {}
        self._running: set[asyncio.Task[object]] = set()

    async def apply(self, verb: Verb, alert_id: str, actor: Actor) -> Outcome:
        """Apply `verb` to the alert, write the audit record, and queue every card's update.

        Clicks arriving together share one transaction (group commit); they are applied one
        after another inside it, so the first click still wins.
        """
        outcome = await self._writes.run(partial(self._apply, verb, alert_id, actor))
        if outcome.applied:
            self._ingest.wake_workers()
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
        self, verb: Verb, alert_id: str, actor: Actor, session: AsyncSession
    ) -> Outcome:
        """The database work of one action, in a transaction it may share."""
        alert = await events_repo.get(session, alert_id)
        if alert is None or (actor.tenant is not None and alert.tenant != actor.tenant):
            return Outcome(False, f"No alert {alert_id!r} here.", code="not_found")
        outcome = await self._transition(session, verb, alert, actor, utcnow())
        session.add(
            ActionAudit(
                tenant_id=alert.tenant,
                event_id=alert.id,
                verb=verb.value,
                actor=f"{actor.platform}:{actor.id}"[:255],
                platform=actor.platform,
                outcome=outcome.code,
                from_state=alert.state.value,
                to_state=outcome.alert.state.value if outcome.alert else alert.state.value,
                data={"name": actor.name, **outcome.data},
            )
        )
        if outcome.applied and outcome.alert is not None:
            cards = await events_repo.cards(session, alert.id)
            if cards.posts:
                await self._record_on_deliveries(session, outcome.alert, verb, actor)
            note = NOTES[verb].format(name=actor.name, level=outcome.alert.escalation_level)
            await queue_updates(session, outcome.alert, utcnow(), note, cards)
            await notify_outbox(session)
        return outcome

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
        async with self._db.session() as session:
            ids = await events_repo.alerts_in_digest(session, digest_id)
        applied = 0
        for alert_id in ids:
            outcome = await self.apply(Verb.ACKNOWLEDGE, alert_id, actor)
            applied += int(outcome.applied)
        if not ids:
            return Outcome(False, "That digest has no alerts.", code="not_found")
        return Outcome(
            applied > 0,
            f"Acknowledged {applied} of {len(ids)} alerts.",
            code="applied" if applied else "already_acknowledged",
        )

    async def _transition(
        self, session: AsyncSession, verb: Verb, alert: Alert, actor: Actor, now: datetime
    ) -> Outcome:
        if alert.state is AlertState.RESOLVED:
            who = alert.resolved_by or "someone"
            return Outcome(False, f"Already resolved by {who}.", alert, code="already_resolved")
        if verb is Verb.ACKNOWLEDGE:
            won = await events_repo.transition(
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
        return await self._retry(session, alert, actor, now)

    async def _close(
        self, session: AsyncSession, verb: Verb, alert: Alert, actor: Actor, now: datetime
    ) -> Outcome:
        won = await events_repo.transition(
            session,
            alert.id,
            allowed_from=OPEN,
            values={
                "state": AlertState.RESOLVED.value,
                "open_key": None,
                "resolved_by": actor.name,
                "resolved_at": now,
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
        if alert.escalation_level >= MAX_LEVEL:
            return Outcome(
                False,
                f"Already at the last escalation level ({MAX_LEVEL}).",
                alert,
                code="max_level",
            )
        level = alert.escalation_level + 1
        if not await events_repo.escalate(session, alert, level):
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
        await events_repo.record_action(session, alert, verb.value, data)


async def _reload(session: AsyncSession, alert_id: str) -> Alert:
    session.expire_all()
    alert = await events_repo.get(session, alert_id)
    assert alert is not None
    return alert
