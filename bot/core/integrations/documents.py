"""How integrations, their types, syncs and provider webhooks read in REST, chat and the CLI:
settings shown, secrets never (a URL that is itself a capability is masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.kinds import AdapterType
from adapters.registry import TYPES
from bot.core.records import SyncRecord
from bot.core.specs.integrations import IntegrationRecord
from bot.infra.secrets import Keyring, mask
from cards.redact import mask_url
from storage.schema import (
    Integration,
    WebhookEvent,
)


def type_document(kind: AdapterType) -> dict[str, Any]:
    """A type as `/api/v1/integration-types` lists it."""
    return {
        "id": kind.id,
        "name": kind.name,
        "description": kind.description,
        "status": kind.status,
        "audience": kind.audience,
        "capabilities": list(kind.capabilities),
        "entities": list(kind.entities),
        "syncs": kind.syncs,
        "requires_oauth": kind.requires_oauth,
        "rate_limit_per_minute": kind.rate_per_minute,
        "settings": [
            {
                "name": s.name,
                "label": s.label,
                "secret": s.secret,
                "required": s.required,
                "default": s.default,
            }
            for s in kind.settings
        ],
    }


def integration_record(row: Integration, keyring: Keyring) -> IntegrationRecord:
    """A stored integration with every secret masked; URLs show their host only where a
    secret hides."""
    try:
        secrets = keyring.decrypt(row.credentials)
    except Exception:
        secrets = {"(undecryptable)": True}
    urls = {s.name for s in TYPES[row.type].settings if s.url} if row.type in TYPES else set()
    settings: dict[str, Any] = {
        name: shown_setting(value, name in urls, secret=False)
        for name, value in (row.config or {}).items()
    }
    settings.update(
        {name: shown_setting(value, name in urls, secret=True) for name, value in secrets.items()}
    )
    return IntegrationRecord(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        description=row.description,
        settings=settings,
        is_active=row.is_active,
        status=row.provider_status,
        audience=row.audience,
        capabilities=list(row.capabilities or []),
        connection_status=row.connection_status,
        connection_error=row.connection_error,
        last_connection_test_at=row.last_connection_test_at,
        last_connection_test_result=row.last_connection_test_result,
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        sync_enabled=row.sync_enabled,
        sync_interval=row.sync_interval,
        sync_direction=row.sync_direction,
        credentials_expire_at=row.credentials_expire_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def integration_document(record: IntegrationRecord) -> dict[str, Any]:
    """An integration as REST, chat and the CLI show it (its record, times in ISO 8601)."""
    document = record.model_dump(exclude={"tenant"})
    for name, value in document.items():
        if isinstance(value, datetime):
            document[name] = value.isoformat()
    return document


def shown_setting(value: Any, is_url: bool, *, secret: bool) -> Any:
    """A setting as listings show it: secrets masked, a secret URL by its host, and a plain
    URL in full unless it carries credentials or a query."""
    if is_url and isinstance(value, str) and value:
        if secret or (mask_url(value) != value.rstrip("/") + "/" and _has_secret_parts(value)):
            return mask_url(value)
        return value
    return mask(True) if secret else value


def _has_secret_parts(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.query or parts.username or parts.password or parts.fragment)


def sync_document(row: SyncRecord) -> dict[str, Any]:
    """One sync run, as the logs endpoint and chat show it."""
    return {
        "id": row.id,
        "sync_type": row.sync_type,
        "status": row.status,
        "attempt": row.attempt,
        "entities": list(row.entities or []),
        "records_processed": row.records_processed,
        "records_created": row.records_created,
        "records_updated": row.records_updated,
        "records_failed": row.records_failed,
        "cursor": row.cursor,
        "error": row.error,
        "started_at": _iso(row.started_at),
        "completed_at": _iso(row.completed_at),
    }


def webhook_document(row: WebhookEvent) -> dict[str, Any]:
    """One inbound provider webhook, without its payload."""
    return {
        "id": row.id,
        "event_type": row.event_type,
        "verified": row.verified,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error,
        "received_at": _iso(row.received_at),
        "processed_at": _iso(row.processed_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def type_documents() -> list[dict[str, Any]]:
    """Every integration type, as `GET /api/v1/integration-types` shows them."""
    return [type_document(t) for t in TYPES.values()]
