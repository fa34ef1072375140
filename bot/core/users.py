"""What each person and each tenant's admins chose: delivery overrides on top of the system
defaults, and which integration events the admins hear about."""

from __future__ import annotations

from typing import Any

from bot.core import audit
from bot.core.alerts import defaults, preferences
from bot.core.deps import Configures
from bot.core.records import DeliveryRecord, delivery_record
from bot.core.specs.users import OverrideSpec
from domain import By
from storage import admin
from storage import alerts as alerts_repo
from storage import config as config_repo


async def system_defaults(services: Configures) -> dict[str, dict[str, Any]]:
    """System defaults: built-in, stored, then environment."""
    async with services.db.session() as session:
        return defaults.system_defaults(await config_repo.stored_defaults(session))


async def overrides(services: Configures, tenant: str, user_id: str) -> dict[str, dict[str, Any]]:
    """A person's overrides, by integration type."""
    async with services.db.session() as session:
        return await config_repo.overrides(session, tenant, user_id)


async def set_override(
    services: Configures,
    tenant: str,
    user_id: str,
    kinds: list[str],
    spec: OverrideSpec,
    by: By,
    *,
    create: bool = True,
) -> None:
    """Set fields of a person's overrides of these types; NotFound when one is missing and
    `create` is False. Audited with each field's old and new value."""
    values = spec.values()
    async with services.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        before = await config_repo.overrides(session, tenant, user_id)
        for kind in kinds:
            if not await config_repo.set_override(
                session, tenant, user_id, kind, values, create=create
            ):
                raise admin.NotFound(f"{user_id} has no override for {kind}")
            old = before.get(kind, {})
            lines = audit.differences({k: old.get(k) for k in values}, values)
            if lines or kind not in before:
                data = {"user": user_id, "integration_type": kind, "changes": lines}
                audit.record(session, tenant, by, "override.set", data)


async def remove_overrides(
    services: Configures, tenant: str, user_id: str, by: By, kind: str | None = None
) -> int:
    """Delete a person's overrides (of one type, or all); how many there were."""
    async with services.configuring() as session:
        removed = await config_repo.remove_overrides(session, tenant, user_id, kind)
        if removed:
            data = {"user": user_id, "integration_type": kind or "all", "removed": removed}
            audit.record(session, tenant, by, "override.remove", data)
    return removed


async def deliveries_to(
    services: Configures, tenant: str, user_id: str, limit: int, offset: int
) -> list[DeliveryRecord]:
    """A person's deliveries, newest first."""
    async with services.db.session() as session:
        rows = await admin.deliveries_for(
            session, tenant=tenant, user_id=user_id, limit=limit, offset=offset
        )
        return [delivery_record(r) for r in rows]


async def admin_preferences(services: Configures, tenant: str) -> dict[str, bool]:
    """Which integration events the tenant's admins hear about."""
    async with services.db.session() as session:
        stored = await config_repo.preferences(session, tenant)
    return stored or dict(preferences.DEFAULTS)


async def set_admin_preferences(
    services: Configures, tenant: str, values: dict[str, bool], by: By
) -> None:
    """Change some of the admins' preferences, audited with old and new values."""
    async with services.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        old = await config_repo.preferences(session, tenant) or dict(preferences.DEFAULTS)
        await config_repo.set_preference(session, tenant, values, by.actor)
        lines = audit.differences({k: old.get(k) for k in values}, values)
        if lines:
            audit.record(session, tenant, by, "preferences.change", {"changes": lines})
