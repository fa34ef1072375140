"""REST for configuration as code: the YAML (or JSON) document, its plan, and applying it."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from bot.core import config_apply, config_reading
from bot.core.config_export import export_document, to_yaml
from bot.core.services import Services
from bot.http.answers import Planned
from bot.http.app_keys import SERVICES
from bot.http.auth import principal_of, scoped_tenant
from bot.http.openapi import operation, query_of
from bot.http.schemas import ConfigDocument, ConfigQuery, TenantQuery
from bot.infra.web import ApiError

YAML_TYPE = "application/yaml"


@operation(
    "The configuration as a document (YAML, or JSON for Accept: application/json)",
    tag="config",
    query=TenantQuery,
    answers={200: ConfigDocument},
    media="application/yaml",
    also=("application/json",),
)
async def get_config(request: web.Request) -> web.Response:
    """`GET /api/v1/config`: YAML, or JSON when the client accepts only that."""
    services = request.app[SERVICES]
    tenant = scoped_tenant(request, request.query.get("tenant"), None)
    document = await export_document(services.db, services.keyring, tenant)
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "yaml" not in accept:
        return web.json_response(document)
    return web.Response(text=to_yaml(document), content_type=YAML_TYPE, charset="utf-8")


async def _apply(request: web.Request, dry_run: bool) -> web.Response:
    services = request.app[SERVICES]
    who = principal_of(request)
    tenant = scoped_tenant(request, request.query.get("tenant"), None)
    prune = (query_of(request, ConfigQuery).prune or "").lower() in ("1", "true", "yes")
    source = f"api:{who.name}" if who.tenant is not None else "api"
    try:
        # parsed off the event loop: a file is up to 1 MB of YAML
        document = await asyncio.to_thread(config_reading.parse, await request.read(), "body")
        outcome = await config_apply.apply(
            services,
            document,
            source=source,
            prune=prune,
            tenant=tenant,
            dry_run=dry_run,
            # variables come from the bot's environment for the operator only: a tenant's key
            # sends values, or leaves a variable to keep the value stored
            env=os.environ if who.tenant is None else None,
        )
    except config_reading.ConfigError as exc:
        raise ApiError(422, "bad_config", str(exc)) from None
    return web.json_response(
        {
            "changes": [c.line() for c in outcome.changes],
            "applied": outcome.applied,
            "message": "no changes" if not outcome.changes else f"{len(outcome.changes)} changes",
        }
    )


@operation(
    "What applying a configuration document would change",
    tag="config",
    query=ConfigQuery,
    body=ConfigDocument,
    body_parsed=False,
    body_media="application/yaml",
    answers={200: Planned},
    errors=(400, 422),
)
async def plan(request: web.Request) -> web.Response:
    """`POST /api/v1/config/plan`: what applying the body would change; nothing is changed."""
    return await _apply(request, dry_run=True)


@operation(
    "Make the configuration match a document, in one transaction",
    tag="config",
    query=ConfigQuery,
    body=ConfigDocument,
    body_parsed=False,
    body_media="application/yaml",
    answers={200: Planned},
    errors=(400, 422),
)
async def apply(request: web.Request) -> web.Response:
    """`POST /api/v1/config/apply`: make the database match the body, in one transaction."""
    return await _apply(request, dry_run=False)


def register(app: web.Application, services: Services) -> None:
    """Add the `/api/v1/config` routes."""
    app.router.add_get("/api/v1/config", get_config)
    app.router.add_post("/api/v1/config/plan", plan)
    app.router.add_post("/api/v1/config/apply", apply)
