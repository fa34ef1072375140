"""The escalation tick: each due escalation fires its next step, reminds whoever acknowledged
and has not resolved, or gives an alert acknowledged too long back to triggered."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.config_cache import ConfigCache
from bot.core.delivery.updates import queue_updates
from bot.core.paging.engine import (
    ACKNOWLEDGED,
    DONE,
    RUNNING,
    due_at,
    fire,
    person_named,
    spoken_ago,
    to_person,
)
from bot.core.paging.reach import Means, direct_channels
from domain import Alert, AlertState
from domain.escalation import Policy, policy_from
from storage import alerts as alerts_repo
from storage.db import Database
from storage.notify import notify_outbox
from storage.schema import (
    Escalation,
    utcnow,
)

log = logging.getLogger(__name__)
TICK_BATCH = 500  # escalations one tick takes at most; the rest wait for the next


REMINDER = "⏰ Reminder: acknowledged by {name} {ago} ago and still not resolved"


UNACKNOWLEDGED = "↩️ Acknowledged {ago} ago and not resolved: back to triggered"


class Escalations:
    """The scheduler's side: every due escalation moved on, each in its own transaction."""

    def __init__(self, db: Database, cache: ConfigCache, wake: Any) -> None:
        self._db, self._cache, self._wake = db, cache, wake

    async def tick(self, now: datetime) -> int:
        """Advance every escalation due by `now`; how many did something."""
        async with self._db.session() as session:
            due = list(
                (
                    await session.scalars(
                        select(Escalation.id)
                        .where(Escalation.due_at <= now)
                        .order_by(Escalation.due_at)
                        .limit(TICK_BATCH)
                    )
                ).all()
            )
        moved = 0
        means: dict[str, Means] = {}
        for escalation_id in due:
            try:
                async with self._db.session() as session, session.begin():
                    moved += int(await self._advance(session, escalation_id, now, means))
            except Exception:
                log.exception("escalation step failed", extra={"escalation": escalation_id})
        if moved:
            self._wake()
            log.info("escalations moved on", extra={"count": moved})
        return moved

    async def _advance(
        self, session: AsyncSession, escalation_id: str, now: datetime, means: dict[str, Means]
    ) -> bool:
        row = await session.scalar(
            select(Escalation)
            .where(Escalation.id == escalation_id, Escalation.due_at <= now)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return False  # another process took it, or it moved since it was read
        alert = await alerts_repo.get(session, row.event_id)
        if alert is None or alert.state is AlertState.RESOLVED:
            row.status, row.due_at = DONE, None
            return False
        if alert.state is AlertState.ACKNOWLEDGED:
            return await self._acknowledged(session, row, alert, now)
        if row.status == ACKNOWLEDGED:  # acknowledged, then back to triggered
            row.status = RUNNING
            row.next_at = now
        if alert.snoozed:
            row.due_at = alert.snoozed_until  # a snooze pauses the policy
            return False
        if row.status != RUNNING or row.next_at is None or row.next_at > now:
            row.due_at = due_at(row) if row.status == RUNNING else None
            return False
        await fire(session, row, alert, now, by="policy", cache=self._cache, means=means)
        await notify_outbox(session)
        return True

    async def _acknowledged(
        self, session: AsyncSession, row: Escalation, alert: Alert, now: datetime
    ) -> bool:
        """Remind the acknowledger, or end an acknowledgement that lasted too long."""
        policy = policy_from(row.policy, row.policy_name)
        since = now - (alert.acknowledged_at or now)
        if row.unack_at is not None and row.unack_at <= now:
            return await self._unacknowledge(session, row, alert, policy, now, since)
        acted = False
        if row.remind_at is not None and row.remind_at <= now and row.acknowledger:
            person = await person_named(session, alert.tenant, row.acknowledger)
            note = REMINDER.format(
                name=alert.acknowledged_by or row.acknowledger, ago=spoken_ago(since)
            )
            if person is not None:
                reached = await direct_channels(session, person)
                await to_person(session, alert, reached.channels, note, now)
                await notify_outbox(session)
                acted = True
            assert policy.remind_after is not None
            row.remind_at = now + policy.remind_after
        if row.status != ACKNOWLEDGED:
            row.status = ACKNOWLEDGED
        row.due_at = due_at(row)
        return acted

    async def _unacknowledge(
        self,
        session: AsyncSession,
        row: Escalation,
        alert: Alert,
        policy: Policy,
        now: datetime,
        since: timedelta,
    ) -> bool:
        back = await alerts_repo.transition(
            session,
            alert.id,
            allowed_from=(AlertState.ACKNOWLEDGED,),
            values={
                "state": AlertState.TRIGGERED.value,
                "acknowledged_by": None,
                "acknowledged_at": None,
            },
        )
        if back is None:
            return False
        note = UNACKNOWLEDGED.format(ago=spoken_ago(since))
        session.add(
            alerts_repo.audit_row(
                alert.tenant,
                "unacknowledge",
                "escalation:unacknowledge_after",
                "scheduler",
                {"name": "ChatOps (acknowledgement timed out)", "policy": row.policy_name},
                alert=alert,
                from_state=AlertState.ACKNOWLEDGED.value,
                to_state=AlertState.TRIGGERED.value,
            )
        )
        await queue_updates(session, back, min(now, utcnow()), note)
        # The policy goes on from the step it had reached, the last one paged again first.
        last = row.fired[-1] if row.fired else {"step": 0, "round": row.round}
        row.status, row.step, row.round = RUNNING, int(last["step"]), int(last["round"])
        row.remind_at = row.unack_at = None
        row.acknowledger = None
        await fire(session, row, back, now, by="unacknowledge_after", cache=self._cache)
        await notify_outbox(session)
        return True
