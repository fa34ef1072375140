"""REST for integrations, their types, channels and routes."""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from adapters.base import mask_target
from adapters.registry import TYPES
from bot.core.integrations import admin as service
from bot.core.services import SERVICES, Services
from bot.http import users as rest_users
from bot.http.auth import scoped_tenant
from bot.http.events import delivery_document, page_args
from bot.infra.web import ApiError, read_json
from storage import admin
from storage import syncs as syncs_repo
from storage.schema import Channel, Route


def tenant_of(request: web.Request) -> str:
    """The tenant a request is about: a key's own; for the operator `?tenant=` or `default`."""
    return scoped_tenant(request, request.query.get("tenant"), "default") or "default"


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body, which must be a JSON object."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return body


def channel_document(row: Channel) -> dict[str, Any]:
    """A channel; a URL target shows its host only: webhook URLs carry their secret."""
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "integration_id": row.integration_id,
        "target": mask_target(row.target),
        "rate_per_minute": row.rate_per_minute,
        "is_active": row.is_active,
        "created_at": row.created_at.isoformat(),
    }


def route_document(row: Route) -> dict[str, Any]:
    """A route and what it matches."""
    return {
        "id": row.id,
        "channel_id": row.channel_id,
        "event_glob": row.event_glob,
        "min_priority": row.min_priority,
        "stakeholders": row.stakeholders,
        "source_glob": row.source_glob,
        "user_id": row.user_id,
        "escalation_level": row.escalation_level,
        "default": bool(row.is_default),
        "is_active": row.is_active,
        "created_at": row.created_at.isoformat(),
    }


async def integration_types(_request: web.Request) -> web.Response:
    return web.json_response({"data": [service.type_document(t) for t in TYPES.values()]})


async def list_integrations(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session:
        rows = await admin.integrations(session, tenant_of(request))
    return web.json_response(
        {"data": [service.integration_document(r, services.keyring) for r in rows]}
    )


async def create_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    row = await service.create(services, tenant_of(request), await json_object(request), None)
    return web.json_response(
        {"data": service.integration_document(row, services.keyring)}, status=201
    )


async def get_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session:
        row = await admin.integration(session, tenant_of(request), request.match_info["id"])
    return web.json_response({"data": service.integration_document(row, services.keyring)})


async def update_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request)
    row = await service.update(services, tenant_of(request), request.match_info["id"], body)
    return web.json_response({"data": service.integration_document(row, services.keyring)})


async def delete_integration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session, session.begin():
        row = await admin.integration(session, tenant_of(request), request.match_info["id"])
        await admin.remove_integration(session, row)
    return web.json_response({"data": {"deleted": row.id}})


async def connection_test(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    outcome = await service.test(services, tenant_of(request), request.match_info["id"])
    return web.json_response({"data": outcome})


async def integration_logs(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit, offset = page_args(request)
    tenant = tenant_of(request)
    async with services.db.session() as session:
        row = await admin.integration(session, tenant, request.match_info["id"])
        syncs = await admin.sync_logs(session, row.id, limit, offset)
        sent = await admin.deliveries_for(
            session, tenant=tenant, integration_id=row.id, limit=limit, offset=offset
        )
        inbound = await syncs_repo.webhook_events(session, row.id, limit, offset)
    return web.json_response(
        {
            "data": {
                "syncs": [service.sync_document(s) for s in syncs],
                "deliveries": [delivery_document(d) for d in sent],
                "webhooks": [service.webhook_document(w) for w in inbound],
            }
        }
    )


async def list_channels(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session:
        rows = await admin.channels(session, tenant_of(request))
    return web.json_response({"data": [channel_document(r) for r in rows]})


async def create_channel(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request)
    tenant = tenant_of(request)
    async with services.db.session() as session, session.begin():
        integration = None
        if body.get("integration"):
            integration = await admin.integration(session, tenant, str(body["integration"]))
        row = await admin.add_channel(session, service.new_channel(tenant, body, integration))
    return web.json_response({"data": channel_document(row)}, status=201)


async def delete_channel(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session, session.begin():
        row = await admin.channel(session, tenant_of(request), request.match_info["id"])
        await session.delete(row)
    return web.json_response({"data": {"deleted": row.id}})


async def list_routes(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session:
        rows = await admin.routes(session, tenant_of(request))
    return web.json_response({"data": [route_document(r) for r in rows]})


async def create_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request)
    tenant = tenant_of(request)
    async with services.db.session() as session, session.begin():
        channel = await admin.channel(session, tenant, str(body.get("channel", "")))
        row = service.new_route(tenant, body, channel, None)
        session.add(row)
        await session.flush()
    return web.json_response({"data": route_document(row)}, status=201)


async def delete_route(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as session, session.begin():
        row = await admin.route(session, tenant_of(request), request.match_info["id"])
        await session.delete(row)
    return web.json_response({"data": {"deleted": row.id}})


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
    rest_users.register(app, services)
