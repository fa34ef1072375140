"""Integration administration shared by REST, the CLI and chat: secrets in, never out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.base import AdapterError, BadConfig
from adapters.egress import check_target
from adapters.factory import scrub, secret_forms
from adapters.kinds import AdapterType, BuildOptions
from adapters.registry import TYPES, adapter_type
from bot.core import audit
from bot.core.documents import delivery_document
from bot.core.errors import InvalidRequest
from bot.core.integrations.documents import integration_record, sync_document, webhook_document
from bot.core.records import delivery_record, sync_record
from bot.core.services import Services
from bot.core.specs.integrations import (
    MAX_SYNC_INTERVAL,
    IntegrationChange,
    IntegrationRecord,
    IntegrationSpec,
)
from bot.infra.secrets import Keyring
from bot.infra.settings import Settings
from cards.templates import integration_notice
from domain import By
from storage import admin
from storage import alerts as alerts_repo
from storage import syncs as syncs_repo
from storage.schema import Integration, utcnow

log = logging.getLogger(__name__)


def build_options(services: Services) -> BuildOptions:
    """Adapter options from the bot's settings."""
    settings = services.settings
    return BuildOptions(
        settings.allow_private_targets,
        settings.slack_api_url,
        *teams_credentials(settings),
        send_timeout=settings.send_timeout_seconds,
    )


def teams_credentials(settings: Settings) -> tuple[str, str, str]:
    """The Bot Framework app id, password and tenant from the settings."""
    password = settings.teams_app_password.get_secret_value() if settings.teams_app_password else ""
    return settings.teams_app_id, password, settings.teams_tenant_id or ""


def _kind(type_id: Any) -> AdapterType:
    if not isinstance(type_id, str):
        raise InvalidRequest(f"type: required; one of {', '.join(sorted(TYPES))}")
    try:
        return adapter_type(type_id)
    except AdapterError as exc:
        raise InvalidRequest(str(exc)) from None


