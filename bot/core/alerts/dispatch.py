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
    await inhibition.mark_source(session, config.inhibit_rules, alert)
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
    reason = _quiet(config, alert, now)
    if reason is not None:
        await muting.mute_for(session, alert, f"interval:{reason}")
        return 0
    queued = await queue_posts(session, alert, now, config, due=min(now, utcnow()))
    policy = policy_for(config, alert)
    if policy is not None:
        queued += await engine.start(session, alert, *policy, now, cache=cache)
    return queued


async def release_ended(db: Database, cache: ConfigCache, now: datetime) -> int:
    """Alerts muted by their routes' quiet time that is over, by inhibition rules whose
    sources no longer fire, or by silences that ended, and that still fire: routed now (or
    muted again for another reason). How many were routed."""
    routed = 0
    configs: dict[str, RoutingConfig] = {}  # each tenant's routing, read once per tick

    async def config_of(session: AsyncSession, tenant: str) -> RoutingConfig:
        if tenant not in configs:
            configs[tenant] = await load_routing(session, tenant)
        return configs[tenant]

    async def release(session: AsyncSession, alert: Alert, why: str, by: str) -> None:
        nonlocal routed
        await _unmute(session, alert, why, by)
        config = await config_of(session, alert.tenant)
        routed += int(await route_new(session, alert, now, config, cache) > 0)

    async with db.session() as session, session.begin():
        for alert in await muting.muted_open(session, "interval:"):
            if not _quiet(await config_of(session, alert.tenant), alert, now):
                await release(
                    session, alert, "ChatOps (its routes' quiet time is over)", "interval"
                )
        for alert in await muting.muted_open(session, inhibition.PREFIX):
            config = await config_of(session, alert.tenant)
            if not await inhibition.inhibited(session, config.inhibit_rules, alert):
                rule = (alert.muted_by or "").removeprefix(inhibition.PREFIX)
                await release(session, alert, "ChatOps (its inhibiting alert resolved)", rule)
        for silence in await muting.ended_unreleased(session, now):
            for alert in await muting.muted_open(session, f"{muting.PREFIX}{silence.id}"):
                await release(session, alert, "ChatOps (the silence ended)", silence.id)
            silence.released_at = now
        if routed:
            await notify_outbox(session)
    if routed:
        log.info("muted alerts released and routed", extra={"count": routed})
    return routed


def _quiet(config: RoutingConfig, alert: Alert, now: datetime) -> str | None:
    """Why the alert is quiet now: every route it matches is inside a mute interval or
    outside its active ones (the first one's reason); None when some route may send."""
    matched = routing.matching(config.rules, alert)
    reasons = [routing.quiet(r, config.intervals, now) for r in matched]
    return reasons[0] if matched and all(reasons) else None


async def _unmute(session: AsyncSession, alert: Alert, why: str, by: str) -> None:
    await muting.unmute(session, alert)
    data = {"why": why, "muted_by": alert.muted_by}
    session.add(muting.muted_row(alert, "unmuted", alert.muted_by or by, data))
