"""REST for silences: `GET, POST /api/v1/silences`, `DELETE /api/v1/silences/{id}` (expire)."""

from __future__ import annotations

from aiohttp import web

from bot.core.alerts import muting
from bot.core.services import SERVICES
from bot.http.auth import by_of
from bot.http.common import json_object, tenant_of


async def list_silences(request: web.Request) -> web.Response:
    ended = request.query.get("ended", "").lower() == "true"
    found = await muting.listed(request.app[SERVICES].db, tenant_of(request), ended=ended)
    return web.json_response({"data": found})


async def create_silence(request: web.Request) -> web.Response:
    body = await json_object(request)
    services = request.app[SERVICES]
    made = await muting.create(services.db, tenant_of(request), body, by_of(request))
    services.config_changed()
    return web.json_response({"data": made}, status=201)


async def expire_silence(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ended = await muting.expire(
        services.db, tenant_of(request), request.match_info["silence_id"], by_of(request)
    )
    services.config_changed()
    return web.json_response({"data": ended})


def register(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/silences", list_silences)
    r.add_post("/api/v1/silences", create_silence)
    r.add_delete("/api/v1/silences/{silence_id}", expire_silence)
