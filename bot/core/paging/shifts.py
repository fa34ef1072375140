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

from adapters.base import Adapter, AdapterError
from adapters.factory import AdapterFactory
from bot.core import audit
from bot.core.slack_bot import slack_adapter
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
        # What to tell and through which adapters, read in a short transaction; the calls to
        # Slack and Teams are made after it, holding no connection.
        async with self._db.session() as session:
            row = await session.get(OnCallSchedule, schedule_id)
            if row is None:
                return False
            now_on = on_call(await load_schedule(session, row, now), now)
            if now_on.person == row.last_on_call:
                return False
            slack_user = None
            if now_on.person:
                slack_user = await session.scalar(
                    select(Person.slack_user_id).where(
                        Person.tenant_id == row.tenant_id, Person.name == now_on.person
                    )
                )
            group = row.slack_usergroup
            group_adapter = await self._slack_of(session, row.tenant_id) if group else None
            channel_adapter = (
                await self._channel_of(session, row.tenant_id, row.announce_channel)
                if row.announce_channel
                else None
            )
            name, tenant, text = row.name, row.tenant_id, announcement(row, now_on)
        problem = None
        if group:  # first: it is idempotent, so a retry after a failed announcement is harmless
            problem = await self._usergroup(name, group, group_adapter, now_on.person, slack_user)
        if problem is None and row.announce_channel:
            problem = await self._announce(name, row.announce_channel, channel_adapter, text)
        if problem:
            log.warning(
                "shift hand-off not told yet; trying again",
                extra={"schedule": name, "problem": problem},
            )
            return False
        async with self._db.session() as session, session.begin():
            fresh = await session.get(OnCallSchedule, schedule_id, with_for_update=True)
            if fresh is None or fresh.last_on_call == now_on.person:
                return False  # another process told it meanwhile
            data = {"schedule": name, "from": fresh.last_on_call, "to": now_on.person}
            fresh.last_on_call = now_on.person
            audit.record(session, tenant, BY, "schedule.handoff", data)
        log.info("shift hand-off told", extra={"schedule": name, "on_call": now_on.person})
        return True

    async def _slack_of(self, session: AsyncSession, tenant: str) -> Adapter | str:
        try:
            found = await slack_adapter(session, self._keyring, self._factory, tenant)
        except (AdapterError, SecretKeyError) as exc:
            return str(exc)
        return found or "this tenant has no Slack bot"

    async def _channel_of(
        self, session: AsyncSession, tenant: str, channel_name: str | None
    ) -> Adapter | str:
        channel_id = await session.scalar(
            select(Channel.id).where(
                Channel.tenant_id == tenant,
                Channel.name == channel_name,
                Channel.person_id.is_(None),
            )
        )
        loaded = await config_repo.channel(session, channel_id) if channel_id else None
        if loaded is None or not loaded[0].is_active:
            return f"no active channel {channel_name!r} to announce in"
        info, token = loaded
        try:
            values = self._keyring.with_secrets(info.settings, token)
            if info.target:
                values["url"] = info.target
            return await self._factory.get(info.tenant, info.id, info.type, values)
        except (AdapterError, SecretKeyError) as exc:
            return str(exc)

    @staticmethod
    async def _usergroup(
        name: str,
        group: str,
        adapter: Adapter | str | None,
        person: str | None,
        slack_user: str | None,
    ) -> str | None:
        if person is None:
            log.info("nobody on call: the user group keeps its members", extra={"schedule": name})
            return None  # Slack cannot empty a group; nothing to retry
        if not slack_user:
            log.warning(
                "the on-call has no Slack user id: the user group is not changed",
                extra={"schedule": name, "person": person},
            )
            return None  # retrying would not help; the announcement still goes
        if adapter is None or isinstance(adapter, str):
            return f"{name}: {adapter} to keep {group}"
        try:
            await adapter.set_usergroup(group, [slack_user])
        except AdapterError as exc:
            return f"{name}: {exc}"
        return None

    @staticmethod
    async def _announce(
        name: str, channel: str, adapter: Adapter | str | None, text: str
    ) -> str | None:
        if adapter is None or isinstance(adapter, str):
            return f"{name}: {adapter}"
        try:
            await adapter.announce(text)
        except AdapterError as exc:
            return f"{name}: {exc}"
        return None
