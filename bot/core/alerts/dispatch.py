"""Where a new alert goes: the tenant admins' preferences, then silences, then its routes'
channels and the escalation policy of the first route that names one. Used when an alert
arrives and when the silence that muted it ends."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import inhibition, muting, preferences, routing
from bot.core.alerts.fanout import RoutingConfig, load_routing, policy_for, queue_posts
from bot.core.config_cache import ConfigCache
from bot.core.paging import engine
from domain import Alert
from storage.db import Database
from storage.notify import notify_outbox
from storage.schema import utcnow

log = logging.getLogger(__name__)


async def route_new(
    session: AsyncSession,
    alert: Alert,
    now: datetime,
    config: RoutingConfig,
    cache: ConfigCache | None = None,
) -> int:
    """Queue the new alert's cards and start its policy; how many deliveries were queued."""
    if not preferences.allows(config.preferences, alert.event_type):
        log.info("suppressed by tenant-admin preferences", extra={"alert_id": alert.id})
        return 0
    silence = muting.muting(config.silences, alert, now)
    if silence is not None:
        await muting.mute(session, alert, silence)
        return 0
    source = await inhibition.inhibited(session, config.inhibit_rules, alert)
    if source is not None:
        await inhibition.mute(session, alert, *source)
        return 0
    matched = routing.matching(config.rules, alert)
    reasons = [routing.quiet(r, config.intervals, now) for r in matched]
    if matched and all(reasons):
        await muting.mute_for(session, alert, f"interval:{reasons[0]}")
        return 0
    queued = await queue_posts(session, alert, now, config, due=min(now, utcnow()))
    policy = policy_for(config, alert)
    if policy is not None:
        queued += await engine.start(session, alert, *policy, now, cache=cache)
    return queued


async def release_ended(db: Database, cache: ConfigCache, now: datetime) -> int:
    """Alerts muted by silences that have ended, or by inhibition rules whose sources no
    longer fire, and that still fire: routed now (or muted again by another silence or
    source). How many were routed."""
    routed = 0
    async with db.session() as session, session.begin():
        for alert in await muting.muted_by_interval(session):
            config = await load_routing(session, alert.tenant)
            matched = routing.matching(config.rules, alert)
            if matched and all(routing.quiet(r, config.intervals, now) for r in matched):
                continue
            await _unmute(session, alert, "ChatOps (its routes' quiet time is over)", "interval")
            routed += int(await route_new(session, alert, now, config, cache) > 0)
        for alert in await inhibition.still_inhibited(session):
            config = await load_routing(session, alert.tenant)
            if await inhibition.inhibited(session, config.inhibit_rules, alert):
                continue
            rule = (alert.muted_by or "").removeprefix(inhibition.PREFIX)
            await _unmute(session, alert, "ChatOps (its inhibiting alert resolved)", rule)
            routed += int(await route_new(session, alert, now, config, cache) > 0)
        for silence in await muting.ended_unreleased(session, now):
            for alert in await muting.still_muted(session, silence.id):
                config = await load_routing(session, alert.tenant)
                await _unmute(session, alert, "ChatOps (the silence ended)", silence.id)
                queued = await route_new(session, alert, now, config, cache)
                routed += int(queued > 0)
            silence.released_at = now
        if routed:
            await notify_outbox(session)
    if routed:
        log.info("silences ended: their alerts routed", extra={"count": routed})
    return routed


async def _unmute(session: AsyncSession, alert: Alert, why: str, by: str) -> None:
    await muting.unmute(session, alert)
    data = {"why": why, "muted_by": alert.muted_by}
    session.add(muting.muted_row(alert, "unmuted", alert.muted_by or by, data))
