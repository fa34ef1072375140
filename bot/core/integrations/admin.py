"""Integration administration shared by REST, the CLI and chat: secrets in, never out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.base import AdapterError, BadConfig
from adapters.egress import check_target, url_problem
from adapters.factory import scrub, secret_forms
from adapters.registry import TYPES, AdapterType, BuildOptions, Setting, adapter_type
from bot.core import audit
from bot.core.alerts import muting, windows
from bot.core.errors import InvalidRequest
from bot.core.services import Services
from bot.infra.secrets import Keyring, mask
from bot.infra.settings import Settings
from cards.forms import FormField
from cards.redact import mask_url
from cards.templates import integration_notice
from domain import By, Priority, Verb, grouping
from storage import admin, outbox
from storage import alerts as alerts_repo
from storage import syncs as syncs_repo
from storage.schema import (
    Channel,
    Delivery,
    Integration,
    Route,
    SyncLog,
    WebhookEvent,
    utcnow,
)

log = logging.getLogger(__name__)


def build_options(services: Services) -> BuildOptions:
    """Adapter options from the bot's settings."""
    settings = services.settings
    return BuildOptions(
        settings.allow_private_targets, settings.slack_api_url, *teams_credentials(settings)
    )


def teams_credentials(settings: Settings) -> tuple[str, str, str]:
    """The Bot Framework app id, password and tenant from the settings."""
    password = settings.teams_app_password.get_secret_value() if settings.teams_app_password else ""
    return settings.teams_app_id, password, settings.teams_tenant_id or ""


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


def integration_document(row: Integration, keyring: Keyring) -> dict[str, Any]:
    """An integration with every secret masked; URLs show their host only where a secret hides."""
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
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "description": row.description,
        "settings": settings,
        "is_active": row.is_active,
        "status": row.provider_status,
        "audience": row.audience,
        "capabilities": list(row.capabilities or []),
        "connection_status": row.connection_status,
        "connection_error": row.connection_error,
        "last_connection_test_at": _iso(row.last_connection_test_at),
        "last_connection_test_result": row.last_connection_test_result,
        "last_sync_at": _iso(row.last_sync_at),
        "last_error": row.last_error,
        "sync_enabled": row.sync_enabled,
        "sync_interval": row.sync_interval,
        "credentials_expire_at": _iso(row.credentials_expire_at),
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


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


def sync_document(row: SyncLog) -> dict[str, Any]:
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


async def create(services: Services, tenant: str, body: dict[str, Any], by: By) -> Integration:
    """Validate and store a new integration, its secrets encrypted; audited."""
    kind = _kind(body.get("type"))
    if not kind.available:
        raise InvalidRequest(f"type: {kind.name} is disabled; it can no longer be added")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidRequest("name: required, 1 to 255 characters")
    config, secrets = _split(kind, body.get("settings", body.get("config", {})))
    async with services.db.session() as session, session.begin():
        await alerts_repo.ensure_tenant(session, tenant)
        row = Integration(
            tenant_id=tenant,
            name=name.strip(),
            type=kind.id,
            description=body.get("description")
            if isinstance(body.get("description"), str)
            else None,
            config=config,
            credentials=services.keyring.encrypt(secrets) if secrets else None,
            provider_status=kind.status,
            audience=kind.audience,
            capabilities=list(kind.capabilities),
            created_by=by.actor,
        )
        _sync_settings(row, kind, body)
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
    services.config_changed()
    log.info("integration created", extra={"integration": row.id, "type": kind.id})
    return row


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
    services: Services, tenant: str, ref: str, body: dict[str, Any], by: By
) -> Integration:
    """Change settings (secrets left out stay as they were), name, description or active flag;
    audited with each field's old and new value (a secret only said to change)."""
    async with services.db.session() as session, session.begin():
        row = await admin.integration(session, tenant, ref)
        kind = _kind(row.type)
        old = _fields_of(row, services.keyring)
        if "settings" in body or "config" in body:
            current = services.keyring.with_secrets(row.config, row.credentials)
            given = body.get("settings", body.get("config"))
            if not isinstance(given, dict):
                raise InvalidRequest("settings: must be an object")
            config, secrets = _split(kind, {**current, **given})
            row.config = config
            row.credentials = services.keyring.encrypt(secrets) if secrets else None
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
                raise InvalidRequest("name: 1 to 255 characters")
            row.name = body["name"].strip()
        if "description" in body:
            row.description = str(body["description"]) if body["description"] else None
        if "is_active" in body:
            if not isinstance(body["is_active"], bool):
                raise InvalidRequest("is_active: must be true or false")
            row.is_active = body["is_active"]
        _sync_settings(row, kind, body)
        before = (list(row.allowed_shard_types or []), _search_of(row))
        _access_settings(row, body)
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
    services.config_changed()
    if before[0] != after[0]:
        await _notice(
            services,
            row,
            "integration.data_access.updated",
            f"access:{utcnow().isoformat()}",
            old_allowed=", ".join(before[0]) or "nothing",
            new_allowed=", ".join(after[0]) or "nothing",
        )
    if before[1] != after[1]:
        await _notice(services, row, "integration.search.updated", f"search:{utcnow().isoformat()}")
    return row


