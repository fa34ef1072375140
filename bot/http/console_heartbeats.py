"""The console's heartbeats page: each heartbeat's state and last ping, with Pause (for a
while) and Resume, audited with whoever signed in. Made and removed over REST, chat or the
file."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.core import heartbeats
from bot.core.errors import InvalidRequest, NotFound
from bot.http.app_keys import SERVICES
from bot.http.console import HEADERS, checked_form, render, signed_in
from cards.style import spoken_utc
from domain import By


async def heartbeats_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    tenant = session.tenant or request.query.get("tenant", "default")[:64]
    found = await heartbeats.listed(request.app[SERVICES], tenant)
    for beat in found:
        beat["last"] = spoken_utc(beat["last_ping_at"])
        beat["until"] = spoken_utc(beat["paused_until"])
    return render(
        request,
        "heartbeats.html",
        heartbeats=found,
        tenant=tenant,
        said=request.query.get("said", "")[:300],
    )


async def act(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    tenant = session.tenant or str(form.get("tenant", "default"))[:64]
    name, verb = request.match_info["name"][:100], request.match_info["verb"]
    by = By(session.name, "console")
    services = request.app[SERVICES]
    try:
        if verb == "pause":
            duration = str(form.get("duration", "")).strip()[:20] or None
            await heartbeats.pause(services, tenant, name, by, duration)
            said = f"Heartbeat {name} paused" + (f" for {duration}." if duration else ".")
        elif verb == "resume":
            await heartbeats.resume(services, tenant, name, by)
            said = f"Heartbeat {name} watched again."
        else:
            raise web.HTTPNotFound(headers=HEADERS)
    except NotFound:
        raise web.HTTPNotFound(text="no such heartbeat here", headers=HEADERS) from None
    except InvalidRequest as exc:
        said = f"Not paused: {exc}."
    raise web.HTTPSeeOther(f"/ui/heartbeats?said={quote(said)}", headers=HEADERS)


def register(app: web.Application) -> None:
    app.router.add_get("/ui/heartbeats", heartbeats_page)
    app.router.add_post("/ui/heartbeats/{name}/{verb}", act)
