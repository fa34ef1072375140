"""Slack: post cards with chat.postMessage, update them in place with chat.update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import (
    AdapterError,
    AuthError,
    BadConfig,
    BaseAdapter,
    RateLimited,
    Unavailable,
    retry_after_seconds,
)
from adapters.egress import ForbiddenTarget, check_target, checked_session
from cards.blockkit import alert_blocks, digest_blocks, group_blocks, plain
from cards.style import slack_escape
from domain import Delivered, DeliveryKind, Outgoing

log = logging.getLogger(__name__)

API_URL = "https://slack.com/api/"

# Errors that mean the token is gone: the integration is disconnected and admins are told.
TOKEN_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}
ERROR_HELP = {
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel; invite it with /invite @ChatOps",
    "is_archived": "the channel is archived",
    "message_not_found": "the card to update was deleted",
    "invalid_auth": "the bot token is not valid",
    "token_revoked": "the bot token was revoked (the app was uninstalled?)",
    "msg_too_long": "the message is too long for Slack",
}


class TokenRevoked(AuthError):
    """Slack no longer accepts the token: disconnect the integration and tell the admins."""


@dataclass(frozen=True)
class SlackConfig:
    """A bot token and the channel to post in."""

    bot_token: str = field(repr=False)
    channel: str = ""
    api_url: str = API_URL
    allow_private: bool = False


def parse_ref(ref: str) -> tuple[str, str]:
    """`C123:1712345678.000100` into channel and timestamp."""
    channel, _, ts = ref.partition(":")
    if not channel or not ts:
        raise BadConfig(f"slack: not a message reference: {ref!r}")
    return channel, ts


@contextlib.contextmanager
def translate_slack_errors() -> Iterator[None]:
    """Slack's error answers as the adapter error hierarchy, each with what to do about it."""
    try:
        yield
    except SlackApiError as exc:
        raise _translate(exc) from None
    except aiohttp.ClientConnectorError as exc:  # the resolver refused the address: a setting
        if isinstance(exc.os_error, ForbiddenTarget):
            raise BadConfig(f"slack: {exc.os_error}") from None
        raise Unavailable(f"slack: {type(exc).__name__}: {exc}") from None
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise Unavailable(f"slack: {type(exc).__name__}: {exc}") from None


def _translate(exc: SlackApiError) -> AdapterError:
    status = int(getattr(exc.response, "status_code", 0) or 0)
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error", "unknown_error"))
    detail = f"slack: {error}" + (f" ({ERROR_HELP[error]})" if error in ERROR_HELP else "")
    if status == 429 or error in ("ratelimited", "rate_limited"):
        headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
        wait = retry_after_seconds(headers.get("retry-after"), 1.0)
        return RateLimited(detail, retry_after=wait, status_code=429)
    if error in TOKEN_ERRORS:
        return TokenRevoked(detail, status_code=status or 200)
    if status >= 500 or error in ("fatal_error", "request_timeout", "service_unavailable"):
        return Unavailable(detail, status_code=status or 200)
    return BadConfig(detail, status_code=status or 200)


USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")  # a person: their DM; channels start with C, G or D
REPLY_WAIT_MAX = 5.0  # seconds a rate-limited thread reply waits before its second try


def _retry_after(exc: SlackApiError) -> float | None:
    """Retry-After of a rate-limited call, or None when it was refused for another reason."""
    if exc.response.status_code != 429:
        return None
    return retry_after_seconds(exc.response.headers.get("Retry-After"), 1.0)


