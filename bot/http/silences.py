"""REST for silences (`GET, POST /api/v1/silences`, `DELETE /api/v1/silences/{id}` expires
one) and inhibition rules (`GET, POST /api/v1/inhibit-rules`, `DELETE .../{id}`)."""

from __future__ import annotations

from aiohttp import web

from bot.core.alerts import inhibition, muting, windows
from bot.core.specs.noise import InhibitRuleSpec, SilenceSpec, TimeIntervalSpec
from bot.http.answers import Item, Items
from bot.http.app_keys import SERVICES
from bot.http.auth import by_of
from bot.http.common import tenant_of
from bot.http.openapi import body_of, operation, query_of
from bot.http.schemas import SilencesQuery, TenantQuery


@operation(
    "List silences",
    tag="noise",
    query=SilencesQuery,
    answers={200: Items},
)
async def list_silences(request: web.Request) -> web.Response:
    ended = query_of(request, SilencesQuery).ended == "true"
    found = await muting.listed(request.app[SERVICES].db, tenant_of(request), ended=ended)
    return web.json_response({"data": found})


@operation(
    "Silence alerts matching matchers",
    tag="noise",
    query=TenantQuery,
    body=SilenceSpec,
    answers={201: Item},
)
async def create_silence(request: web.Request) -> web.Response:
    spec = body_of(request, SilenceSpec)
    services = request.app[SERVICES]
    made = await muting.create(services, tenant_of(request), spec, by_of(request))
    return web.json_response({"data": made}, status=201)


@operation(
    "Expire a silence",
    tag="noise",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def expire_silence(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ended = await muting.expire(
        services, tenant_of(request), request.match_info["silence_id"], by_of(request)
    )
    return web.json_response({"data": ended})


@operation(
    "List inhibition rules",
    tag="noise",
    query=TenantQuery,
    answers={200: Items},
)
async def list_rules(request: web.Request) -> web.Response:
    found = await inhibition.listed(request.app[SERVICES].db, tenant_of(request))
    return web.json_response({"data": found})


@operation(
    "Add an inhibition rule",
    tag="noise",
    query=TenantQuery,
    body=InhibitRuleSpec,
    answers={201: Item},
)
async def create_rule(request: web.Request) -> web.Response:
    spec = body_of(request, InhibitRuleSpec)
    services = request.app[SERVICES]
    made = await inhibition.create(services, tenant_of(request), spec, by_of(request))
    return web.json_response({"data": made}, status=201)


@operation(
    "Remove an inhibition rule",
    tag="noise",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def remove_rule(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    rule_id = request.match_info["rule_id"]
    await inhibition.remove(services, tenant_of(request), rule_id, by_of(request))
    return web.json_response({"data": {"removed": rule_id}})


@operation(
    "List time intervals",
    tag="noise",
    query=TenantQuery,
    answers={200: Items},
)
async def list_intervals(request: web.Request) -> web.Response:
    found = await windows.listed(request.app[SERVICES].db, tenant_of(request))
    return web.json_response({"data": found})


@operation(
    "Add a time interval",
    tag="noise",
    query=TenantQuery,
    body=TimeIntervalSpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create_interval(request: web.Request) -> web.Response:
    spec = body_of(request, TimeIntervalSpec)
    services = request.app[SERVICES]
    made = await windows.create(services, tenant_of(request), spec, by_of(request))
    return web.json_response({"data": made}, status=201)


@operation(
    "Remove a time interval",
    tag="noise",
    query=TenantQuery,
    answers={200: Item},
    errors=(404, 409),
)
async def remove_interval(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"]
    await windows.remove(services, tenant_of(request), name, by_of(request))
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
