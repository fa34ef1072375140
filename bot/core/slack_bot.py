"""The tenant's own Slack bot as an adapter, for what is not a message to a channel: keeping a
user group, looking someone up by e-mail."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Adapter
from adapters.factory import AdapterFactory
from bot.infra.secrets import Keyring
from storage import admin


async def slack_adapter(
    session: AsyncSession, keyring: Keyring, factory: AdapterFactory, tenant: str
) -> Adapter | None:
    """The adapter of the tenant's Slack integration (its bot token), or None without one."""
    integration = await admin.chat_integration(session, tenant, "slack")
    if integration is None or not integration.credentials or not integration.is_active:
        return None
    values = keyring.with_secrets(integration.config, integration.credentials)
    return await factory.get(tenant, integration.id, "slack", values)