async def listed(services: Services, tenant: str) -> Sequence[Integration]:
    """The tenant's integrations by name."""
    async with services.db.session() as session:
        return await admin.integrations(session, tenant)


async def one(services: Services, tenant: str, ref: str) -> Integration:
    """An integration by id or name; NotFound otherwise."""
    async with services.db.session() as session:
        return await admin.integration(session, tenant, ref)


async def remove(
    services: Services, tenant: str, ref: str, by: By, name: str | None = None
) -> Integration:
    """Delete an integration with the channels that send through it, audited (`name`: the
    actor's display name, kept beside the id)."""
    async with services.db.session() as session, session.begin():
        row = await admin.integration(session, tenant, ref)
        await admin.remove_integration(session, row)
        data: dict[str, Any] = {"integration": row.name, "id": row.id}
        if name:
            data["by"] = name
        audit.record(session, tenant, by, "integration.remove", data)
    services.config_changed()
    return row


async def history(
    services: Services, tenant: str, ref: str, limit: int, offset: int = 0
) -> tuple[Integration, Sequence[SyncLog]]:
    """An integration and its recent syncs, newest first."""
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, ref)
        return row, await admin.sync_logs(session, row.id, limit, offset)


@dataclass(frozen=True)
class Logs:
    """What an integration did lately: syncs, deliveries through it, webhooks it received."""

    syncs: Sequence[SyncLog]
    deliveries: Sequence[Delivery]
    webhooks: Sequence[WebhookEvent]


