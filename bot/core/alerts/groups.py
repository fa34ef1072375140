"""Groups' periodic part (`domain.grouping`): a reply under a group's card when changes wait
past `group_interval`, and again after `repeat_interval` while members still fire. A member
acknowledged, snoozed or matched by a silence now does not count as firing, so a silence made
from the card stops the repeats, and its end brings them back."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.alerts import muting
from storage import groups as groups_repo
from storage.db import Database

log = logging.getLogger(__name__)
MAX_RECHECK = 300.0  # a silenced or acknowledged group is looked at again this soon at most


async def tend(db: Database, now: datetime) -> int:
    """Queue the group cards whose reply is due; how many."""
    told = 0
    silences: dict[str, list[muting.Muting]] = {}
    async with db.session() as session, session.begin():
        for group in await groups_repo.due(session, now):
            assert group.notified_at is not None
            since = now - group.notified_at
            if group.changes:
                if since >= timedelta(seconds=group.interval_seconds):
                    await groups_repo.refresh(session, group.card_id, now)
                    told += 1
                # looked at again once the card has gone out, or an interval from now
                group.check_at = now + timedelta(seconds=group.interval_seconds)
                continue
            if since < timedelta(seconds=group.repeat_seconds):
                group.check_at = group.notified_at + timedelta(seconds=group.repeat_seconds)
                continue
            if group.tenant_id not in silences:
                silences[group.tenant_id] = await muting.load(session, group.tenant_id, now)
            firing = [
                a
                for a in await groups_repo.firing_members(session, group.card_id, now)
                if muting.muting(silences[group.tenant_id], a, now) is None
            ]
            if firing:
                group.changes = [f"🔁 Still firing: {_alerts(len(firing))}"]
                await groups_repo.refresh(session, group.card_id, now)
                told += 1
            # none firing unsilenced: looked at again after another repeat interval
            group.check_at = now + timedelta(seconds=min(group.repeat_seconds, MAX_RECHECK))
    if told:
        log.info("group cards due for a reply", extra={"count": told})
    return told


def _alerts(n: int) -> str:
    return "1 alert" if n == 1 else f"{n} alerts"
