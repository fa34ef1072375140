"""Heartbeats over HTTP: pings (`POST` or `GET /hooks/heartbeats/{name}` with a tenant's key,
or the secret URL `/hooks/heartbeats/{name}/{key}` without one) and REST to keep them
(`/api/v1/heartbeats`)."""

from __future__ import annotations

from aiohttp import web

from bot.core import heartbeats
from bot.core.services import SERVICES
from bot.http.auth import by_of
from bot.http.common import json_object, tenant_of
from bot.infra.web import ApiError


async def ping(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"][:100]
    found = await heartbeats.ping(services, tenant=tenant_of(request), name=name)
    return web.json_response({"data": found})


async def secret_ping(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = request.match_info["token"][:100]
    found = await heartbeats.ping(services, name=request.match_info["name"], token=token)
    return web.json_response({"data": {"name": found["name"], "state": found["state"]}})


async def list_heartbeats(request: web.Request) -> web.Response:
    found = await heartbeats.listed(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": found})


async def create(request: web.Request) -> web.Response:
    body = await json_object(request)
    services = request.app[SERVICES]
    made, token = await heartbeats.create(services, tenant_of(request), body, by_of(request))
    services.config_changed()  # its watchdog, if it has one, pings from now on
    base = services.settings.public_url.rstrip("/")
    made["ping_url"] = f"{base}/hooks/heartbeats/{made['name']}/{token}"  # shown this once
    return web.json_response({"data": made}, status=201)


async def one(request: web.Request) -> web.Response:
    found = await heartbeats.one(
        request.app[SERVICES], tenant_of(request), request.match_info["name"]
    )
    return web.json_response({"data": found})


async def remove(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    services = request.app[SERVICES]
    await heartbeats.remove(services, tenant_of(request), name, by_of(request))
    services.config_changed()
    return web.json_response({"data": {"removed": name}})


async def pause(request: web.Request) -> web.Response:
    body = await json_object(request) if request.body_exists else {}
    duration = body.get("duration")
    if duration is not None and not isinstance(duration, str):
        raise ApiError(
            400, "bad_request", "duration: a duration such as 2h (or none: until resumed)"
        )
    found = await heartbeats.pause(
        request.app[SERVICES],
        tenant_of(request),
        request.match_info["name"],
        by_of(request),
        duration,
    )
    return web.json_response({"data": found})


async def resume(request: web.Request) -> web.Response:
    found = await heartbeats.resume(
        request.app[SERVICES], tenant_of(request), request.match_info["name"], by_of(request)
    )
    return web.json_response({"data": found})


def register(app: web.Application) -> None:
    r = app.router
    r.add_post("/hooks/heartbeats/{name}", ping)
    r.add_get("/hooks/heartbeats/{name}", ping)
    r.add_post("/hooks/heartbeats/{name}/{token}", secret_ping)
    r.add_get("/hooks/heartbeats/{name}/{token}", secret_ping)
    r.add_get("/api/v1/heartbeats", list_heartbeats)
    r.add_post("/api/v1/heartbeats", create)
    r.add_get("/api/v1/heartbeats/{name}", one)
    r.add_delete("/api/v1/heartbeats/{name}", remove)
    r.add_post("/api/v1/heartbeats/{name}/pause", pause)
    r.add_post("/api/v1/heartbeats/{name}/resume", resume)
