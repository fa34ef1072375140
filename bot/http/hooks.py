"""Alert hooks: Prometheus Alertmanager (webhook version 4) and Grafana alerting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.core import heartbeats
from bot.core.alerts.normalize import InvalidEvent, from_alertmanager, from_grafana, tenant_of
from bot.core.services import Services
from bot.http.answers import Accepted
from bot.http.auth import scoped_tenant
from bot.http.openapi import operation
from bot.http.schemas import AlertmanagerBody, GrafanaBody, TenantQuery
from bot.infra.web import ApiError, read_json
from domain import EventIn

Parser = Callable[..., list[EventIn]]


def register(app: web.Application, services: Services) -> None:
    """Add `/hooks/alertmanager` and `/hooks/grafana`; `?tenant=` picks the tenant."""

    def receiver(parse: Parser, summary: str, body: type) -> Callable[[web.Request], Any]:
        @operation(
            summary,
            tag="hooks",
            query=TenantQuery,
            body=body,
            body_parsed=False,  # the parser reads every payload field, and says what it cleans
            answers={202: Accepted},
        )
        async def handle(request: web.Request) -> web.Response:
            try:
                tenant = tenant_of(scoped_tenant(request, request.query.get("tenant"), None))
                events = parse(await read_json(request), tenant=tenant)
            except InvalidEvent as exc:
                raise ApiError(400, exc.code, str(exc)) from None
            pinged: set[str] = set()
            if parse is from_alertmanager and events:
                # A heartbeat's `watchdog` alert is a ping, not an alert.
                named = {e.labels.get("alertname", "") for e in events} - {""}
                tenant_of_events = events[0].tenant
                if named & await heartbeats.watchdog_names(services, tenant_of_events):
                    pinged = await heartbeats.watchdogs(services, tenant_of_events, named)
                events = [e for e in events if e.labels.get("alertname") not in pinged]
            results = await services.ingest.submit_many(events)
            for event, result in zip(events, results, strict=True):
                services.metrics.events.labels(event.source, str(result.deduplicated).lower()).inc()
            return web.json_response(
                {
                    "accepted": len(results),
                    **({"watchdogs": sorted(pinged)} if pinged else {}),  # taken as pings
                    "events": [
                        {
                            "id": r.id,
                            "dedup_key": r.dedup_key,
                            "state": r.state,
                            "deduplicated": r.deduplicated,
                            "cleaned": list(e.cleaned),
                        }
                        for e, r in zip(events, results, strict=True)
                    ],
                },
                status=202,
            )

        return handle

    app.router.add_post(
        "/hooks/alertmanager",
        receiver(from_alertmanager, "Prometheus Alertmanager's webhook", AlertmanagerBody),
    )
    app.router.add_post(
        "/hooks/grafana", receiver(from_grafana, "Grafana alerting's webhook", GrafanaBody)
    )
