"""REST for system defaults, per-user overrides, reset, and a user's delivery history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.core import users
from bot.core.alerts import defaults, preferences
from bot.core.documents import delivery_document
from bot.core.errors import InvalidRequest
from bot.core.services import Services
from bot.core.specs.users import OverrideSpec
from bot.http.answers import Answer
from bot.http.app_keys import SERVICES
from bot.http.auth import by_of, scoped_tenant
from bot.http.openapi import body_of, operation, query_of
from bot.http.schemas import Preferences, TenantPaging, TenantQuery
from bot.infra.web import ApiError


def _type(value: Any, known: dict[str, Any]) -> str:
    if not isinstance(value, str) or value.upper() not in known:
        raise InvalidRequest(f"integration_type: one of {', '.join(sorted(known))}")
    return value.upper()


def tenant(request: web.Request) -> str:
    """The tenant a request is about: a key's own; for the operator `?tenant=` or `default`."""
    return scoped_tenant(request, request.query.get("tenant"), "default") or "default"


@operation("The system's integration defaults", tag="users", answers={200: Answer})
async def get_defaults(request: web.Request) -> web.Response:
    return web.json_response(
        {"default_integrations": await users.system_defaults(request.app[SERVICES])}
    )


@operation(
    "A user's effective integration settings",
    tag="users",
    query=TenantQuery,
    answers={200: Answer},
)
async def user_effective(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = request.match_info["user_id"]
    mine = await users.overrides(services, tenant(request), user)
    base = await users.system_defaults(services)
    return web.json_response(
        {
            "user_id": user,
            "user_overrides": mine,
            "effective_configs": defaults.effective(base, mine),
            "using_integration_defaults": not mine,
        }
    )


@operation("Drop a user's overrides", tag="users", query=TenantQuery, answers={200: Answer})
async def reset(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = request.match_info["user_id"]
    removed = await users.remove_overrides(services, tenant(request), user, by_of(request))
    return web.json_response(
        {"user_id": user, "removed_overrides": removed, "using_integration_defaults": True}
    )


@operation("A user's overrides", tag="users", query=TenantQuery, answers={200: Answer})
async def list_overrides(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = request.match_info["user_id"]
    mine = await users.overrides(services, tenant(request), user)
    return web.json_response({"user_id": user, "integrations": mine})


async def upsert(request: web.Request, kind: str, spec: OverrideSpec, create: bool) -> web.Response:
    services = request.app[SERVICES]
    user, ten = request.match_info["user_id"], tenant(request)
    await users.set_override(services, ten, user, [kind], spec, by_of(request), create=create)
    mine = await users.overrides(services, ten, user)
    return web.json_response(
        {"user_id": user, "integration_type": kind, "override": mine.get(kind, {})},
        status=201 if create else 200,
    )


@operation(
    "Override an integration's defaults for a user",
    tag="users",
    query=TenantQuery,
    body=OverrideSpec,
    answers={201: Answer},
)
async def create_override(request: web.Request) -> web.Response:
    spec = body_of(request, OverrideSpec)
    spec.values()  # at least one, before the type is looked up
    kind = _type(spec.integration_type, await users.system_defaults(request.app[SERVICES]))
    return await upsert(request, kind, spec, create=True)


@operation(
    "Change a user's override",
    tag="users",
    query=TenantQuery,
    body=OverrideSpec,
    answers={200: Answer},
)
async def update_override(request: web.Request) -> web.Response:
    spec = body_of(request, OverrideSpec)
    spec.values()
    kind = _type(request.match_info["kind"], await users.system_defaults(request.app[SERVICES]))
    return await upsert(request, kind, spec, create=False)


@operation(
    "Remove a user's override",
    tag="users",
    query=TenantQuery,
    answers={200: Answer},
    errors=(404,),
)
async def delete_override(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user, kind = request.match_info["user_id"], request.match_info["kind"].upper()
    if not await users.remove_overrides(services, tenant(request), user, by_of(request), kind):
        raise ApiError(404, "not_found", f"{user} has no override for {kind}")
    return web.json_response({"user_id": user, "deleted": kind})


@operation("What was delivered to a user", tag="users", query=TenantPaging, answers={200: Answer})
async def history(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    paging = query_of(request, TenantPaging)
    limit, offset = paging.limit, paging.offset
    user = request.match_info["user_id"]
    rows = await users.deliveries_to(services, tenant(request), user, limit, offset)
    return web.json_response(
        {
            "user_id": user,
            "limit": limit,
            "offset": offset,
            "deliveries": [{"delivery_id": r.id, **delivery_document(r)} for r in rows],
        }
    )


@operation(
    "Which integration notices the tenant's admins get",
    tag="users",
    query=TenantQuery,
    answers={200: Answer},
)
async def get_preferences(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    chosen = await users.admin_preferences(services, tenant(request))
    return web.json_response({"tenant": tenant(request), "integration_events": chosen})


@operation(
    "Choose which integration notices admins get",
    tag="users",
    query=TenantQuery,
    body=Preferences,
    answers={200: Answer},
)
async def put_preferences(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    chosen = body_of(request, Preferences).model_extra or {}
    if not chosen:
        raise InvalidRequest("send an object of categories to true or false")
    values: dict[str, bool] = {}
    for name, value in chosen.items():
        key = preferences.category(str(name))
        if key is None:
            raise InvalidRequest(f"{name}: not a category; use {', '.join(preferences.DEFAULTS)}")
        values[key] = value
    await users.set_admin_preferences(services, tenant(request), values, by_of(request))
    chosen_now = await users.admin_preferences(services, tenant(request))
    return web.json_response({"tenant": tenant(request), "integration_events": chosen_now})


def register(app: web.Application, services: Services) -> None:
    """Add `/api/v1/integration-defaults` and `/api/v1/users/{user_id}/...`."""
    r = app.router
    r.add_get("/api/v1/preferences", get_preferences)
    r.add_put("/api/v1/preferences", put_preferences)
    r.add_get("/api/v1/integration-defaults", get_defaults)
    r.add_get("/api/v1/users/{user_id}/integration-defaults", user_effective)
    r.add_post("/api/v1/users/{user_id}/integration-defaults/reset", reset)
    r.add_get("/api/v1/users/{user_id}/integrations", list_overrides)
    r.add_post("/api/v1/users/{user_id}/integrations", create_override)
    r.add_put("/api/v1/users/{user_id}/integrations/{kind}", update_override)
    r.add_delete("/api/v1/users/{user_id}/integrations/{kind}", delete_override)
    r.add_get("/api/v1/users/{user_id}/deliveries", history)
