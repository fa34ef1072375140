"""Heartbeats over HTTP: pings (`POST` or `GET /hooks/heartbeats/{name}` with a tenant's key,
or the secret URL `/hooks/heartbeats/{name}/{key}` without one) and REST to keep them
(`/api/v1/heartbeats`)."""

from __future__ import annotations

from aiohttp import web

from bot.core import heartbeats
from bot.core.specs.noise import HeartbeatSpec
from bot.http.answers import Item, Items
from bot.http.app_keys import SERVICES
from bot.http.auth import by_of
from bot.http.common import tenant_of
from bot.http.openapi import body_of, operation
from bot.http.schemas import PauseBody, TenantQuery


@operation(
    "Ping a heartbeat",
    tag="heartbeats",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def ping(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"][:100]
    found = await heartbeats.ping(services, tenant=tenant_of(request), name=name)
    return web.json_response({"data": found})


@operation(
    "Ping a heartbeat by its secret URL",
    tag="heartbeats",
    answers={200: Item},
    errors=(404,),
    auth="secret_url",
)
async def secret_ping(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = request.match_info["token"][:100]
    found = await heartbeats.ping(services, name=request.match_info["name"], token=token)
    return web.json_response({"data": {"name": found["name"], "state": found["state"]}})


@operation(
    "List heartbeats with their last ping and state",
    tag="heartbeats",
    query=TenantQuery,
    answers={200: Items},
)
async def list_heartbeats(request: web.Request) -> web.Response:
    found = await heartbeats.listed(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": found})


@operation(
    "Add a heartbeat (its secret ping URL is shown once)",
    tag="heartbeats",
    query=TenantQuery,
    body=HeartbeatSpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create(request: web.Request) -> web.Response:
    spec = body_of(request, HeartbeatSpec)
    services = request.app[SERVICES]
    made, token = await heartbeats.create(services, tenant_of(request), spec, by_of(request))
    base = services.settings.public_url.rstrip("/")
    made["ping_url"] = f"{base}/hooks/heartbeats/{made['name']}/{token}"  # shown this once
    return web.json_response({"data": made}, status=201)


@operation(
    "One heartbeat",
    tag="heartbeats",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def one(request: web.Request) -> web.Response:
    found = await heartbeats.one(
        request.app[SERVICES], tenant_of(request), request.match_info["name"]
    )
    return web.json_response({"data": found})


@operation(
    "Remove a heartbeat",
    tag="heartbeats",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def remove(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    services = request.app[SERVICES]
    await heartbeats.remove(services, tenant_of(request), name, by_of(request))
    return web.json_response({"data": {"removed": name}})


@operation(
    "Pause a heartbeat (audited)",
    tag="heartbeats",
    query=TenantQuery,
    body=PauseBody,
    answers={200: Item},
    errors=(400, 404),
    body_required=False,
)
async def pause(request: web.Request) -> web.Response:
    duration = body_of(request, PauseBody).duration
    found = await heartbeats.pause(
        request.app[SERVICES],
        tenant_of(request),
        request.match_info["name"],
        by_of(request),
        duration,
    )
    return web.json_response({"data": found})


@operation(
    "Resume a heartbeat",
    tag="heartbeats",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
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
