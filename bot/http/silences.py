"""REST for silences (`GET, POST /api/v1/silences`, `DELETE /api/v1/silences/{id}` expires
one) and inhibition rules (`GET, POST /api/v1/inhibit-rules`, `DELETE .../{id}`)."""

from __future__ import annotations

from aiohttp import web

from bot.core.alerts import inhibition, muting, windows
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


async def list_rules(request: web.Request) -> web.Response:
    found = await inhibition.listed(request.app[SERVICES].db, tenant_of(request))
    return web.json_response({"data": found})


async def create_rule(request: web.Request) -> web.Response:
    body = await json_object(request)
    services = request.app[SERVICES]
    made = await inhibition.create(services.db, tenant_of(request), body, by_of(request))
    services.config_changed()
    return web.json_response({"data": made}, status=201)


async def remove_rule(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    rule_id = request.match_info["rule_id"]
    await inhibition.remove(services.db, tenant_of(request), rule_id, by_of(request))
    services.config_changed()
    return web.json_response({"data": {"removed": rule_id}})


async def list_intervals(request: web.Request) -> web.Response:
    found = await windows.listed(request.app[SERVICES].db, tenant_of(request))
    return web.json_response({"data": found})


async def create_interval(request: web.Request) -> web.Response:
    body = await json_object(request)
    services = request.app[SERVICES]
    made = await windows.create(services.db, tenant_of(request), body, by_of(request))
    services.config_changed()
    return web.json_response({"data": made}, status=201)


async def remove_interval(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"]
    await windows.remove(services.db, tenant_of(request), name, by_of(request))
    services.config_changed()
    return web.json_response({"data": {"removed": name}})


def register(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/time-intervals", list_intervals)
    r.add_post("/api/v1/time-intervals", create_interval)
    r.add_delete("/api/v1/time-intervals/{name}", remove_interval)
    r.add_get("/api/v1/inhibit-rules", list_rules)
    r.add_post("/api/v1/inhibit-rules", create_rule)
    r.add_delete("/api/v1/inhibit-rules/{rule_id}", remove_rule)
    r.add_get("/api/v1/silences", list_silences)
    r.add_post("/api/v1/silences", create_silence)
    r.add_delete("/api/v1/silences/{silence_id}", expire_silence)
