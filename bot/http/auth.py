"""Who calls the REST API and the alert hooks: the operator token, or one tenant's API key.

The operator token (CHATOPS_API_TOKEN) acts in every tenant. A key acts in its own tenant
only, within its scope: naming another tenant, or reaching another tenant's alert, is a 404.
"""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from bot.core.keys import OPERATOR, KeyService, Principal
from bot.infra.web import ApiError, Handler
from domain import By, Scope

PROTECTED = ("/api/v1/", "/hooks/")
# Provider webhooks carry the provider's signature instead of our token.
SIGNED_HOOK = re.compile(r"^/hooks/(?!alertmanager$|grafana$)[^/]+$")
# A heartbeat's secret ping URL carries its own key, for systems that cannot set headers.
SECRET_PING = re.compile(r"^/hooks/heartbeats/[^/]+/[^/]+$")
PUBLIC = ("/api/v1/openapi.json",)  # the published API document asks no key
PRINCIPAL = web.RequestKey("principal", Principal)


def needed_scope(method: str, path: str) -> Scope:
    """The least scope a request needs: reading alerts, writing events, or administering."""
    if path.startswith("/api/v1/events"):
        return Scope.EVENTS_READ if method in ("GET", "HEAD") else Scope.EVENTS_WRITE
    if path in ("/hooks/alertmanager", "/hooks/grafana") or path.startswith("/hooks/heartbeats/"):
        return Scope.EVENTS_WRITE
    return Scope.ADMIN


def principal_of(request: web.Request) -> Principal:
    """The caller the middleware admitted (the operator for unprotected paths)."""
    found = request.get(PRINCIPAL)
    return found if isinstance(found, Principal) else OPERATOR


ACTOR_HEADER = "X-ChatOps-Actor"  # the operator may name who a change is made for
ACTOR_NAME = re.compile(r"[\w.@:+-]{1,64}")


def by_of(request: web.Request) -> By:
    """Who a REST change is audited as: `key:<name>` for a tenant's key; `operator` for the
    operator token, or `operator:<name>` when it names someone in X-ChatOps-Actor."""
    who = principal_of(request)
    if who.tenant is not None:
        return By(f"key:{who.name}", "api")
    named = request.headers.get(ACTOR_HEADER, "").strip()
    if named and not ACTOR_NAME.fullmatch(named):
        raise ApiError(400, "bad_actor", f"{ACTOR_HEADER}: 1 to 64 letters, digits or .@:+-_")
    return By(f"operator:{named}" if named else "operator", "api")


def scoped_tenant(request: web.Request, named: str | None, default: str | None) -> str | None:
    """The tenant a request acts in: a key's own (another one named is a 404), else `named`."""
    who = principal_of(request)
    if who.tenant is None:
        return named if named is not None else default
    if named is not None and named != who.tenant:
        raise ApiError(404, "not_found", f"no tenant {named[:64]!r} for this key")
    return who.tenant


def bearer_auth(token: str | None, keys: KeyService) -> object:
    """A middleware admitting the operator token or a live API key on protected paths."""
    expected = token.encode() if token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if (
            path.startswith(PROTECTED)
            and not SIGNED_HOOK.match(path)
            and not SECRET_PING.match(path)
            and path not in PUBLIC
        ):
            request[PRINCIPAL] = await _admit(request, expected, keys)
        return await handler(request)

    return middleware


async def _admit(request: web.Request, expected: bytes | None, keys: KeyService) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        if expected is None:
            raise ApiError(
                401,
                "api_disabled",
                "send an API key (chatops keys api create) or set CHATOPS_API_TOKEN, "
                "as Authorization: Bearer <key>",
            )
        raise ApiError(401, "missing_token", "send Authorization: Bearer <token>")
    if expected is not None and hmac.compare_digest(given.encode(), expected):
        return OPERATOR
    who = await keys.verify(given)
    if who is None:
        raise ApiError(401, "bad_token", "the bearer token is wrong, or the key was revoked")
    needed = needed_scope(request.method, request.path)
    if not who.allows(needed):
        raise ApiError(
            403,
            "insufficient_scope",
            f"this key has scope {who.scope.value}; {needed.value} needed",
        )
    return who
