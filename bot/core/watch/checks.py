"""Checks the scheduler runs over every integration: health, providers, credentials.

Each tells the tenant's admins what changed (preferences decide at routing) and never fails
because a notice could not be sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.base import AdapterError
from adapters.factory import AdapterFactory
from adapters.registry import TYPES
from bot.core.alerts.notices import Notifier
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring
from cards.templates import integration_notice
from storage import syncs
from storage.db import Database
from storage.schema import Integration, utcnow

log = logging.getLogger(__name__)


class IntegrationChecks:
    """Health checks, provider status and audience, and credential expiry."""

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        factory: AdapterFactory,
        notifier: Notifier,
        metrics: Metrics,
        *,
        timeout: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db, self._keyring, self._factory = db, keyring, factory
        self._notifier, self._metrics = notifier, metrics
        self._timeout, self.clock = timeout, clock

    async def check_health(self, integration_id: str) -> bool | None:
        """Run the provider's health check; a change of connection status tells the admins."""
        async with self._db.session() as session:
            row = await session.get(Integration, integration_id)
            if row is None or not row.is_active:
                return None
            values = self._keyring.with_secrets(row.config, row.credentials)
            tenant, name, type_id, old = row.tenant_id, row.name, row.type, row.connection_status
        try:
            adapter = await self._factory.get(tenant, integration_id, type_id, values)
            async with asyncio.timeout(self._timeout):
                health = await adapter.health_check()
        except (AdapterError, TimeoutError) as exc:
            health_ok, detail, expires = False, str(exc) or "timed out", None
        else:
            health_ok, detail, expires = health.ok, health.detail, health.expires_at
            if health.credentials_refused:
                await self._notifier.credentials_refused(tenant, integration_id, name, detail)
        new = "connected" if health_ok else "error"
        if old == "expired" and not health_ok:
            new = "expired"
        changes: dict[str, Any] = {
            "connection_status": new,
            "connection_error": None if health_ok else detail,
            "last_connection_test_at": self.clock(),
            "last_connection_test_result": "passed" if health_ok else "failed",
        }
        if expires is not None:
            changes["credentials_expire_at"] = expires
        async with self._db.session() as session, session.begin():
            await syncs.record_status(session, integration_id, **changes)
        self._metrics.health.labels(type_id, "ok" if health_ok else "failed").inc()
        if new != old and (old is not None or not health_ok):
            await self._notifier.status_changed(tenant, integration_id, name, old, new)
        return health_ok

    async def check_providers(self) -> int:
        """Integrations whose provider changed status or audience (a release deprecated it, an
        operator disabled it): record the change and tell the admins. Returns how many."""
        changes = []
        async with self._db.session() as session, session.begin():
            for row in await syncs.all_integrations(session):
                kind = TYPES.get(row.type)
                if kind is None:
                    continue
                if row.provider_status != kind.status:
                    changes.append((row, "status", row.provider_status, kind.status))
                    row.provider_status = kind.status
                if row.audience != kind.audience:
                    changes.append((row, "audience", row.audience, kind.audience))
                    row.audience = kind.audience
        for row, what, old, new in changes:
            notice = integration_notice(
                f"integration.provider.{what}.changed",
                row.id,
                row.name,
                provider=TYPES[row.type].name,
                **{f"old_{what}": old or "unknown", f"new_{what}": new},
            )
            await self._notifier.send(
                self._notifier.event(
                    row.tenant_id,
                    notice,
                    dedup_key=f"integration:{row.id}:provider:{what}:{new}",
                    facts={"integration": row.name, "was": old or "unknown", "now": new},
                    metadata={"integration_id": row.id},
                )
            )
        return len(changes)

    async def check_credentials(self) -> int:
        """Mark lapsed credentials `expired` and tell the admins; return how many lapsed."""
        now = self.clock()
        async with self._db.session() as session, session.begin():
            lapsed = await syncs.credentials_lapsed(session, now)
            found = [(r.id, r.tenant_id, r.name, r.credentials_expire_at) for r in lapsed]
            if found:
                await syncs.record_status(
                    session,
                    *(f[0] for f in found),
                    connection_status="expired",
                    connection_error="the credentials expired",
                )
        for integration_id, tenant, name, when in found:
            notice = integration_notice("integration.credentials.expired", integration_id, name)
            facts: dict[str, Any] = {"integration": name}
            if when is not None:
                facts["expired"] = when.isoformat(timespec="minutes")
            await self._notifier.send(
                self._notifier.event(
                    tenant,
                    notice,
                    dedup_key=f"integration:{integration_id}:credentials",
                    facts=facts,
                    metadata={"integration_id": integration_id},
                )
            )
            log.warning("integration credentials expired", extra={"integration": integration_id})
        return len(found)