class SlackAdapter(BaseAdapter):
    """Sends Block Kit cards; the message reference is `channel:ts`."""

    kind = "slack"

    def __init__(self, config: SlackConfig, client: AsyncWebClient | None = None) -> None:
        if not config.bot_token:
            raise BadConfig("slack: bot_token is empty")
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        self._client = client or self._pinned_client()
        self._direct: dict[str, str] = {}  # a user's id -> the id of their DM with the bot
        self._checked = False  # the API's URL passed check_target (once per adapter)

    def _pinned_client(self) -> AsyncWebClient:
        """The SDK's client on a session that connects only to checked addresses, so the
        host the SDK resolves cannot differ from the one `check_target` approved."""
        self._session = checked_session(allow_private=self._config.allow_private)
        return AsyncWebClient(
            token=self._config.bot_token,
            base_url=self._config.api_url,
            timeout=10,
            session=self._session,
        )

    async def disconnect(self) -> None:
        """Close the pinned session."""
        if self._session is not None:
            await self._session.close()

    async def _check_api(self) -> None:
        """The API's URL and the addresses it resolves to, checked once; after that the
        pinned session's resolver checks every address it connects to."""
        if not self._checked:
            await check_target(self._config.api_url, allow_private=self._config.allow_private)
            self._checked = True

    async def send(self, message: Outgoing) -> Delivered:
        """Post a new card, or update the one in `message.ref`."""
        await self._check_api()
        payload = self.render(message)
        with translate_slack_errors():
            if message.ref:
                channel, ts = parse_ref(message.ref)
                resp = await self._client.chat_update(channel=channel, ts=ts, **payload)
                await self._thread_reply(channel, ts, message.notes)
                return Delivered(status_code=resp.status_code, ref=message.ref)
            if not self._config.channel:
                raise BadConfig("slack: no channel to post in")
            channel = await self._where(self._config.channel)
            resp = await self._client.chat_postMessage(channel=channel, **payload)
        return Delivered(status_code=resp.status_code, ref=f"{resp['channel']}:{resp['ts']}")

    async def _where(self, channel: str) -> str:
        """The conversation to post in: a user's id means a direct message, opened with
        conversations.open (the same DM each time; kept once known)."""
        if not USER_ID.fullmatch(channel):
            return channel
        if channel not in self._direct:
            resp = await self._client.conversations_open(users=channel)
            self._direct[channel] = str(resp["channel"]["id"])
        return self._direct[channel]

    async def _thread_reply(self, channel: str, ts: str, notes: tuple[str, ...]) -> None:
        """What changed, as a reply under the card; the card itself is already updated.

        Slack paces replies with the channel's messages: a rate-limited reply waits for its
        Retry-After (a few seconds at most) and is tried once more, then logged and dropped
        rather than holding the update.
        """
        if not notes:
            return
        for attempt in range(2):
            try:
                await self._client.chat_postMessage(
                    channel=channel,
                    thread_ts=ts,
                    text=slack_escape("\n".join(notes)),  # notifications; the block shows
                    blocks=[{"type": "section", "text": plain("\n".join(notes))}],  # not mrkdwn
                )
                return
            except SlackApiError as exc:
                wait = _retry_after(exc)
                if attempt == 0 and wait is not None and wait <= REPLY_WAIT_MAX:
                    await asyncio.sleep(wait)
                    continue
                error = str(exc.response.get("error"))
                log.warning("thread reply not posted", extra={"error": error})
                return

    async def announce(self, text: str) -> None:
        """A plain line in the channel (no mentions or formatting from the text)."""
        await self._check_api()
        if not self._config.channel:
            raise BadConfig("slack: no channel to post in")
        with translate_slack_errors():
            channel = await self._where(self._config.channel)
            for attempt in range(2):  # rate-limited: wait its Retry-After (a second) once
                try:
                    await self._client.chat_postMessage(
                        channel=channel,
                        text=slack_escape(text),
                        blocks=[{"type": "section", "text": plain(text)}],
                    )
                    return
                except SlackApiError as exc:
                    wait = _retry_after(exc)
                    if attempt or wait is None or wait > REPLY_WAIT_MAX:
                        raise
                    await asyncio.sleep(wait)

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        """usergroups.users.update: the group holds exactly `users` (Slack refuses an empty
        list, so a group with nobody on call keeps its last member and says so)."""
        await check_target(self._config.api_url, allow_private=self._config.allow_private)
        if not users:
            raise BadConfig("slack: a user group cannot be emptied; nobody is on call")
        with translate_slack_errors():
            await self._client.usergroups_users_update(usergroup=usergroup, users=users)

    async def user_by_email(self, email: str) -> str | None:
        """users.lookupByEmail (scope users:read.email): their user id, or None."""
        await check_target(self._config.api_url, allow_private=self._config.allow_private)
        try:
            resp = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            raise _translate(exc) from None
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise Unavailable(f"slack: {type(exc).__name__}: {exc}") from None
        return str(resp["user"]["id"])

    async def test(self) -> str:
        """auth.test: the token works, and for which workspace and bot."""
        await check_target(self._config.api_url, allow_private=self._config.allow_private)
        with translate_slack_errors():
            resp = await self._client.auth_test()
        return f"connected to {resp.get('team', '?')} as {resp.get('user', '?')}"

    @staticmethod
    def render(message: Outgoing) -> dict[str, Any]:
        """The Block Kit message for what is being sent."""
        now = datetime.now(UTC)
        if message.digest is not None and message.digest.group is not None:
            return group_blocks(
                message.digest, now, public_url=message.public_url, offered=message.verbs
            )
        if message.kind is DeliveryKind.DIGEST and message.digest is not None:
            return digest_blocks(message.digest, now, public_url=message.public_url)
        if message.alert is None:
            raise BadConfig("slack: nothing to send")
        return alert_blocks(
            message.alert, now, public_url=message.public_url, offered=message.verbs
        )
