"""REST for system defaults, per-user overrides, reset, and a user's delivery history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.core import users
from bot.core.alerts import defaults, preferences
from bot.core.documents import delivery_document
from bot.core.errors import InvalidRequest
from bot.core.services import SERVICES, Services
from bot.http.auth import by_of, scoped_tenant
from bot.http.common import page_args
from bot.infra.web import ApiError, read_json

FIELDS = {"enabled": bool, "priority": int, "retry_count": int, "retry_delay_seconds": int}


def _validated(body: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    values: dict[str, Any] = {}
    for name, kind in FIELDS.items():
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if kind is int and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000
        ):
            raise InvalidRequest(f"{name}: a whole number from 0 to 1000")
        if kind is bool and not isinstance(value, bool):
            raise InvalidRequest(f"{name}: true or false")
        values[name] = value
    if "config" in body:
        if not isinstance(body["config"], dict):
            raise InvalidRequest("config: must be an object")
        values["config"] = body["config"]
    unknown = set(body) - set(FIELDS) - {"config", "integration_type"}
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    if not partial and not values:
        raise InvalidRequest(
            "give at least one of enabled, priority, retry_count, retry_delay_seconds, config"
        )
    return values


def _type(value: Any, known: dict[str, Any]) -> str:
    if not isinstance(value, str) or value.upper() not in known:
        raise InvalidRequest(f"integration_type: one of {', '.join(sorted(known))}")
    return value.upper()


def tenant(request: web.Request) -> str:
    """The tenant a request is about: a key's own; for the operator `?tenant=` or `default`."""
    return scoped_tenant(request, request.query.get("tenant"), "default") or "default"


async def get_defaults(request: web.Request) -> web.Response:
    return web.json_response(
        {"default_integrations": await users.system_defaults(request.app[SERVICES])}
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


async def reset(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = request.match_info["user_id"]
    removed = await users.remove_overrides(services, tenant(request), user, by_of(request))
    return web.json_response(
        {"user_id": user, "removed_overrides": removed, "using_integration_defaults": True}
    )


async def list_overrides(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = request.match_info["user_id"]
    mine = await users.overrides(services, tenant(request), user)
    return web.json_response({"user_id": user, "integrations": mine})


async def upsert(
    request: web.Request, kind: str, values: dict[str, Any], create: bool
) -> web.Response:
    services = request.app[SERVICES]
    user, ten = request.match_info["user_id"], tenant(request)
    await users.set_override(services, ten, user, [kind], values, by_of(request), create=create)
    mine = await users.overrides(services, ten, user)
    return web.json_response(
        {"user_id": user, "integration_type": kind, "override": mine.get(kind, {})},
        status=201 if create else 200,
    )


async def create_override(request: web.Request) -> web.Response:
    body = await read_json(request)
    values = _validated(body, partial=False)
    kind = _type(
        body.get("integration_type") if isinstance(body, dict) else None,
        await users.system_defaults(request.app[SERVICES]),
    )
    return await upsert(request, kind, values, create=True)


async def update_override(request: web.Request) -> web.Response:
    values = _validated(await read_json(request), partial=False)
    kind = _type(request.match_info["kind"], await users.system_defaults(request.app[SERVICES]))
    return await upsert(request, kind, values, create=False)


async def delete_override(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user, kind = request.match_info["user_id"], request.match_info["kind"].upper()
    if not await users.remove_overrides(services, tenant(request), user, by_of(request), kind):
        raise ApiError(404, "not_found", f"{user} has no override for {kind}")
    return web.json_response({"user_id": user, "deleted": kind})


async def history(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit, offset = page_args(request)
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


async def get_preferences(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    chosen = await users.admin_preferences(services, tenant(request))
    return web.json_response({"tenant": tenant(request), "integration_events": chosen})


async def put_preferences(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request)
    if not isinstance(body, dict) or not body:
        raise InvalidRequest("send an object of categories to true or false")
    values: dict[str, bool] = {}
    for name, value in body.items():
        key = preferences.category(str(name))
        if key is None:
            raise InvalidRequest(f"{name}: not a category; use {', '.join(preferences.DEFAULTS)}")
        if not isinstance(value, bool):
            raise InvalidRequest(f"{name}: true or false")
        values[key] = value
    await users.set_admin_preferences(services, tenant(request), values, by_of(request))
    return await get_preferences(request)


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
