"""Multi-workspace Slack install: installations kept in our database, one tenant per workspace."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.core import tenants
from bot.core.services import Services

STATE_SECONDS = 600
log = logging.getLogger(__name__)


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
        await tenants.slack_installed(
            self.services,
            str(bot.team_id),
            str(bot.team_name or ""),
            {"bot_token": bot.bot_token, "bot_id": bot.bot_id, "bot_user_id": bot.bot_user_id},
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The bot of a workspace, for Bolt to answer its requests with."""
        if not team_id:
            return None
        found = await tenants.slack_bot(self.services, team_id)
        if found is None:
            return None
        secret = found.secrets
        return Bot(
            team_id=team_id,
            team_name=found.team_name,
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


SCOPES = (
    "chat:write",
    "commands",
    "users:read",
    "users:read.email",
    "im:write",
    "usergroups:write",
    "files:write",
)


def oauth_settings(services: Services) -> AsyncOAuthSettings:
    """Installs into any workspace, each kept as its own tenant in our database."""
    settings = services.settings
    assert settings.slack_client_secret is not None
    client_secret = settings.slack_client_secret.get_secret_value()
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=client_secret,
        scopes=list(SCOPES),
        redirect_uri=f"{settings.public_url.rstrip('/')}/slack/oauth_redirect",
        installation_store=DatabaseInstallationStore(services),
        installation_store_bot_only=True,
        state_store=SignedStateStore(hashlib.sha256(client_secret.encode()).digest()),
    )
