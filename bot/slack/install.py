"""Multi-workspace Slack install: installations kept in our database, one tenant per workspace."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import select, update

from bot.core.services import Services
from storage import admin
from storage import events as events_repo
from storage.schema import Integration, Tenant

STATE_SECONDS = 600
log = logging.getLogger("chatops.slack.install")


class SignedStateStore(AsyncOAuthStateStore):
    """OAuth `state` values signed with a key of this bot: valid in any process, for ten minutes."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        body = f"{int(time.time()) + STATE_SECONDS}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._mac(body)}"

    async def async_consume(self, state: str) -> bool:
        body, _, mac = state.rpartition(".")
        expires = body.split(".", 1)[0]
        return (
            hmac.compare_digest(mac, self._mac(body))
            and expires.isdigit()
            and int(expires) >= time.time()
        )


class DatabaseInstallationStore(AsyncInstallationStore):
    """Each workspace's bot token as its tenant's `Slack` integration, encrypted at rest."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk's store interface asks for."""
        return log

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        """Create (or refresh) the workspace's tenant and its Slack integration."""
        team = str(bot.team_id)
        token = self.services.keyring.encrypt(
            {"bot_token": bot.bot_token, "bot_id": bot.bot_id, "bot_user_id": bot.bot_user_id}
        )
        async with self.services.db.session() as session, session.begin():
            tenant = await session.scalar(select(Tenant.id).where(Tenant.slack_team_id == team))
            if tenant is None:
                await events_repo.ensure_tenant(session, "default")
                bound = await session.execute(
                    update(Tenant)
                    .where(Tenant.id == "default", Tenant.slack_team_id.is_(None))
                    .values(slack_team_id=team)
                )
                tenant = "default" if bound.rowcount else f"slack-{team}"  # type: ignore[attr-defined]
                if tenant != "default":
                    await events_repo.ensure_tenant(session, tenant)
                    await session.execute(
                        update(Tenant)
                        .where(Tenant.id == tenant)
                        .values(slack_team_id=team, name=str(bot.team_name or team))
                    )
            row = await admin.chat_integration(session, tenant, "slack", create_as="slack install")
            assert row is not None
            row.config = {"team_id": team, "team_name": bot.team_name or ""}
            row.credentials = token
            row.is_active = True
            row.connection_status = "connected"
            row.connection_error = None
        self.services.ingest.cache.invalidate()

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The bot of a workspace, for Bolt to answer its requests with."""
        async with self.services.db.session() as session:
            row = (
                await session.scalars(
                    select(Integration)
                    .join(Tenant, Tenant.id == Integration.tenant_id)
                    .where(
                        Tenant.slack_team_id == team_id,
                        Integration.type == "slack",
                        Integration.name == admin.CHAT_INTEGRATIONS["slack"],
                        Integration.is_active.is_(True),
                    )
                )
            ).first()
        if row is None:
            return None
        secret = self.services.keyring.decrypt(row.credentials)
        return Bot(
            team_id=team_id,
            team_name=(row.config or {}).get("team_name"),
            bot_token=secret["bot_token"],
            bot_id=secret.get("bot_id") or "",
            bot_user_id=secret.get("bot_user_id") or "",
            installed_at=time.time(),
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        return Installation(
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            user_id=user_id or "",
        )
