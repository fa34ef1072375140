"""`GET /api/v1/audit`: the trail of changes and actions, newest first, within the caller's
tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.core import audit
from bot.core.services import SERVICES, Services
from bot.http.auth import scoped_tenant
from bot.infra.web import ApiError


async def list_audit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    query = request.query
    try:
        since = audit.since_of(query.get("since"), datetime.now(UTC))
        limit = int(query.get("limit", "100"))
    except ValueError:
        raise ApiError(
            400, "bad_query", "since is a duration (1d, 4h) or an ISO time; limit a number"
        ) from None
    if not 1 <= limit <= audit.MAX_LISTED:
        raise ApiError(400, "bad_query", f"limit is 1 to {audit.MAX_LISTED}")
    entries = await audit.trail(
        services.db,
        scoped_tenant(request, query.get("tenant"), None),
        since=since,
        actor=query.get("actor") or None,
        kind=query.get("kind") or None,
        limit=limit,
    )
    return web.json_response({"entries": [e.document() for e in entries], "limit": limit})


def register(app: web.Application, services: Services) -> None:
    """Add `/api/v1/audit`."""
    app.router.add_get("/api/v1/audit", list_audit)
