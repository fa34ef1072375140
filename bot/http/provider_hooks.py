"""`POST /hooks/{integration_id}`: provider webhooks, handed to the webhook service."""

from __future__ import annotations

from aiohttp import web

from bot.core.integrations import webhooks
from bot.core.services import Services
from bot.http.answers import Answer
from bot.http.app_keys import SERVICES
from bot.http.openapi import operation


def register(app: web.Application, services: Services) -> None:
    """Add the provider webhook route (after the named hooks, which it must not shadow)."""
    app.router.add_post("/hooks/{integration_id}", receive)


@operation(
    "A provider's signed webhook (PagerDuty, Opsgenie, Jira, ServiceNow, ...)",
    tag="hooks",
    auth="provider",
    answers={200: Answer},
    errors=(400, 401, 404),
    description="Signed by the provider with the integration's webhook secret.",
)
async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    raw = await request.read()
    answer = await webhooks.receive(
        services, request.match_info["integration_id"], raw, request.headers
    )
    return web.json_response(answer)
