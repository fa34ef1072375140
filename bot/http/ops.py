"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.core.alerts import queries
from bot.core.services import Services
from bot.http.answers import Answer
from bot.http.openapi import operation
from bot.infra.web import ApiError
from domain import Priority


def register(app: web.Application, services: Services) -> None:
    """Add `/health`, `/ready` and `/metrics`."""

    @operation("Liveness", tag="operations", auth="none", errors=())
    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    @operation(
        "Readiness: the database answers and its migrations are current",
        tag="operations",
        auth="none",
        answers={200: Answer, 503: Answer},
        errors=(),
    )
    async def ready(_request: web.Request) -> web.Response:
        try:
            await services.db.ping()
            pending = await services.db.pending_migrations()
        except Exception as exc:
            return web.json_response(
                {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
                status=503,
            )
        if pending:
            return web.json_response(
                {
                    "status": "unavailable",
                    "database": "reachable",
                    "migrations": f"pending: {', '.join(pending)}; run `chatops db upgrade`",
                },
                status=503,
            )
        return web.json_response(
            {"status": "ready", "database": "reachable", "migrations": "current"}
        )

    wanted = services.settings.metrics_token

    @operation(
        "Prometheus metrics (Bearer CHATOPS_METRICS_TOKEN when set)",
        tag="operations",
        auth="none",
        media="text/plain",
        errors=(401,),
    )
    async def metrics(request: web.Request) -> web.Response:
        if wanted is not None:
            given = request.headers.get("Authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), wanted.get_secret_value().encode()):
                raise ApiError(
                    401, "bad_token", "send Authorization: Bearer <CHATOPS_METRICS_TOKEN>"
                )
        now = datetime.now(UTC)
        found = await queries.queue(services, now)
        for status in ("pending", "sending", "failed", "dead"):
            services.metrics.outbox_depth.labels(status).set(found.counts.get(status, 0))
        services.metrics.stuck.set(found.stuck)
        for priority in Priority:
            count = found.unacknowledged.get(priority.value, 0)
            services.metrics.unacknowledged.labels(priority.value).set(count)
        oldest = found.oldest_due
        services.metrics.oldest_due.set((now - oldest).total_seconds() if oldest else 0)
        body = generate_latest(services.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
