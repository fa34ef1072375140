"""Microsoft Teams: proactive Adaptive Cards through the Bot Connector, or a Workflows webhook."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from adapters.base import (
    AdapterError,
    AuthError,
    BadConfig,
    BaseAdapter,
    Health,
    json_object,
    raise_for_status,
    translate_errors,
)
from adapters.egress import Answer, CheckedPoster, check_target
from adapters.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from cards.adaptive import (
    CARD_CONTENT_TYPE,
    alert_card,
    change_line_card,
    reply_card_of,
    teams_message,
)
from cards.adaptive_groups import digest_card, group_card
from domain import Delivered, DeliveryKind, Outgoing

log = logging.getLogger(__name__)

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SCOPE = "https://api.botframework.com/.default"


@dataclass(frozen=True)
class TeamsConfig:
    """Either a conversation reached through the Bot Connector, or a Workflows webhook URL."""

    service_url: str = ""
    conversation_id: str = ""
    app_id: str = ""
    app_password: str = field(default="", repr=False)
    tenant_id: str = "botframework.com"
    webhook_url: str = field(default="", repr=False)  # Workflows URLs carry their signature
    webhook_secret: str = field(default="", repr=False)
    allow_private: bool = False
    user_id: str = ""  # a person (29:... or AAD object id): their 1:1 chat with the bot
    teams_tenant: str = ""  # their Entra tenant, which creating that chat names


class BotToken:
    """A client-credentials token for the Bot Connector, fetched when needed and cached."""

    def __init__(self, config: TeamsConfig, http: httpx.AsyncClient) -> None:
        self._config, self._http = config, http
        self._token = ""
        self._expires = 0.0

    async def header(self) -> dict[str, str]:
        """`Authorization: Bearer ...`, or nothing in local mode (no app id)."""
        if not self._config.app_id:
            return {}
        if time.monotonic() >= self._expires:
            url = TOKEN_URL.format(tenant=self._config.tenant_id or "botframework.com")
            with translate_errors("teams"):
                resp = await self._http.post(
                    url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self._config.app_id,
                        "client_secret": self._config.app_password,
                        "scope": SCOPE,
                    },
                )
            if resp.status_code >= 400:
                raise AuthError(
                    f"teams: the app id or password was refused ({resp.status_code})",
                    status_code=resp.status_code,
                )
            data = resp.json()
            self._token = str(data["access_token"])
            self._expires = time.monotonic() + max(60, int(data.get("expires_in", 3600)) - 300)
        return {"Authorization": f"Bearer {self._token}"}


def render(message: Outgoing, *, send_only: bool = False) -> dict[str, Any]:
    """The Adaptive Card for what is being sent.

    A send-only channel (a Workflows webhook) has no bot to receive a click and cannot edit
    what it posted: its cards offer links only, and a change is one short line, not the
    whole card again."""
    now = datetime.now(UTC)
    if message.digest is not None and message.digest.group is not None:
        offered = frozenset() if send_only else message.verbs
        return group_card(message.digest, now, public_url=message.public_url, offered=offered)
    if message.kind is DeliveryKind.DIGEST and message.digest is not None:
        return digest_card(message.digest, now, public_url=message.public_url)
    if message.alert is None:
        raise BadConfig("teams: nothing to send")
    if send_only and message.kind is DeliveryKind.UPDATE:
        return change_line_card(message.alert)
    offered = frozenset() if send_only else message.verbs
    return alert_card(message.alert, now, public_url=message.public_url, offered=offered)


class TeamsAdapter(BaseAdapter):
    """Posts cards proactively and updates them in place; the reference is the activity id."""

    kind = "teams"

    def __init__(
        self, config: TeamsConfig, http: httpx.AsyncClient, *, timeout: float = 10.0
    ) -> None:
        self._config = config
        self._token = BotToken(config, http)  # fetched once an hour: httpx is fine there
        # cards and their updates: kept-alive connections to checked addresses
        self._http = CheckedPoster(self.kind, allow_private=config.allow_private, timeout=timeout)
        self._personal = ""  # the 1:1 conversation created for `user_id`, once made

    async def disconnect(self) -> None:
        """Close the kept-alive connections."""
        await self._http.close()

    async def send(self, message: Outgoing) -> Delivered:
        """A new card in the conversation, or an update of the one in `message.ref`."""
        send_only = bool(self._config.webhook_url)
        card = render(message, send_only=send_only)
        if send_only:
            return await self._post_webhook(card, message.delivery_id)
        base, conversation = self._conversation()
        activity = {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        headers = await self._token.header()
        if not conversation:
            conversation = await self._open_personal(base, headers)
        path = f"{base}/v3/conversations/{quote(conversation, safe='')}/activities"
        if message.ref:
            activity["id"] = message.ref
            url = f"{path}/{quote(message.ref, safe='')}"
            resp = await self._call("PUT", url, activity, headers)
        else:
            resp = await self._call("POST", path, activity, headers)
        if message.ref and message.notes:
            await self._reply(f"{path}/{quote(message.ref, safe='')}", message.notes, headers)
        ref = message.ref or str(json_object(resp).get("id", ""))
        return Delivered(status_code=resp.status_code, ref=ref or None)

    async def _call(
        self, method: str, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> Answer:
        """A JSON request to the Bot Connector; an error answer raises (`raise_for_status`)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        resp = await self._http.send(
            method, url, body, {**headers, "Content-Type": "application/json"}
        )
        raise_for_status(self.kind, resp)
        return resp

    async def _reply(self, url: str, notes: tuple[str, ...], headers: dict[str, str]) -> None:
        """What changed, as a reply to the card (a thread in a channel); the card itself is
        already updated. Best effort, like Slack's thread replies: a failure is logged."""
        card = reply_card_of(notes)
        reply = {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        try:
            await self._call("POST", url, reply, headers)
        except AdapterError as exc:
            log.warning("teams reply not posted", extra={"error": str(exc)})

    async def announce(self, text: str) -> None:
        """A one-line card in the conversation (or through the Workflows webhook)."""
        card = reply_card_of((text,))
        if self._config.webhook_url:
            await self._post_webhook(card, "announcement")
            return
        base, conversation = self._conversation()
        headers = await self._token.header()
        if not conversation:
            conversation = await self._open_personal(base, headers)
        activity = {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        path = f"{base}/v3/conversations/{quote(conversation, safe='')}/activities"
        await self._call("POST", path, activity, headers)

    async def health_check(self) -> Health:
        """Never posts into a channel: in webhook mode the URL is only checked (it must pass
        the target guard and resolve); the test card is posted only when an admin asks."""
        if not self._config.webhook_url:
            return await super().health_check()
        try:
            await check_target(self._config.webhook_url, allow_private=self._config.allow_private)
        except AdapterError as exc:
            return Health(False, str(exc))
        return Health(True, "the Workflows webhook URL resolves (no card posted by checks)")

    async def test(self) -> str:
        """Webhook mode: post a small card. Bot mode: get a token (when an app id is set)."""
        if self._config.webhook_url:
            card = {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [{"type": "TextBlock", "text": "ChatOps connection test"}],
            }
            await self._post_webhook(card, "test")
            return "the Workflows webhook accepted a test card"
        await self._token.header()
        return "bot credentials accepted" if self._config.app_id else "local mode: no credentials"

    def _conversation(self) -> tuple[str, str]:
        """The service URL and conversation; an empty conversation with a `user_id` means
        their 1:1 chat, created on the first send."""
        conversation = self._config.conversation_id or self._personal
        if not self._config.service_url or not (conversation or self._config.user_id):
            raise BadConfig("teams: no conversation to post in (install the bot in the channel)")
        return self._config.service_url.rstrip("/"), conversation

    async def _open_personal(self, base: str, headers: dict[str, str]) -> str:
        """Create (or find again: Teams answers with the same one) the person's 1:1 chat with
        the bot. Teams accepts their AAD object id where the app is installed for them."""
        body = {
            "bot": {"id": f"28:{self._config.app_id}" if self._config.app_id else "bot"},
            "isGroup": False,
            "members": [{"id": self._config.user_id}],
            "tenantId": self._config.teams_tenant,
            "channelData": {"tenant": {"id": self._config.teams_tenant}},
        }
        resp = await self._call("POST", f"{base}/v3/conversations", body, headers)
        conversation = str(json_object(resp).get("id") or "")
        if not conversation:
            raise AdapterError("teams: creating the 1:1 chat gave no conversation id")
        self._personal = conversation
        return conversation

    async def _post_webhook(self, card: dict[str, Any], delivery_id: str) -> Delivered:
        url = self._config.webhook_url
        body = json.dumps(teams_message(card), separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
        }
        if self._config.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self._config.webhook_secret, stamp, body)
        resp = await self._http.post(url, body, headers)
        raise_for_status(self.kind, resp)
        return Delivered(status_code=resp.status_code, ref=delivery_id)
