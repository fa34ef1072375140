"""What the REST handlers share: the tenant a request is about, paging, JSON object bodies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.http.auth import scoped_tenant
from bot.infra.web import ApiError, read_json


def tenant_of(request: web.Request) -> str:
    """The tenant a request is about: a key's own; for the operator `?tenant=` or `default`."""
    return scoped_tenant(request, request.query.get("tenant"), "default") or "default"


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body, which must be a JSON object."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return body


MAX_OFFSET = 1_000_000_000


def page_args(request: web.Request, default: int = 50) -> tuple[int, int]:
    """`limit` (1-500) and `offset` (0 or more) from the query string."""
    try:
        limit = int(request.query.get("limit", default))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise ApiError(400, "bad_query", "limit and offset must be whole numbers") from None
    if not 1 <= limit <= 500 or not 0 <= offset <= MAX_OFFSET:
        raise ApiError(400, "bad_query", f"limit must be 1 to 500 and offset 0 to {MAX_OFFSET:,}")
    return limit, offset
