"""The adapter protocol and the one error hierarchy every adapter raises from.

An adapter is a class with a typed config and an injected `httpx.AsyncClient`::

    class EchoAdapter:
        kind = "echo"

        def __init__(self, config: EchoConfig, http: httpx.AsyncClient) -> None:
            self._config, self._http = config, http

        async def send(self, message: Outgoing) -> Delivered:
            resp = await self._http.post(self._config.url, json={"id": message.delivery_id})
            raise_for_status(self.kind, resp)
            return Delivered(status_code=resp.status_code)

        async def test(self) -> str:
            return "reachable"
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from cards.redact import scrub_urls
from domain import Delivered, Outgoing


class AdapterError(Exception):
    """A send or test failed; `status_code` is the destination's answer, if any."""

    retryable = True

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RateLimited(AdapterError):
    """The destination asked us to slow down; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, status_code: int | None = 429) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class Unavailable(AdapterError):
    """The destination is down or unreachable for now (5xx, timeouts, refused connections)."""


class AuthError(AdapterError):
    """The credentials were refused; retrying will not help until someone fixes them."""

    retryable = False


class BadConfig(AdapterError):
    """The integration's settings are wrong, or the destination refused the request as invalid."""

    retryable = False


class NotSupported(AdapterError):
    """The provider cannot do this (sync, webhooks): its capabilities say so."""

    retryable = False


SyncKind = Literal["full", "incremental"]


@dataclass(frozen=True)
class SyncRequest:
    """What a sync asks for: everything, or what changed since `cursor`.

    `refs` are the references of the open alerts the bot sent through this integration;
    providers that look records up one by one (Jira issues, ServiceNow incidents) read them.
    """

    kind: SyncKind = "incremental"
    cursor: str | None = None
    entities: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteState:
    """The state of one record on the provider's side (an incident, an issue, an alert).

    `ref` is what `send` returned as the message reference, so the bot can find its alert.
    `state` is `triggered`, `acknowledged` or `resolved`; `by` names who changed it there.
    """

    ref: str
    state: str
    by: str = ""
    title: str = ""


@dataclass(frozen=True)
class SyncResult:
    """What a sync found, and where the next incremental sync starts."""

    records: tuple[RemoteState, ...] = ()
    cursor: str | None = None
    failed: int = 0


@dataclass(frozen=True)
class Health:
    """A health check's answer; `expires_at` when the provider tells when credentials lapse."""

    ok: bool
    detail: str
    expires_at: datetime | None = None
    credentials_refused: bool = False  # the provider said 401/403: someone must fix them


@dataclass(frozen=True)
class Inbound:
    """A provider webhook, verified and read: its event type and the records it changes."""

    event_type: str
    records: tuple[RemoteState, ...] = ()


class Adapter(Protocol):
    """What the bot needs from a provider: send, test, and the integration lifecycle.

    Providers without a capability raise `NotSupported` from its methods; `BaseAdapter`
    gives those defaults, so a provider only writes what it can do.
    """

    kind: str

    async def send(self, message: Outgoing) -> Delivered:
        """Deliver a message; raise an AdapterError on failure."""
        ...

    async def test(self) -> str:
        """Check the connection; return a short description, or raise an AdapterError."""
        ...

    async def connect(self) -> None:
        """Prepare clients or tokens before first use; idempotent."""
        ...

    async def disconnect(self) -> None:
        """Release what `connect` took."""
        ...

    async def health_check(self) -> Health:
        """Whether the provider answers and accepts the credentials, never raising."""
        ...

    async def sync(self, request: SyncRequest) -> SyncResult:
        """Read the provider's state of the records the bot sent there."""
        ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether an inbound webhook carries this integration's valid signature."""
        ...

    async def announce(self, text: str) -> None:
        """Say one line in the channel (a shift hand-off), not tied to an alert."""
        ...

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        """Make a chat user group hold exactly these users (the on-call of a schedule)."""
        ...

    async def user_by_email(self, email: str) -> str | None:
        """The chat user id of whoever has this e-mail address, or None."""
        ...

    def process_webhook(self, payload: Any) -> Inbound:
        """Read a verified webhook's payload into the records it changes."""
        ...


