"""What is checked before botbuilder sees an activity: token shape, service URL, body.

botbuilder's own token check fetches Microsoft's signing keys with a blocking call on the event
loop; the refresh here replaces it with one in a thread, one at a time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import jwt
import requests
from aiohttp import web
from botframework.connector.auth.jwt_token_extractor import _OpenIdMetadata
from jwt import PyJWTError

# Where Bot Framework channels say they live (Teams commercial, GCC, GCC High, DoD, China).
SERVICE_URL_HOSTS = (
    "smba.trafficmanager.net",
    "botframework.com",
    "botframework.us",
    "botframework.azure.us",
    "botframework.azure.cn",
    "teams.microsoft.com",
    "teams.microsoft.us",
    "infra.gov.teams.microsoft.us",
)


class ReadActivity:
    """The request with its body already read and checked, as botbuilder's `process` reads it."""

    def __init__(self, request: web.Request, body: dict[str, Any]) -> None:
        self.method, self.headers, self._body = request.method, request.headers, body

    async def json(self) -> dict[str, Any]:
        return self._body


def token_problem(header: str) -> str | None:
    """Why an Authorization header cannot be a Bot Framework token; None when it may be."""
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or token.count(".") != 2:
        return "no bearer JWT"
    try:
        head = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except PyJWTError:
        return "not a JWT"
    if head.get("alg") != "RS256" or not isinstance(head.get("kid"), str):
        return f"algorithm {str(head.get('alg'))[:10]!r}; Bot Framework signs with RS256"
    if not isinstance(claims.get("iss"), str):
        return "no issuer"
    return None


async def _refresh_keys_off_the_loop(metadata: Any) -> None:
    """Fetch the signing keys in a thread, once at a time, so the event loop never waits."""
    lock = _REFRESH_LOCKS.setdefault(metadata.url, asyncio.Lock())
    async with lock:
        if metadata.last_updated > datetime.now() - timedelta(minutes=1):
            return  # another request refreshed them while this one waited

        def fetch() -> list[dict[str, Any]]:
            config = requests.get(metadata.url, timeout=10)
            config.raise_for_status()
            keys = requests.get(config.json()["jwks_uri"], timeout=10)
            keys.raise_for_status()
            return list(keys.json()["keys"])

        metadata.keys = await asyncio.to_thread(fetch)
        metadata.last_updated = datetime.now()


_REFRESH_LOCKS: dict[str, asyncio.Lock] = {}
# botbuilder fetches the keys with a blocking `requests.get` inside the event loop; a burst of
# forged tokens would stall every other request. Its refresh is replaced by one in a thread.
_OpenIdMetadata._refresh = _refresh_keys_off_the_loop
