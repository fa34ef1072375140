"""Shift hand-offs: a schedule may announce each new on-call in a channel ("ana is on call
for db until Mon 09:00") and keep a Slack user group (`@oncall-db`) equal to the on-call.

A hand-off is told once: the schedule remembers the last on-call it told of, and only when
every part (the group, the announcement) worked; a failure is logged and tried again at the
next tick, so nothing is lost while Slack or Teams is away.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import AdapterError
from adapters.factory import AdapterFactory
from bot.core import audit
from bot.core.paging.slack_bot import slack_adapter
from bot.infra.secrets import Keyring, SecretKeyError
from domain import By
from domain.schedules import OnCall, on_call
from storage import config as config_repo
from storage.db import Database
from storage.oncall import load_schedule
from storage.schema import Channel, OnCallSchedule, Person

log = logging.getLogger(__name__)
BY = By("scheduler:shifts", "scheduler")


def announcement(schedule: OnCallSchedule, now_on: OnCall) -> str:
    """`ana is on call for db until Mon 09:00 (Europe/Berlin)`, in the schedule's zone."""
    until = now_on.until.astimezone(ZoneInfo(schedule.time_zone)).strftime("%a %d %b %H:%M")
    who = now_on.person or "Nobody"
    return f"📟 {who} is on call for {schedule.name} until {until} ({schedule.time_zone})"


class Shifts:
    """The scheduler's side: every schedule that announces or keeps a user group, looked at."""

    def __init__(self, db: Database, keyring: Keyring, factory: AdapterFactory) -> None:
        self._db, self._keyring, self._factory = db, keyring, factory

    async def tend(self, now: datetime) -> int:
        """Tell every hand-off not told yet; how many were told."""
        async with self._db.session() as session:
            ids = list(
                (
                    await session.scalars(
                        select(OnCallSchedule.id).where(
                            or_(
                                OnCallSchedule.announce_channel.is_not(None),
                                OnCallSchedule.slack_usergroup.is_not(None),
                            )
                        )
                    )
                ).all()
            )
        told = 0
        for schedule_id in ids:
            try:
                told += int(await self._tend_one(schedule_id, now))
            except Exception:
                log.exception("shift hand-off not told", extra={"schedule": schedule_id})
        return told

    async def _tend_one(self, schedule_id: str, now: datetime) -> bool:
        async with self._db.session() as session:
            row = await session.get(OnCallSchedule, schedule_id)
            if row is None:
                return False
            now_on = on_call(await load_schedule(session, row, now), now)
            if now_on.person == row.last_on_call:
                return False
            person = None
            if now_on.person:
                person = await session.scalar(
                    select(Person).where(
                        Person.tenant_id == row.tenant_id, Person.name == now_on.person
                    )
                )
            problems = []
            if row.slack_usergroup:
                problem = await self._usergroup(session, row, person)
                if problem:
                    problems.append(problem)
            if row.announce_channel:
                problem = await self._announce(session, row, announcement(row, now_on))
                if problem:
                    problems.append(problem)
        if problems:
            log.warning(
                "shift hand-off not told yet; trying again",
                extra={"schedule": row.name, "problems": problems},
            )
            return False
        async with self._db.session() as session, session.begin():
            fresh = await session.get(OnCallSchedule, schedule_id, with_for_update=True)
            if fresh is None or fresh.last_on_call == now_on.person:
                return False  # another process told it meanwhile
            data = {"schedule": row.name, "from": fresh.last_on_call, "to": now_on.person}
            fresh.last_on_call = now_on.person
            audit.record(session, row.tenant_id, BY, "schedule.handoff", data)
        log.info("shift hand-off told", extra={"schedule": row.name, "on_call": now_on.person})
        return True

    async def _usergroup(
        self, session: AsyncSession, row: OnCallSchedule, person: Person | None
    ) -> str | None:
        if person is None or not person.slack_user_id:
            return f"{row.name}: the on-call has no Slack user id for {row.slack_usergroup}"
        try:
            adapter = await slack_adapter(session, self._keyring, self._factory, row.tenant_id)
            if adapter is None:
                return f"{row.name}: this tenant has no Slack bot to keep {row.slack_usergroup}"
            assert row.slack_usergroup is not None
            await adapter.set_usergroup(row.slack_usergroup, [person.slack_user_id])
        except (AdapterError, SecretKeyError) as exc:
            return f"{row.name}: {exc}"
        return None

    async def _announce(self, session: AsyncSession, row: OnCallSchedule, text: str) -> str | None:
        channel_id = await session.scalar(
            select(Channel.id).where(
                Channel.tenant_id == row.tenant_id,
                Channel.name == row.announce_channel,
                Channel.person_id.is_(None),
            )
        )
        loaded = await config_repo.channel(session, channel_id) if channel_id else None
        if loaded is None or not loaded[0].is_active:
            return f"{row.name}: no active channel {row.announce_channel!r} to announce in"
        info, token = loaded
        try:
            values = self._keyring.with_secrets(info.settings, token)
            if info.target:
                values["url"] = info.target
            adapter = await self._factory.get(info.tenant, info.id, info.type, values)
            await adapter.announce(text)
        except (AdapterError, SecretKeyError) as exc:
            return f"{row.name}: {exc}"
        return None
