"""`GET /api/v1/audit`: the trail of changes and actions, newest first, within the caller's
tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.core import audit
from bot.core.services import Services
from bot.http.answers import AuditTrail
from bot.http.app_keys import SERVICES
from bot.http.auth import scoped_tenant
from bot.http.openapi import operation, query_of
from bot.http.schemas import AuditQuery
from bot.infra.web import ApiError


@operation(
    "The audit trail, newest first",
    tag="audit",
    query=AuditQuery,
    answers={200: AuditTrail},
)
async def list_audit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    query = query_of(request, AuditQuery)
    try:
        since = audit.since_of(query.since, datetime.now(UTC))
    except ValueError:
        raise ApiError(400, "bad_query", "since is a duration (1d, 4h) or an ISO time") from None
    limit = query.limit
    entries = await audit.trail(
        services.db,
        scoped_tenant(request, query.tenant, None),
        since=since,
        actor=query.actor or None,
        kind=query.kind or None,
        limit=limit,
    )
    return web.json_response({"entries": [e.document() for e in entries], "limit": limit})


def register(app: web.Application, services: Services) -> None:
    """Add `/api/v1/audit`."""
    app.router.add_get("/api/v1/audit", list_audit)
