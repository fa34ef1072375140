"""Ingest: store an event, route it, and write its outbox rows in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import defaults, preferences, routing
from bot.core.alerts.normalize import dedup_key_for
from bot.core.config_cache import BoundedSet, ConfigCache
from bot.infra.logs import correlation_id
from bot.model import Alert, DeliveryKind, DeliveryStatus, EventIn, RouteRule
from storage import config as config_repo
from storage import events as events_repo
from storage import outbox
from storage.db import Database
from storage.notify import notify_outbox
from storage.schema import utcnow

log = logging.getLogger("chatops.ingest")


@dataclass(frozen=True)
class IngestResult:
    """What the events API answers: the alert's id and state, and whether it was a repeat."""

    id: str | None
    dedup_key: str
    state: str
    deduplicated: bool
    deliveries: int


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
    )


class IngestService:
    """Turns events into stored alerts and outbox rows; `wake` tells the workers."""

    def __init__(
        self,
        db: Database,
        wake: Callable[[], None] = lambda: None,
        cache: ConfigCache | None = None,
    ) -> None:
        self._db = db
        self._wake = wake
        self.cache = cache or ConfigCache()
        self._tenants: BoundedSet[str] = BoundedSet()

    def _remember_tenant_on_commit(self, session: AsyncSession, tenant: str) -> None:
        """Skip the tenant check next time, but only once the row is really committed.

        A request that fails after creating the tenant rolls it back; remembering it earlier
        would make every later event of that tenant fail on its foreign key.
        """
        sqlalchemy.event.listen(
            session.sync_session, "after_commit", lambda _s: self._tenants.add(tenant), once=True
        )

    def wake_workers(self) -> None:
        """Tell the delivery workers that new outbox rows are committed."""
        self._wake()

    async def submit(self, event: EventIn) -> IngestResult:
        """Store, dedup, route and queue one event, atomically."""
        async with self._db.session() as session, session.begin():
            result = await self.submit_in(session, event)
        if result.deliveries:
            self._wake()
        return result

    async def submit_in(self, session: AsyncSession, event: EventIn) -> IngestResult:
        """`submit` inside a transaction the caller owns."""
        now = utcnow()
        key = dedup_key_for(event)
        correlation_id.set(event.correlation_id)
        if event.tenant not in self._tenants:
            await events_repo.ensure_tenant(session, event.tenant)
            self._remember_tenant_on_commit(session, event.tenant)
        stored = await events_repo.store(session, event, key, now)
        if stored is None:
            log.info("resolve for no open alert ignored", extra={"dedup_key": key})
            return IngestResult(None, key, "resolved", False, 0)
        alert = stored.alert
        if event.cleaned:
            log.warning("event cleaned", extra={"alert_id": alert.id, "cleaned": event.cleaned})
            session.add(events_repo.cleaned_audit(alert, event))
        if stored.deduplicated:
            note = (
                f"✅ Resolved by {alert.resolved_by}"
                if stored.resolved_now
                else f"🔁 Fired again ({alert.occurrences} times in all)"
            )
            queued = await queue_updates(session, alert, now, note)
        else:
            queued = await self._route(session, alert, now)
        if queued:
            await notify_outbox(session)
        log.info(
            "event stored",
            extra={
                "alert_id": alert.id,
                "dedup_key": key,
                "deduplicated": stored.deduplicated,
                "deliveries": queued,
            },
        )
        return IngestResult(alert.id, key, alert.state.value, stored.deduplicated, queued)

    async def _route(self, session: AsyncSession, alert: Alert, now: datetime) -> int:
        config = await self.cache.get(
            ("routing", alert.tenant), lambda: load_routing(session, alert.tenant)
        )
        if not preferences.allows(config.preferences, alert.event_type):
            log.info("suppressed by tenant-admin preferences", extra={"alert_id": alert.id})
            return 0
        return await queue_posts(session, alert, now, config)


async def queue_posts(
    session: AsyncSession, alert: Alert, now: datetime, config: RoutingConfig
) -> int:
    """One outbox row per matching route, with retry budgets from defaults and overrides."""
    rules = routing.with_admin_channel(
        routing.matching(config.rules, alert), alert, config.admin_channel
    )
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
            now,
            max_attempts=1 + int(settings.get("retry_count", 3)),
            retry_delay_seconds=float(settings.get("retry_delay_seconds", 30)),
            status=DeliveryStatus.PENDING if enabled else DeliveryStatus.SKIPPED,
            user_id=rule.user_id,
            error_message=None if enabled else f"{kind} turned off by {rule.user_id}",
        )
        queued += int(enabled)
    return queued


async def queue_updates(
    session: AsyncSession, alert: Alert, now: datetime, note: str | None = None
) -> int:
    """Update every card that shows the alert, once per channel however many changes wait.

    `note` says what changed; chat platforms that thread show it as a reply under the card.
    """
    channels = await events_repo.channels_showing(session, alert.id)
    waiting = await events_repo.pending_updates(session, alert.id)
    for row in waiting.values():
        if note:
            row.action_data = {"notes": [*(row.action_data or {}).get("notes", []), note][-10:]}
    rows = await config_repo.channel_types(session, [c for c in channels if c not in waiting])
    for channel in rows.values():
        outbox.queue(
            session,
            alert,
            channel,
            DeliveryKind.UPDATE,
            now,
            max_attempts=4,
            retry_delay_seconds=10.0,
            action_data={"notes": [note]} if note else None,
        )
    return len(rows)
