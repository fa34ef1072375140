"""Fan-out: which channels hear of an alert (its routes), and updating every card of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import defaults, inhibition, muting, routing
from domain import Alert, DeliveryKind, DeliveryStatus, RouteRule
from storage import config as config_repo
from storage import outbox
from storage.schema import utcnow


@dataclass(frozen=True)
class ChannelRef:
    """What routing needs of a channel."""

    id: str
    type: str
    integration_id: str | None
    target: str


@dataclass(frozen=True)
class RoutingConfig:
    """A tenant's routes, the channels they name, preferences and system defaults."""

    rules: list[RouteRule]
    channels: dict[str, ChannelRef]
    preferences: dict[str, bool] | None
    defaults: dict[str, dict[str, Any]]
    admin_channel: str | None = None
    policies: dict[str, dict[str, Any]] | None = None  # escalation policies by name
    silences: list[muting.Muting] | None = None  # those not ended when this was read
    inhibit_rules: list[inhibition.Rule] | None = None
    intervals: routing.Intervals | None = None  # the named time intervals routes use


async def load_routing(session: AsyncSession, tenant: str) -> RoutingConfig:
    """Read a tenant's routing configuration."""
    rules = await config_repo.rules(session, tenant)
    admin_channel = await config_repo.admin_channel(session, tenant)
    wanted = {r.channel_id for r in rules} | ({admin_channel} if admin_channel else set())
    rows = await config_repo.channel_types(session, sorted(wanted))
    return RoutingConfig(
        rules=rules,
        channels={
            c.id: ChannelRef(c.id, c.type, c.integration_id, c.target) for c in rows.values()
        },
        preferences=await config_repo.preferences(session, tenant),
        defaults=defaults.system_defaults(await config_repo.stored_defaults(session)),
        admin_channel=admin_channel if admin_channel in rows else None,
        policies=await config_repo.policies(session, tenant)
        if any(r.escalation_policy for r in rules)
        else None,
        silences=await muting.load(session, tenant, utcnow()),
        inhibit_rules=await inhibition.load(session, tenant),
        intervals=await config_repo.intervals(session, tenant)
        if any(r.mute_time_intervals or r.active_time_intervals for r in rules)
        else None,
    )


def policy_for(config: RoutingConfig, alert: Alert) -> tuple[str, dict[str, Any]] | None:
    """The escalation policy a new alert starts: the first matching route's that names one
    (and that exists), with its document."""
    for rule in routing.matching(config.rules, alert):
        if rule.escalation_policy and config.policies and rule.escalation_policy in config.policies:
            return rule.escalation_policy, config.policies[rule.escalation_policy]
    return None


async def queue_posts(
    session: AsyncSession,
    alert: Alert,
    now: datetime,
    config: RoutingConfig,
    due: datetime | None = None,
) -> int:
    """One outbox row per matching route not quiet at `now`, with retry budgets from defaults
    and overrides; the rows are due at `due` (default `now`)."""
    matched = [
        r
        for r in routing.matching(config.rules, alert)
        if not routing.quiet(r, config.intervals, now)
    ]
    rules = routing.with_admin_channel(matched, alert, config.admin_channel)
    skip_channel = alert.metadata.get("failed_channel_id")
    rules = [r for r in rules if r.channel_id != skip_channel and r.channel_id in config.channels]
    system = config.defaults
    queued = 0
    for rule in rules:
        channel = config.channels[rule.channel_id]
        kind = defaults.integration_type(channel.type)
        effective = system
        if rule.user_id:
            user = await config_repo.overrides(session, alert.tenant, rule.user_id)
            effective = defaults.effective(system, user)
        settings = effective.get(kind) or system.get(kind) or {}
        enabled = bool(settings.get("enabled", True)) if rule.user_id else True
        outbox.queue(
            session,
            alert,
            channel,
            DeliveryKind.POST,
            due or now,
            max_attempts=1 + int(settings.get("retry_count", 3)),
            retry_delay_seconds=float(settings.get("retry_delay_seconds", 30)),
            retry_for=float(settings.get("retry_for_seconds", defaults.RETRY_FOR_SECONDS)),
            status=DeliveryStatus.PENDING if enabled else DeliveryStatus.SKIPPED,
            user_id=rule.user_id,
            error_message=None if enabled else f"{kind} turned off by {rule.user_id}",
            action_data={"group": group} if (group := _group_of(rule, alert)) else None,
        )
        queued += int(enabled)
    return queued


def _group_of(rule: RouteRule, alert: Alert) -> dict[str, Any] | None:
    """Where the alert's card belongs when the route groups (`domain.grouping`), as the worker
    reads it from the card's row: the route, the group's key and labels, the intervals."""
    grouping = rule.grouping
    if grouping is None:
        return None
    key, labels = grouping.key_of(alert.labels)
    return {
        "route": rule.id,
        "key": key,
        "labels": labels,
        "wait": grouping.wait.total_seconds(),
        "interval": grouping.interval.total_seconds(),
        "repeat": grouping.repeat.total_seconds(),
    }
