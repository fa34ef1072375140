"""The console's report page: the response report's figures, and two charts comparing weeks
(alerts; median time to acknowledge and to resolve), drawn as SVG by the page itself like the
on-call timeline, so no charting script is loaded; and its CSV."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.core import reports
from bot.core.errors import InvalidRequest
from bot.http.app_keys import SERVICES
from bot.http.console import HEADERS, render, signed_in


def _bars(weeks: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """Bars per week for the template, heights in per cent of the tallest."""
    tallest = max((w[f] or 0 for w in weeks for f in fields), default=0) or 1
    return {
        "fields": fields,
        "weeks": [
            {
                "week": w["week"],
                "bars": [
                    {
                        "field": f,
                        "value": w[f],
                        "shown": reports.spoken(w[f]) if f != "alerts" else str(w[f]),
                        "height": round(100 * (w[f] or 0) / tallest, 2),
                    }
                    for f in fields
                ],
            }
            for w in weeks
        ],
    }


async def _asked(request: web.Request) -> tuple[str, reports.Ask]:
    session = await signed_in(request)
    tenant = session.tenant or request.query.get("tenant", "default")[:64]
    try:
        ask = reports.ask_of(request.query.get("since"), request.query.get("group_by"))
    except InvalidRequest as exc:
        raise web.HTTPBadRequest(text=str(exc), headers=HEADERS) from None
    return tenant, ask


async def reports_page(request: web.Request) -> web.Response:
    tenant, ask = await _asked(request)
    found = await reports.response(request.app[SERVICES], tenant, ask)
    return render(
        request,
        "reports.html",
        report=found,
        since=request.query.get("since", "7d")[:10],
        groupings=reports.GROUPS,
        spoken=reports.spoken,
        counts=_bars(found["weeks"], ("alerts",)),
        times=_bars(found["weeks"], ("mtta_median_seconds", "mttr_median_seconds")),
    )


async def reports_csv(request: web.Request) -> web.Response:
    tenant, ask = await _asked(request)
    found = await reports.response(request.app[SERVICES], tenant, ask)
    return web.Response(
        text=reports.as_csv(found),
        content_type="text/csv",
        headers={**HEADERS, "Content-Disposition": 'attachment; filename="response-report.csv"'},
    )


def register(app: web.Application) -> None:
    app.router.add_get("/ui/reports", reports_page)
    app.router.add_get("/ui/reports.csv", reports_csv)
