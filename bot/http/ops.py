"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.core.services import Services
from storage import outbox
from storage.schema import utcnow


def register(app: web.Application, services: Services) -> None:
    """Add `/health`, `/ready` and `/metrics`."""

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

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

    async def metrics(_request: web.Request) -> web.Response:
        now = utcnow()
        async with services.db.session() as session:
            counts = await outbox.counts_by_status(session)
            oldest = await outbox.oldest_due(session, now)
            stuck = await outbox.stuck(session, now, services.settings.lease_seconds)
        for status in ("pending", "sending", "failed", "dead"):
            services.metrics.outbox_depth.labels(status).set(counts.get(status, 0))
        services.metrics.stuck.set(stuck)
        services.metrics.oldest_due.set((now - oldest).total_seconds() if oldest else 0)
        body = generate_latest(services.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
