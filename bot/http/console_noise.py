"""The console's noise pages: silences (made, listed and expired by whoever signed in, each
audited with them) and, on the alerts page, filters by label matchers and for muted alerts."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.core.alerts import muting
from bot.core.errors import InvalidRequest, NotFound
from bot.core.specs import parse
from bot.core.specs.noise import SilenceSpec
from bot.http.app_keys import SERVICES
from bot.http.console import HEADERS, checked_form, render, signed_in
from cards.style import spoken_utc
from domain import By


def _tenant(session_tenant: str | None, asked: str) -> str:
    """A key's own tenant; the operator's choice (default: `default`)."""
    return session_tenant or (asked[:64] or "default")


async def silences_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    tenant = _tenant(session.tenant, request.query.get("tenant", ""))
    found = await muting.listed(request.app[SERVICES].db, tenant)
    for silence in found:
        silence["ends"] = spoken_utc(silence["ends_at"])
        silence["starts"] = spoken_utc(silence["starts_at"])
    return render(
        request,
        "silences.html",
        silences=found,
        tenant=tenant,
        said=request.query.get("said", "")[:300],
        given={k: request.query.get(k, "")[:2000] for k in ("matchers", "duration", "comment")},
    )


async def create_silence(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    tenant = _tenant(session.tenant, str(form.get("tenant", "")))
    given = {k: str(form.get(k, "")).strip()[:2000] for k in ("matchers", "duration", "comment")}
    by = By(session.name, "console")
    try:
        made = await muting.create(request.app[SERVICES], tenant, parse(SilenceSpec, given), by)
    except InvalidRequest as exc:
        back = "&".join(f"{k}={quote(v)}" for k, v in given.items())
        raise web.HTTPSeeOther(
            f"/ui/silences?said={quote(f'Not silenced: {exc}.')}&{back}", headers=HEADERS
        ) from None
    said = f"Silenced {', '.join(made['matchers'])} until {spoken_utc(made['ends_at'])}."
    raise web.HTTPSeeOther(f"/ui/silences?said={quote(said)}", headers=HEADERS)


async def expire_silence(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    tenant = _tenant(session.tenant, str(form.get("tenant", "")))
    silence_id = request.match_info["silence_id"][:64]
    try:
        await muting.expire(request.app[SERVICES], tenant, silence_id, By(session.name, "console"))
    except NotFound:
        raise web.HTTPNotFound(text="no such silence here", headers=HEADERS) from None
    said = f"Silence {silence_id[:8]} expired: alerts it muted that still fire are posted."
    raise web.HTTPSeeOther(f"/ui/silences?said={quote(said)}", headers=HEADERS)


def register(app: web.Application) -> None:
    app.router.add_get("/ui/silences", silences_page)
    app.router.add_post("/ui/silences", create_silence)
    app.router.add_post("/ui/silences/{silence_id}/expire", expire_silence)