async def logs(services: Services, tenant: str, ref: str, limit: int, offset: int) -> Logs:
    """An integration's sync history, deliveries and received webhooks, newest first."""
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, ref)
        return Logs(
            await admin.sync_logs(session, row.id, limit, offset),
            await admin.deliveries_for(
                session, tenant=tenant, integration_id=row.id, limit=limit, offset=offset
            ),
            await syncs_repo.webhook_events(session, row.id, limit, offset),
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


def required_secrets(kind: str) -> list[Setting]:
    """The secret settings an integration of this type cannot do without."""
    return [s for s in adapter_type(kind).settings if s.secret and s.required]


def secret_settings(kind: str) -> list[tuple[str, str]]:
    """(name, label) of the secret settings of an integration type."""
    return [(s.name, s.label) for s in TYPES[kind].settings if s.secret]


def type_documents() -> list[dict[str, Any]]:
    """Every integration type, as `GET /api/v1/integration-types` shows them."""
    return [type_document(t) for t in TYPES.values()]


def syncs(row: Integration) -> bool:
    """Whether the integration's type syncs at all."""
    return adapter_type(row.type).syncs


def type_name(kind: str) -> str | None:
    """The name an integration type is shown by, or None for a type that does not exist."""
    found = TYPES.get(kind)
    return found.name if found else None


def type_ids() -> list[str]:
    """Every integration type's id, sorted."""
    return sorted(TYPES)


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The settings of an integration type as form fields."""
    return tuple(
        FormField(s.name, s.label, s.secret, s.required, s.help) for s in TYPES[kind].settings
    )


def _search_of(row: Integration) -> tuple[Any, ...]:
    return (row.search_enabled, list(row.searchable_entities or []), dict(row.search_filters or {}))


def _names(body: dict[str, Any], field: str) -> list[str]:
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest(f"{field}: a list of names")
    return sorted(set(value))


def _access_settings(row: Integration, body: dict[str, Any]) -> None:
    """Which data the integration may reach, and its search configuration."""
    if "allowed_shard_types" in body:
        row.allowed_shard_types = _names(body, "allowed_shard_types")
    if "searchable_entities" in body:
        row.searchable_entities = _names(body, "searchable_entities")
    if "search_enabled" in body:
        if not isinstance(body["search_enabled"], bool):
            raise InvalidRequest("search_enabled: must be true or false")
        row.search_enabled = body["search_enabled"]
    if "search_filters" in body:
        if not isinstance(body["search_filters"], dict):
            raise InvalidRequest("search_filters: must be an object")
        row.search_filters = body["search_filters"]


async def _notice(
    services: Services, row: Integration, event_type: str, key: str, **data: str
) -> None:
    """Tell the tenant's admins (preferences decide at routing); never fails the caller."""
    notice = integration_notice(event_type, row.id, row.name, **data)
    event = services.notifier.event(
        row.tenant_id,
        notice,
        dedup_key=f"integration:{row.id}:{key}",
        facts={"integration": row.name, **{k.replace("_", " "): v for k, v in data.items()}},
        metadata={"integration_id": row.id},
    )
    await services.notifier.send(event)


MAX_SYNC_INTERVAL = 7 * 24 * 60


def _sync_settings(row: Integration, kind: AdapterType, body: dict[str, Any]) -> None:
    """`sync_enabled`, `sync_interval` (minutes) and `credentials_expire_at`, validated."""
    if "sync_enabled" in body:
        if not isinstance(body["sync_enabled"], bool):
            raise InvalidRequest("sync_enabled: must be true or false")
        if body["sync_enabled"] and not kind.syncs:
            raise InvalidRequest(f"sync_enabled: {kind.name} integrations do not sync")
        row.sync_enabled = body["sync_enabled"]
    if "sync_interval" in body:
        minutes = body["sync_interval"]
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise InvalidRequest("sync_interval: whole minutes, 1 to 10080")
        if not 1 <= minutes <= MAX_SYNC_INTERVAL:
            raise InvalidRequest("sync_interval: whole minutes, 1 to 10080")
        row.sync_interval = minutes
    if "credentials_expire_at" in body:
        value = body["credentials_expire_at"]
        if value is None:
            row.credentials_expire_at = None
            return
        try:
            when = datetime.fromisoformat(str(value))
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
    if not outcome["success"]:
        await _notice(
            services, row, "integration.connection.test.failed", "test", error=outcome["error"]
        )
    return outcome


def new_channel(tenant: str, body: dict[str, Any], integration: Integration | None) -> Channel:
    """A channel from a request body, validated."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name: required")
    kind = integration.type if integration else body.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise InvalidRequest(f"type: one of {', '.join(sorted(TYPES))} (or give integration)")
    if "notifications" not in adapter_type(kind).capabilities:
        raise InvalidRequest(f"type: {kind} integrations take no notifications; no channel on it")
    rate = body.get("rate_per_minute", adapter_type(kind).rate_per_minute)
    if not isinstance(rate, int) or not 1 <= rate <= 1_000_000:
        raise InvalidRequest("rate_per_minute: a whole number from 1 to 1000000")
    if len(name) > 255:
        raise InvalidRequest("name: at most 255 characters")
    target = body.get("target", "")
    if not isinstance(target, str) or len(target) > 2048:
        raise InvalidRequest("target: text of at most 2048 characters")
    if target and any(s.url and s.name == "url" for s in adapter_type(kind).settings):
        if problem := url_problem(target):
            raise InvalidRequest(f"target: {problem}")
    config = body.get("config", {})
    if not isinstance(config, dict):
        raise InvalidRequest("config: must be an object")
    return Channel(
        tenant_id=tenant,
        name=name.strip(),
        type=kind,
        integration_id=integration.id if integration else None,
        target=target,
        config=config,
        rate_per_minute=rate,
    )


# The verbs a route may offer on its cards (Retry and Discard belong to failed-job cards).
ROUTE_VERBS = (
    Verb.ACKNOWLEDGE,
    Verb.ESCALATE,
    Verb.RESOLVE,
    Verb.SNOOZE,
    Verb.NOTE,
    Verb.RETRY,
    Verb.DISCARD,
)


def route_actions(value: object) -> list[str] | None:
    """`actions`: None (every verb), a list, or a comma-separated string of verbs."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    names = ", ".join(v.value for v in ROUTE_VERBS)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"actions: a list of verbs from {names}")
    unknown = [v for v in value if v.lower() not in {x.value for x in ROUTE_VERBS}]
    if unknown:
        raise InvalidRequest(f"actions: {', '.join(unknown)} not a verb; verbs: {names}")
    return list(dict.fromkeys(v.lower() for v in value))


def route_matchers(value: object) -> list[str] | None:
    """A route's matchers, read and written back in one spelling (`team=~"db|storage"`);
    a single string may hold several (`{a="1", b="2"}`)."""
    if value is None or value == []:
        return None
    return muting.matchers_of(value, "matchers") or None


def new_route(tenant: str, body: dict[str, Any], channel: Channel, actor: str | None) -> Route:
    """A route from a request body, validated."""
    priority = str(body.get("min_priority", "INFO")).upper()
    if priority not in Priority.__members__:
        raise InvalidRequest(f"min_priority: one of {' '.join(p.value for p in Priority)}")
    stakeholders = body.get("stakeholders", [])
    if not isinstance(stakeholders, list) or not all(isinstance(s, str) for s in stakeholders):
        raise InvalidRequest("stakeholders: a list of names")
    level = body.get("escalation_level", 0)
    if not isinstance(level, int) or not 0 <= level <= 10:
        raise InvalidRequest("escalation_level: 0 to 10")
    user = body.get("user_id")
    if user is not None and (not isinstance(user, str) or len(user) > 255):
        raise InvalidRequest("user_id: text of at most 255 characters")
    is_default = body.get("default", False)
    if not isinstance(is_default, bool):
        raise InvalidRequest("default: true or false (true: only alerts no other route takes)")
    policy = body.get("escalation_policy")
    if policy is not None and (not isinstance(policy, str) or not 0 < len(policy) <= 255):
        raise InvalidRequest("escalation_policy: the name of an escalation policy")
    goes_on = body.get("continue", True)
    if not isinstance(goes_on, bool):
        raise InvalidRequest("continue: true (later routes take the alert too) or false")
    return Route(
        tenant_id=tenant,
        channel_id=channel.id,
        actions=route_actions(body.get("actions")),
        event_glob=str(body.get("event_glob", "*"))[:255],
        min_priority=priority,
        stakeholders=[s.upper() for s in stakeholders],
        source_glob=str(body.get("source_glob", "*"))[:255],
        user_id=user,
        escalation_level=level,
        is_default=is_default,
        escalation_policy=policy,
        matchers=route_matchers(body.get("matchers")),
        continues=goes_on,
        mute_time_intervals=windows.route_names(body, "mute_time_intervals"),
        active_time_intervals=windows.route_names(body, "active_time_intervals"),
        grouping=route_grouping(body),
        created_by=actor,
    )


def route_grouping(body: dict[str, Any]) -> dict[str, Any] | None:
    """A route's `group_by` and intervals, checked (`domain.grouping`)."""
    try:
        return grouping.given({f: body.get(f) for f in grouping.FIELDS})
    except grouping.GroupingError as exc:
        raise InvalidRequest(str(exc)) from None


@dataclass(frozen=True)
class Overview:
    """An integration as the console shows it: its row and its last syncs."""

    integration: Integration
    syncs: Sequence[SyncLog]


async def overview(services: Services, tenant: str | None) -> list[Overview]:
    """Every integration (of one tenant, or all) with its three last syncs."""
    async with services.db.session() as session:
        rows = await admin.all_integrations(session, tenant)
        return [Overview(row, await admin.sync_logs(session, row.id, 3, 0)) for row in rows]


async def dead_letters(services: Services, tenant: str | None) -> Sequence[Delivery]:
    """Deliveries whose retries are spent, newest first."""
    async with services.db.session() as session:
        return await admin.dead_letters(session, tenant)


async def retry_dead_letter(
    services: Services, tenant: str | None, delivery_id: str, actor: str
) -> bool:
    """Queue a dead delivery again, audited; False when it is not dead (or not the tenant's)."""
    async with services.db.session() as session, session.begin():
        row = await session.get(Delivery, delivery_id)
        if row is None or (tenant is not None and row.tenant_id != tenant):
            return False
        count = await outbox.retry_dead(
            session,
            channel_id=None,
            delivery_id=delivery_id,
            now=utcnow(),
            note=f"retried by {actor}",
        )
        if count:
            audit.record(
                session,
                row.tenant_id,
                By(actor, "console"),
                "delivery.retry",
                {"delivery": delivery_id},
            )
    if count:
        services.ingest.wake_workers()
    return bool(count)
