"""Integration notifications to a tenant's admins: they never fail the operation behind them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.core.alerts.ingest import IngestService
from cards.templates import Notice, integration_notice
from domain import EventIn, Priority

log = logging.getLogger(__name__)

PRIORITY_OF_TYPE = {  # the notification types, as the events API maps them
    "information": Priority.INFO,
    "warning": Priority.MEDIUM,
    "error": Priority.HIGH,
    "alert": Priority.CRITICAL,
}
RETRY_DELAYS = (2.0, 10.0, 60.0, 300.0)


class Notifier:
    """Turns notices into alerts routed like any other (`integration.*` routes reach admins).

    Tenant-admin preferences decide at routing time. When storing the alert fails, the
    notice is retried in the background and the caller carries on.
    """

    def __init__(
        self,
        ingest: IngestService,
        public_url: str = "",
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._ingest, self._public_url = ingest, public_url.rstrip("/")
        self.retry_delays = tuple(retry_delays)
        self._retrying: set[asyncio.Task[None]] = set()

    def event(
        self,
        tenant: str,
        notice: Notice,
        *,
        dedup_key: str,
        facts: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
        title: str | None = None,
        message: str | None = None,
        kind: str | None = None,
    ) -> EventIn:
        """The event a notice becomes; `kind` overrides its notification type."""
        link = notice.link if notice.link.startswith("http") else self._public_url + notice.link
        return EventIn(
            title=title or notice.title,
            tenant=tenant,
            event_type=notice.event_type,
            priority=PRIORITY_OF_TYPE[kind or notice.notification_type],
            body=message or notice.message,
            link=link,
            source="chatops",
            dedup_key=dedup_key,
            facts=dict(facts or {}),
            metadata={"notification_type": kind or notice.notification_type, **(metadata or {})},
        )

    async def send(self, event: EventIn) -> bool:
        """Store and route the notice now; on failure retry it later. True when stored now."""
        try:
            await self._ingest.submit(event)
        except Exception as exc:  # notifying must never break the caller
            log.warning(
                "integration notice failed; retrying in the background",
                extra={"event_type": event.event_type, "error": repr(exc)},
            )
            task = asyncio.create_task(self._retry(event))
            self._retrying.add(task)
            task.add_done_callback(self._retrying.discard)
            return False
        return True

    async def _retry(self, event: EventIn) -> None:
        for delay in self.retry_delays:
            await asyncio.sleep(delay)
            try:
                await self._ingest.submit(event)
            except Exception as exc:  # the next delay may find it back
                log.warning("integration notice retry failed", extra={"error": repr(exc)})
                continue
            log.info("integration notice sent on retry", extra={"event_type": event.event_type})
            return
        log.error("integration notice given up", extra={"event_type": event.event_type})

    async def status_changed(
        self, tenant: str, integration_id: str, name: str, old: str | None, new: str
    ) -> None:
        """`integration.connection.status.changed`: a recovery is information, a loss a warning."""
        notice = integration_notice(
            "integration.connection.status.changed",
            integration_id,
            name,
            old_status=old or "unknown",
            new_status=new,
        )
        # a recovery is information, a disconnection a warning, an error (or expiry) an error
        kind = {"connected": "information", "disconnected": "warning"}.get(new, "error")
        await self.send(
            self.event(
                tenant,
                notice,
                dedup_key=f"integration:{integration_id}:status:{new}",
                facts={"integration": name, "was": old or "unknown", "now": new},
                metadata={"integration_id": integration_id},
                kind=kind,
            )
        )

    async def credentials_refused(
        self, tenant: str, integration_id: str, name: str, error: str
    ) -> None:
        """`integration.credentials.expired` (an error): the provider refused the credentials
        (401/403), on a send or a health check; one open alert until they work again."""
        notice = integration_notice("integration.credentials.expired", integration_id, name)
        await self.send(
            self.event(
                tenant,
                notice,
                dedup_key=f"integration:{integration_id}:credentials",
                facts={"integration": name, "answer": error[:300]},
                metadata={"integration_id": integration_id},
                message=(
                    f'The credentials for "{name}" were refused ({error[:300]}). Please update '
                    "your credentials to continue."
                ),
                kind="error",
            )
        )

    async def close(self) -> None:
        """Stop retrying (at shutdown)."""
        for task in list(self._retrying):
            task.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)