def _split(kind: AdapterType, values: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(values, dict):
        raise InvalidRequest("settings: must be an object of setting names to values")
    try:
        return kind.split(values)
    except AdapterError as exc:
        raise InvalidRequest(f"settings: {exc}") from None


async def create(
    services: Services, tenant: str, spec: IntegrationSpec, by: By
) -> IntegrationRecord:
    """Validate and store a new integration, its secrets encrypted; audited."""
    kind = _kind(spec.type)
    if not kind.available:
        raise InvalidRequest(f"type: {kind.name} is disabled; it can no longer be added")
    name = spec.name.strip()
    if not name:
        raise InvalidRequest("name: required, 1 to 255 characters")
    config, secrets = _split(kind, spec.settings or {})
    async with services.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        row = Integration(
            tenant_id=tenant,
            name=name,
            type=kind.id,
            description=spec.description,
            config=config,
            credentials=services.keyring.encrypt(secrets) if secrets else None,
            provider_status=kind.status,
            audience=kind.audience,
            capabilities=list(kind.capabilities),
            created_by=by.actor,
        )
        if spec.is_active is not None:
            row.is_active = spec.is_active
        _sync_settings(row, kind, spec)
        _access_settings(row, spec)
        try:
            await admin.add_integration(session, row)
        except admin.Conflict as exc:
            raise InvalidRequest(str(exc)) from None
        audit.record(
            session,
            tenant,
            by,
            "integration.create",
            {"integration": row.name, "id": row.id, "type": kind.id, "settings": sorted(config)}
            | ({"secrets": sorted(secrets)} if secrets else {}),
        )
        made = integration_record(row, services.keyring)
    log.info("integration created", extra={"integration": row.id, "type": kind.id})
    return made


def _fields_of(row: Integration, keyring: Keyring) -> dict[str, Any]:
    """What a change of an integration is told as: plain fields and settings, secrets too
    (only ever said to have changed)."""
    return {
        "name": row.name,
        "description": row.description,
        "is_active": row.is_active,
        "sync_enabled": row.sync_enabled,
        "sync_interval": row.sync_interval,
        "sync_direction": row.sync_direction,
        **{f"settings.{k}": v for k, v in (row.config or {}).items()},
        **{f"settings.{k}": v for k, v in keyring.decrypt(row.credentials).items()},
    }


async def update(
    services: Services, tenant: str, ref: str, change: IntegrationChange, by: By
) -> IntegrationRecord:
    """Change settings (secrets left out stay as they were), name, description or active flag;
    audited with each field's old and new value (a secret only said to change)."""
    given = change.model_fields_set
    async with services.configuring() as session:
        row = await admin.integration(session, tenant, ref)
        kind = _kind(row.type)
        old = _fields_of(row, services.keyring)
        if "settings" in given:
            if change.settings is None:
                raise InvalidRequest("settings: must be an object")
            current = services.keyring.with_secrets(row.config, row.credentials)
            config, secrets = _split(kind, {**current, **change.settings})
            row.config = config
            row.credentials = services.keyring.encrypt(secrets) if secrets else None
        if "name" in given:
            if change.name is None or not change.name.strip():
                raise InvalidRequest("name: 1 to 255 characters")
            row.name = change.name.strip()
        if "description" in given:
            row.description = change.description or None
        if "is_active" in given:
            if change.is_active is None:
                raise InvalidRequest("is_active: must be true or false")
            row.is_active = change.is_active
        _sync_settings(row, kind, change)
        before = (list(row.allowed_shard_types or []), _search_of(row))
        _access_settings(row, change)
        after = (list(row.allowed_shard_types or []), _search_of(row))
        row.updated_at = utcnow()
        secret = frozenset(s.name for s in kind.settings if s.secret)
        lines = audit.differences(old, _fields_of(row, services.keyring), secret)
        if before != after:
            lines.append("data access or search settings changed")
        if lines:
            verb = "integration.change"
            if old["is_active"] != row.is_active:
                verb = "integration.enable" if row.is_active else "integration.disable"
            audit.record(
                session, tenant, by, verb, {"integration": row.name, "id": row.id, "changes": lines}
            )
        made = integration_record(row, services.keyring)
    if before[0] != after[0]:
        await _notice(
            services,
            made,
            "integration.data_access.updated",
            f"access:{utcnow().isoformat()}",
            old_allowed=", ".join(before[0]) or "nothing",
            new_allowed=", ".join(after[0]) or "nothing",
        )
    if before[1] != after[1]:
        await _notice(
            services, made, "integration.search.updated", f"search:{utcnow().isoformat()}"
        )
    return made


async def listed(services: Services, tenant: str) -> list[IntegrationRecord]:
    """The tenant's integrations by name."""
    async with services.db.session() as session:
        rows = await admin.integrations(session, tenant)
        return [integration_record(r, services.keyring) for r in rows]


async def one(services: Services, tenant: str, ref: str) -> IntegrationRecord:
    """An integration by id or name; NotFound otherwise."""
    async with services.db.session() as session:
        return integration_record(await admin.integration(session, tenant, ref), services.keyring)


async def remove(
    services: Services, tenant: str, ref: str, by: By, name: str | None = None
) -> IntegrationRecord:
    """Delete an integration with the channels that send through it, audited (`name`: the
    actor's display name, kept beside the id)."""
    async with services.configuring() as session:
        row = await admin.integration(session, tenant, ref)
        made = integration_record(row, services.keyring)
        await admin.remove_integration(session, row)
        data: dict[str, Any] = {"integration": row.name, "id": row.id}
        if name:
            data["by"] = name
        audit.record(session, tenant, by, "integration.remove", data)
    return made


async def history(
    services: Services, tenant: str, ref: str, limit: int, offset: int = 0
) -> tuple[IntegrationRecord, list[dict[str, Any]]]:
    """An integration and its recent syncs (as documents), newest first."""
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, ref)
        runs = await admin.sync_logs(session, row.id, limit, offset)
        return integration_record(row, services.keyring), [
            sync_document(sync_record(r)) for r in runs
        ]


@dataclass(frozen=True)
class Logs:
    """What an integration did lately, as documents: syncs, deliveries through it, webhooks
    it received."""

    syncs: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    webhooks: list[dict[str, Any]]


async def logs(services: Services, tenant: str, ref: str, limit: int, offset: int) -> Logs:
    """An integration's sync history, deliveries and received webhooks, newest first."""
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, ref)
        syncs = await admin.sync_logs(session, row.id, limit, offset)
        deliveries = await admin.deliveries_for(
            session, tenant=tenant, integration_id=row.id, limit=limit, offset=offset
        )
        hooks = await syncs_repo.webhook_events(session, row.id, limit, offset)
        return Logs(
            [sync_document(sync_record(r)) for r in syncs],
            [delivery_document(delivery_record(d)) for d in deliveries],
            [webhook_document(w) for w in hooks],
        )


async def target_allowed(services: Services, url: str) -> bool:
    """Whether a URL passes the same guard as every delivery target (no private addresses
    unless the settings allow them)."""
    try:
        await check_target(url, allow_private=services.settings.allow_private_targets)
    except BadConfig:
        return False
    return True


async def rotate_secrets(services: Services, by: By) -> int:
    """Re-encrypt every integration's secrets with the newest key; how many integrations.
    Audited in every tenant whose secrets were re-encrypted."""
    async with services.db.session() as session, session.begin():
        tenants = sorted({r.tenant_id for r in await admin.all_with_credentials(session)})
        count = await admin.rotate_credentials(session, services.keyring.rotate)
        for tenant in tenants:
            audit.record(session, tenant, by, "secrets.rotate", {"key": "newest"})
        return count


