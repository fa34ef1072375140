"""`GET /api/v1/reports/response?since=7d&group_by=priority[&format=csv]`."""

from __future__ import annotations

from aiohttp import web

from bot.core import reports
from bot.core.services import SERVICES
from bot.http.common import tenant_of


async def response(request: web.Request) -> web.Response:
    ask = reports.ask_of(request.query.get("since"), request.query.get("group_by"))
    found = await reports.response(request.app[SERVICES], tenant_of(request), ask)
    if request.query.get("format", "json").lower() == "csv":
        return web.Response(
            text=reports.as_csv(found),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="response-report.csv"'},
        )
    return web.json_response({"data": found})


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/response", response)
