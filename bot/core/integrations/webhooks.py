"""Provider webhooks (`POST /hooks/{integration_id}`): verified, idempotent for 24 hours.

The integration's adapter checks the provider's signature (PagerDuty v3, Jira, our own
HMAC for generic webhooks). A verified payload is recorded in `webhook_events` under the
hash of integration and body: the same body within 24 hours, once applied, is answered as a
duplicate and changes nothing; one recorded but never applied (a crash) is applied again.
Processing (applying the provider's states to alerts) is tried three times.
Requests that fail verification are refused with 401 and stored nowhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from adapters.base import AdapterError, Inbound
from adapters.registry import TYPES
from bot.core.services import Services
from bot.infra import jsonbody
from bot.infra.web import ApiError
from storage import syncs
from storage.schema import Integration, WebhookEvent, utcnow

log = logging.getLogger(__name__)
IDEMPOTENCY = timedelta(hours=24)
ATTEMPTS = 3
INTEGRATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
APPLIED = ("processed", "rejected")  # a copy of one of these is a duplicate
RETRY_PAUSE = 0.2


async def receive(
    services: Services, integration_id: str, raw: bytes, headers: Mapping[str, str]
) -> dict[str, Any]:
    """Verify, record and apply one provider webhook; what to answer, or an ApiError."""
    if not INTEGRATION_ID.fullmatch(integration_id):
        raise ApiError(404, "not_found", "no such integration")
    async with services.db.session() as session:
        row = await session.get(Integration, integration_id)
        if row is None or not row.is_active:
            raise ApiError(404, "not_found", f"no active integration {integration_id!r}")
        values = services.keyring.with_secrets(row.config, row.credentials)
        tenant, type_id = row.tenant_id, row.type
    kind = TYPES.get(type_id)
    if kind is None or "webhooks" not in kind.capabilities:
        raise ApiError(404, "no_webhooks", f"{type_id} integrations take no webhooks")
    adapter = await services.factory.get(tenant, integration_id, type_id, values)
    if not adapter.verify_webhook(raw, headers):
        services.metrics.webhooks.labels(type_id, "bad_signature").inc()
        log.warning("provider webhook refused: signature", extra={"integration": integration_id})
        raise ApiError(401, "bad_signature", f"the {kind.name} signature does not verify")
    try:
        payload, _cleaned = jsonbody.parse(raw)
    except jsonbody.MalformedJson as exc:
        services.metrics.webhooks.labels(type_id, "malformed").inc()
        raise ApiError(400, "malformed_json", str(exc)) from None
    event_id = hashlib.sha256(integration_id.encode() + b"\0" + raw).hexdigest()
    stored = await _record(
        services, event_id, tenant, integration_id, type_id, payload, dict(headers.items())
    )
    if stored is not None:
        services.metrics.webhooks.labels(type_id, "duplicate").inc()
        return {"id": event_id, "duplicate": True, "status": stored}
    try:
        status, updated, event_type, error = await apply_webhook(
            services, adapter, event_id, tenant, integration_id, type_id, payload
        )
    except AdapterError as exc:
        raise ApiError(400, "unreadable_payload", str(exc)) from None
    if status != "processed":
        raise ApiError(503, "processing_failed", f"could not apply the webhook: {error}")
    return {"id": event_id, "status": status, "event_type": event_type, "updated": updated}


async def apply_webhook(
    services: Services,
    adapter: Any,
    event_id: str,
    tenant: str,
    integration_id: str,
    type_id: str,
    payload: Any,
) -> tuple[str, int, str, str | None]:
    """Apply a recorded webhook's states, three tries; (status, updated, event type, error).

    Only `processed` or `rejected` make a later copy a duplicate: a webhook recorded but never
    applied (the process died) is applied by the provider's redelivery or by the sweeper.
    """
    try:
        inbound = adapter.process_webhook(payload)
    except AdapterError as exc:
        await _finish(services, event_id, "rejected", 1, str(exc), None)
        services.metrics.webhooks.labels(type_id, "rejected").inc()
        raise
    status, updated, error, attempt = "failed", 0, None, 0
    for attempt in range(1, ATTEMPTS + 1):
        try:
            updated, _failed = await services.sync.apply_states(
                tenant, integration_id, type_id, inbound.records
            )
        except Exception as exc:  # recorded, retried, and answered below
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.warning("provider webhook processing failed", extra={"attempt": attempt})
            await asyncio.sleep(RETRY_PAUSE * attempt)
            continue
        status, error = "processed", None
        break
    await _finish(services, event_id, status, attempt, error, inbound)
    services.metrics.webhooks.labels(type_id, status).inc()
    return status, updated, inbound.event_type, error


async def apply_unapplied(services: Services, *, older_than: timedelta) -> int:
    """Apply webhooks recorded but never applied (their process died); return how many."""
    now = utcnow()
    async with services.db.session() as session:
        rows = await syncs.unapplied_webhooks(
            session, received_before=now - older_than, since=now - IDEMPOTENCY
        )
        work = [
            (r.id, r.tenant_id, r.integration_id, r.provider, r.payload, i.config, i.credentials)
            for r, i in rows
        ]
    applied = 0
    for event_id, tenant, integration_id, type_id, payload, config, credentials in work:
        values = services.keyring.with_secrets(config, credentials)
        adapter = await services.factory.get(tenant, integration_id, type_id, values)
        try:
            status, *_ = await apply_webhook(
                services, adapter, event_id, tenant, integration_id, type_id, payload
            )
        except AdapterError:
            continue
        applied += status == "processed"
    if work:
        log.warning("applied webhooks left unapplied", extra={"count": applied, "found": len(work)})
    return applied


async def _record(
    services: Services,
    event_id: str,
    tenant: str,
    integration_id: str,
    type_id: str,
    payload: Any,
    headers: dict[str, str],
) -> str | None:
    """Store the webhook as received; the status of the earlier one when it was applied."""
    now = utcnow()
    signature = next((v for k, v in headers.items() if k.lower().endswith("signature")), None)
    try:
        async with services.db.session() as session, session.begin():
            seen = await syncs.webhook_seen(session, event_id, now - IDEMPOTENCY)
            if seen is not None and seen.status in APPLIED:
                return seen.status
            await session.execute(delete(WebhookEvent).where(WebhookEvent.id == event_id))
            session.add(
                WebhookEvent(
                    id=event_id,
                    tenant_id=tenant,
                    integration_id=integration_id,
                    provider=type_id,
                    event_type=_event_type(payload),
                    payload=payload if isinstance(payload, dict) else {"payload": payload},
                    signature=(signature or "")[:512] or None,
                    verified=True,
                    status="received",
                    attempts=0,
                    received_at=now,
                )
            )
    except IntegrityError:
        return "received"  # the same body arrived twice at once: the other one handles it
    return None


async def _finish(
    services: Services,
    event_id: str,
    status: str,
    attempts: int,
    error: str | None,
    inbound: Inbound | None,
) -> None:
    async with services.db.session() as session, session.begin():
        row = await session.get(WebhookEvent, event_id)
        if row is None:
            return
        row.status, row.attempts, row.error = status, attempts, error
        row.processed_at = utcnow()
        if inbound is not None:
            row.event_type = inbound.event_type[:255]


def _event_type(payload: Any) -> str:
    if isinstance(payload, dict):
        event = payload.get("event")
        if isinstance(event, dict) and isinstance(event.get("event_type"), str):
            return str(event["event_type"])[:255]
        for key in ("webhookEvent", "event_type", "type"):
            if isinstance(payload.get(key), str):
                return str(payload[key])[:255]
    return "unknown"
