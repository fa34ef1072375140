"""`GET /api/v1/reports/response?since=7d&group_by=priority[&format=csv]`."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.core import report_charts, reports
from bot.http.answers import Item
from bot.http.app_keys import SERVICES
from bot.http.common import tenant_of
from bot.http.openapi import operation, query_of
from bot.http.pages import HEADERS as PAGE_HEADERS
from bot.http.schemas import ReportQuery
from bot.infra.web import ApiError


@operation(
    "Response report: counts, MTTA and MTTR, noisiest alerts (or CSV)",
    tag="reports",
    query=ReportQuery,
    answers={200: Item},
    also=("text/csv",),
)
async def response(request: web.Request) -> web.Response:
    query = query_of(request, ReportQuery)
    ask = reports.ask_of(query.since, query.group_by)
    found = await reports.response(request.app[SERVICES], tenant_of(request), ask)
    if query.format == "csv":
        return web.Response(
            text=reports.as_csv(found),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="response-report.csv"'},
        )
    return web.json_response({"data": found})


async def chart(request: web.Request) -> web.Response:
    """`GET /reports/chart.png?tenant=&since=&expires=&sig=`: the chart a Teams card shows; the
    signed URL is its own key (it expires after a week)."""
    services, query = request.app[SERVICES], request.query
    tenant, since = query.get("tenant", ""), query.get("since", "")
    now = datetime.now(UTC)
    if not report_charts.allowed(
        services, tenant, since, query.get("expires", ""), query.get("sig", ""), now
    ):
        raise ApiError(404, "not_found", "no such chart, or its link has expired")
    body = await report_charts.png(services, tenant, since)
    headers = {**PAGE_HEADERS, "Cache-Control": "private, max-age=3600"}
    return web.Response(body=body, content_type="image/png", headers=headers)


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/response", response)
    app.router.add_get(report_charts.PATH, chart)
