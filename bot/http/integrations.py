"""REST for integrations, their types, channels and routes."""

from __future__ import annotations

import html

from aiohttp import web

from bot.core.documents import channel_document, route_document
from bot.core.integrations import admin as service
from bot.core.integrations import channels, documents
from bot.core.services import Services
from bot.core.specs.integrations import IntegrationChange, IntegrationSpec
from bot.http.answers import Item, Items
from bot.http.app_keys import SERVICES
from bot.http.auth import by_of
from bot.http.common import tenant_of
from bot.http.openapi import body_of, operation, query_of
from bot.http.pages import HEADERS as PAGE_HEADERS
from bot.http.schemas import (
    ChannelBody,
    RouteBody,
    TenantPaging,
    TenantQuery,
)


@operation("The integration types and their settings", tag="integrations", answers={200: Items})
async def integration_types(_request: web.Request) -> web.Response:
    return web.json_response({"data": documents.type_documents()})


@operation("List integrations", tag="integrations", query=TenantQuery, answers={200: Items})
async def list_integrations(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    rows = await service.listed(services, tenant_of(request))
    return web.json_response({"data": [documents.integration_document(r) for r in rows]})


@operation(
    "Add an integration",
    tag="integrations",
    query=TenantQuery,
    body=IntegrationSpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    spec = body_of(request, IntegrationSpec)
    row = await service.create(services, tenant_of(request), spec, by_of(request))
    return web.json_response({"data": documents.integration_document(row)}, status=201)


@operation(
    "One integration (secrets never shown)",
    tag="integrations",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def get_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    row = await service.one(services, tenant_of(request), request.match_info["id"])
    return web.json_response({"data": documents.integration_document(row)})


@operation(
    "Change an integration",
    tag="integrations",
    query=TenantQuery,
    body=IntegrationChange,
    answers={200: Item},
    errors=(400, 404, 409),
)
async def update_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    change = body_of(request, IntegrationChange)
    row = await service.update(
        services, tenant_of(request), request.match_info["id"], change, by_of(request)
    )
    return web.json_response({"data": documents.integration_document(row)})


@operation(
    "Remove an integration",
    tag="integrations",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def delete_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    row = await service.remove(
        services, tenant_of(request), request.match_info["id"], by_of(request)
    )
    return web.json_response({"data": {"deleted": row.id}})


@operation(
    "Test an integration's connection",
    tag="integrations",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def connection_test(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    outcome = await service.test(
        services, tenant_of(request), request.match_info["id"], by_of(request)
    )
    return web.json_response({"data": outcome})


@operation(
    "An integration's syncs, deliveries and webhooks",
    tag="integrations",
    query=TenantPaging,
    answers={200: Item},
    errors=(404,),
)
async def integration_logs(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    paging = query_of(request, TenantPaging)
    limit, offset = paging.limit, paging.offset
    found = await service.logs(
        services, tenant_of(request), request.match_info["id"], limit, offset
    )
    return web.json_response(
        {
            "data": {
                "syncs": found.syncs,
                "deliveries": found.deliveries,
                "webhooks": found.webhooks,
            }
        }
    )


@operation("List channels", tag="routing", query=TenantQuery, answers={200: Items})
async def list_channels(request: web.Request) -> web.Response:
    rows = await channels.channels(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": [channel_document(r) for r in rows]})


@operation(
    "Add a channel",
    tag="routing",
    query=TenantQuery,
    body=ChannelBody,
    answers={201: Item},
    errors=(400, 404, 409),
)
async def create_channel(request: web.Request) -> web.Response:
    spec = body_of(request, ChannelBody)
    row = await channels.add_channel(
        request.app[SERVICES], tenant_of(request), spec, by_of(request)
    )
    return web.json_response({"data": channel_document(row)}, status=201)


@operation(
    "Remove a channel and its routes",
    tag="routing",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def delete_channel(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    deleted = await channels.remove_channel(
        services, tenant_of(request), request.match_info["id"], by_of(request)
    )
    return web.json_response({"data": {"deleted": deleted}})


@operation("List routes", tag="routing", query=TenantQuery, answers={200: Items})
async def list_routes(request: web.Request) -> web.Response:
    rows = await channels.routes(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": [route_document(r) for r in rows]})


@operation(
    "Add a route",
    tag="routing",
    query=TenantQuery,
    body=RouteBody,
    answers={201: Item},
    errors=(400, 404, 409),
)
async def create_route(request: web.Request) -> web.Response:
    spec = body_of(request, RouteBody)
    row = await channels.add_route(request.app[SERVICES], tenant_of(request), spec, by_of(request))
    return web.json_response({"data": route_document(row)}, status=201)


@operation(
    "Remove a route",
    tag="routing",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def delete_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    deleted = await channels.remove_route(
        services, tenant_of(request), request.match_info["id"], by_of(request)
    )
    return web.json_response({"data": {"deleted": deleted}})


NOTICE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>ChatOps integration</title>
</head><body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>ChatOps integration {id}</h1>
<p>This link comes from a ChatOps notice about one of your integrations ({what}).</p>
<ul>
<li>In Slack or Teams: <code>/chatops integrations show|test|sync &lt;name&gt;</code>
(<code>@ChatOps integrations ...</code> in Teams).</li>
<li>Over the API, with the API token: <code>GET /api/v1/integrations/{id}</code>,
<code>PATCH</code> it to change settings or credentials, <code>POST .../test</code>,
<code>GET .../logs</code> for the sync history.</li>
<li>From the command line: <code>chatops integrations show|sync|logs &lt;name&gt;</code>.</li>
</ul></body></html>"""
PAGES = {
    "": "its overview",
    "test": "its connection test",
    "credentials": "its credentials",
    "configure": "its configuration",
    "sync": "a sync run",
}


async def notice_page(request: web.Request) -> web.Response:
    """Where the links of integration notices lead: what to do, and nothing about the data."""
    section = request.match_info.get("section", "").split("/", 1)[0]
    return web.Response(
        text=NOTICE_PAGE.format(
            id=html.escape(request.match_info["id"]), what=PAGES.get(section, "its overview")
        ),
        content_type="text/html",
        headers=PAGE_HEADERS,  # the same CSP as every other page
    )


def register(app: web.Application, services: Services) -> None:
    """Add the integrations, integration-types, channels and routes endpoints."""
    r = app.router
    r.add_get("/api/v1/integration-types", integration_types)
    r.add_get("/integrations/{id}", notice_page)
    r.add_get("/integrations/{id}/{section:.*}", notice_page)
    r.add_get("/api/v1/integrations", list_integrations)
    r.add_post("/api/v1/integrations", create_integration)
    r.add_get("/api/v1/integrations/{id}", get_integration)
    r.add_patch("/api/v1/integrations/{id}", update_integration)
    r.add_put("/api/v1/integrations/{id}", update_integration)
    r.add_delete("/api/v1/integrations/{id}", delete_integration)
    r.add_post("/api/v1/integrations/{id}/test", connection_test)
    r.add_get("/api/v1/integrations/{id}/logs", integration_logs)
    r.add_get("/api/v1/channels", list_channels)
    r.add_post("/api/v1/channels", create_channel)
    r.add_delete("/api/v1/channels/{id}", delete_channel)
    r.add_get("/api/v1/routes", list_routes)
    r.add_post("/api/v1/routes", create_route)
    r.add_delete("/api/v1/routes/{id}", delete_route)