def _search_of(row: Integration) -> tuple[Any, ...]:
    return (row.search_enabled, list(row.searchable_entities or []), dict(row.search_filters or {}))


def _names(values: list[str] | None, field: str) -> list[str]:
    if values is None or not all(values):
        raise InvalidRequest(f"{field}: a list of names")
    return sorted(set(values))


def _access_settings(row: Integration, change: IntegrationChange) -> None:
    """Which data the integration may reach, and its search configuration."""
    given = change.model_fields_set
    if "allowed_shard_types" in given:
        row.allowed_shard_types = _names(change.allowed_shard_types, "allowed_shard_types")
    if "searchable_entities" in given:
        row.searchable_entities = _names(change.searchable_entities, "searchable_entities")
    if "search_enabled" in given:
        if change.search_enabled is None:
            raise InvalidRequest("search_enabled: must be true or false")
        row.search_enabled = change.search_enabled
    if "search_filters" in given:
        if change.search_filters is None:
            raise InvalidRequest("search_filters: must be an object")
        row.search_filters = change.search_filters


async def _notice(
    services: Services, made: IntegrationRecord, event_type: str, key: str, **data: str
) -> None:
    """Tell the tenant's admins (preferences decide at routing); never fails the caller."""
    notice = integration_notice(event_type, made.id, made.name, **data)
    event = services.notifier.event(
        made.tenant,
        notice,
        dedup_key=f"integration:{made.id}:{key}",
        facts={"integration": made.name, **{k.replace("_", " "): v for k, v in data.items()}},
        metadata={"integration_id": made.id},
    )
    await services.notifier.send(event)


def _sync_settings(row: Integration, kind: AdapterType, change: IntegrationChange) -> None:
    """`sync_enabled`, `sync_interval` (minutes) and `credentials_expire_at`, validated."""
    given = change.model_fields_set
    if "sync_enabled" in given:
        if change.sync_enabled is None:
            raise InvalidRequest("sync_enabled: must be true or false")
        if change.sync_enabled and not kind.syncs:
            raise InvalidRequest(f"sync_enabled: {kind.name} integrations do not sync")
        row.sync_enabled = change.sync_enabled
    if "sync_interval" in given:
        minutes = change.sync_interval
        if minutes is None or not 1 <= minutes <= MAX_SYNC_INTERVAL:
            raise InvalidRequest(f"sync_interval: whole minutes, 1 to {MAX_SYNC_INTERVAL}")
        row.sync_interval = minutes
    if "sync_direction" in given and change.sync_direction is not None:
        row.sync_direction = change.sync_direction
    if "credentials_expire_at" in given:
        value = change.credentials_expire_at
        if value is None:
            row.credentials_expire_at = None
            return
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(
                "credentials_expire_at: an ISO 8601 time such as 2027-01-31T00:00:00Z, or null"
            ) from None
        row.credentials_expire_at = when if when.tzinfo else when.replace(tzinfo=UTC)
        if row.connection_status == "expired" and row.credentials_expire_at > utcnow():
            row.connection_status = None  # new credentials: the next check decides


async def test(services: Services, tenant: str, ref: str, by: By) -> dict[str, Any]:
    """Run the adapter's connection test and record its outcome on the integration, audited."""
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, ref)
        values = services.keyring.with_secrets(row.config, row.credentials)
    kind = adapter_type(row.type)
    forms = secret_forms(kind, values)
    adapter = None
    try:
        adapter = kind.build(values, services.http, build_options(services))
        detail = scrub(await adapter.test(), forms)
        outcome: dict[str, Any] = {"success": True, "detail": detail}
    except AdapterError as exc:  # an echoing destination may repeat the credentials
        outcome = {"success": False, "error": scrub(str(exc), forms)}
    finally:
        if adapter is not None:
            await adapter.disconnect()  # a connection of its own (Slack's SDK session)
    async with services.db.session() as session, session.begin():
        row = await admin.integration(session, tenant, ref)
        row.last_connection_test_at = utcnow()
        row.last_connection_test_result = "passed" if outcome["success"] else "failed"
        row.connection_status = "connected" if outcome["success"] else "error"
        row.connection_error = None if outcome["success"] else outcome["error"]
        result = "passed" if outcome["success"] else "failed"
        audit.record(
            session, tenant, by, "integration.test", {"integration": row.name, "result": result}
        )
        made = integration_record(row, services.keyring)
    if not outcome["success"]:
        await _notice(
            services, made, "integration.connection.test.failed", "test", error=outcome["error"]
        )
    return outcome