class BaseAdapter:
    """Defaults for the optional parts of the Adapter protocol."""

    kind = "base"

    async def test(self) -> str:
        """Providers override this with a real request."""
        raise NotSupported(f"{self.kind}: no connection test")

    async def connect(self) -> None:
        """Nothing to prepare by default."""

    async def disconnect(self) -> None:
        """Nothing to release by default."""

    async def health_check(self) -> Health:
        """The connection test, its failure turned into an unhealthy answer."""
        try:
            return Health(True, await self.test())
        except AuthError as exc:
            return Health(False, str(exc), credentials_refused=True)
        except AdapterError as exc:
            return Health(False, str(exc))

    async def sync(self, request: SyncRequest) -> SyncResult:
        """Providers that sync override this."""
        raise NotSupported(f"{self.kind}: does not sync")

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Providers that take webhooks override this; nothing verifies by default."""
        return False

    def process_webhook(self, payload: Any) -> Inbound:
        """Providers that take webhooks override this."""
        raise NotSupported(f"{self.kind}: takes no webhooks")

    async def announce(self, text: str) -> None:
        """Chat platforms override this."""
        raise NotSupported(f"{self.kind}: cannot announce in a channel")

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        """Slack overrides this."""
        raise NotSupported(f"{self.kind}: has no user groups")

    async def user_by_email(self, email: str) -> str | None:
        """Slack overrides this."""
        raise NotSupported(f"{self.kind}: cannot look people up")


def retry_after_seconds(value: str | None, default: float, *, now: datetime | None = None) -> float:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpAnswer(Protocol):
    """An HTTP answer read whole (httpx's response, or `egress.Answer`)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...


def json_object(resp: HttpAnswer) -> dict[str, Any]:
    """An answer's JSON body as an object; anything else (not JSON, a list) reads as empty."""
    try:
        value = json.loads(resp.text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def raise_for_status(
    kind: str,
    resp: HttpAnswer,
    *,
    default_retry_after: float = 30.0,
    message: str | None = None,
) -> None:
    """Translate an HTTP error answer into the adapter error hierarchy.

    `message` is the vendor's own error text when the caller has read it out of the body.
    """
    code = resp.status_code
    if code < 300:
        return
    if code < 400:  # not followed: the new place has not passed the SSRF check
        moved = urlsplit(resp.headers.get("Location", "")).hostname or "elsewhere"
        raise Unavailable(
            f"{kind}: HTTP {code}: redirected to {moved}; redirects are not followed, "
            "point the integration at the final URL",
            status_code=code,
        )
    detail = f"{kind}: HTTP {code}: {scrub_urls((message or resp.text)[:300])}".rstrip(": ")
    if code == 429:
        wait = retry_after_seconds(resp.headers.get("Retry-After"), default_retry_after)
        raise RateLimited(detail, retry_after=wait, status_code=code)
    if code in (401, 403):
        raise AuthError(detail, status_code=code)
    if code >= 500 or code in (408, 425):
        raise Unavailable(detail, status_code=code)
    raise BadConfig(detail, status_code=code)


@contextmanager
def translate_errors(kind: str) -> Iterator[None]:
    """Turn httpx transport failures into `Unavailable`, once, at the boundary."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise Unavailable(f"{kind}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"{kind}: {type(exc).__name__}: {scrub_urls(str(exc))}") from exc


def hmac_hex(secret: str, body: bytes, digest: str = "sha256") -> str:
    """The hex HMAC of a body, as signing webhooks use."""
    return hmac.new(secret.encode(), body, getattr(hashlib, digest)).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures."""
    return bool(given) and hmac.compare_digest(expected.encode(), given.strip().encode())
