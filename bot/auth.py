"""Bearer-token authentication for the REST API and the alert hooks."""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from bot.errors import ApiError, Handler

PROTECTED = ("/api/v1/", "/hooks/")
# Provider webhooks carry the provider's signature instead of our token.
SIGNED_HOOK = re.compile(r"^/hooks/(?!alertmanager$|grafana$)[A-Za-z0-9_-]+$")


def bearer_auth(token: str | None) -> object:
    """A middleware refusing protected paths without `Authorization: Bearer <token>`."""
    expected = token.encode() if token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PROTECTED) and not SIGNED_HOOK.match(request.path):
            if expected is None:
                raise ApiError(
                    401,
                    "api_disabled",
                    "the REST API is off: set CHATOPS_API_TOKEN and send it as a bearer token",
                )
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not given:
                raise ApiError(401, "missing_token", "send Authorization: Bearer <token>")
            if not hmac.compare_digest(given.strip().encode(), expected):
                raise ApiError(401, "bad_token", "the bearer token is wrong")
        return await handler(request)

    return middleware
