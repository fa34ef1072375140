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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol

import httpx

from bot.model import Delivered, Outgoing


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


class Adapter(Protocol):
    """What the delivery workers need from a destination."""

    kind: str

    async def send(self, message: Outgoing) -> Delivered:
        """Deliver a message; raise an AdapterError on failure."""
        ...

    async def test(self) -> str:
        """Check the connection; return a short description, or raise an AdapterError."""
        ...


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


def raise_for_status(kind: str, resp: httpx.Response, *, default_retry_after: float = 30.0) -> None:
    """Translate an HTTP error answer into the adapter error hierarchy."""
    code = resp.status_code
    if code < 400:
        return
    detail = f"{kind}: HTTP {code}: {resp.text[:300]}".rstrip(": ")
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
        raise Unavailable(f"{kind}: {type(exc).__name__}: {exc}") from exc
