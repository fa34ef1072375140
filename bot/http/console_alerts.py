"""The console's alerts: the list (filtered by state, priority, label matchers, muted), one
alert with its cards as Slack and Teams show them, and the buttons that act on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.core.alerts import queries
from bot.http.app_keys import SERVICES
from bot.http.console import CONSOLE_VERBS, HEADERS, Session, checked_form, render, signed_in
from cards.adaptive import alert_card
from cards.blockkit import alert_blocks, builder_link
from cards.style import LOOKS, STATE_LABELS, relative, shown_state
from cards.templates import BUTTON_LABELS, verbs_for
from domain import Alert, AlertState, Priority, Verb
from domain.acting import Actor
from domain.matchers import Matcher, MatcherError, parse_all

STATES = ("open", "muted", "all", *(s.value for s in AlertState))


def _filters(request: web.Request) -> dict[str, Any]:
    state = request.query.get("state", "open")
    if state not in STATES:
        state = "open"
    raw = request.query.get("priority", "").upper()
    priority = Priority(raw) if raw in Priority.__members__ else None
    text = request.query.get("q", "")[:200]
    return {"state": state, "priority": priority, "text": text, "labels": _labels(request)}


def _labels(request: web.Request) -> tuple[Matcher, ...]:
    """The label filter's matchers; one that cannot be read is said on the page instead."""
    written = request.query.get("labels", "").strip()[:500]
    try:
        return parse_all([written]) if written else ()
    except MatcherError as exc:
        raise web.HTTPSeeOther(
            f"/ui?state={quote(request.query.get('state', 'open'))}&said="
            + quote(f"Labels: {exc}"),
            headers=HEADERS,
        ) from None


def _row(listed: queries.Listed) -> dict[str, Any]:
    alert = listed.alert
    return {
        "id": alert.id,
        "priority": alert.priority.value,
        "emoji": LOOKS[alert.priority].emoji,
        "title": alert.title,
        "state": STATE_LABELS[shown_state(alert)],
        "muted_by": alert.muted_by or "",
        "snoozed": alert.snoozed,
        "actor": alert.resolved_by or alert.acknowledged_by or alert.snoozed_by or "",
        "age": relative(alert.first_seen, datetime.now(UTC)),
        "channels": listed.channels,
        "tenant": alert.tenant,
    }


async def alerts_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    filters = _filters(request)
    listed, total = await queries.console_alerts(request.app[SERVICES], session.tenant, **filters)
    return render(
        request,
        "alerts.html",
        rows=[_row(x) for x in listed],
        total=total,
        filters={**filters, "labels": ", ".join(str(m) for m in filters["labels"])},
        priorities=[p.value for p in Priority],
        states=list(STATES),
        said=request.query.get("said", "")[:300],
    )


async def alerts_json(request: web.Request) -> web.Response:
    """The rows of the alerts page, for its script to refresh them without a reload."""
    session = await signed_in(request)
    services = request.app[SERVICES]
    listed, total = await queries.console_alerts(services, session.tenant, **_filters(request))
    return web.json_response({"alerts": [_row(x) for x in listed], "total": total}, headers=HEADERS)


async def _alert_of(request: web.Request, session: Session) -> queries.Record:
    services = request.app[SERVICES]
    found = await queries.record(services, request.match_info["alert_id"], session.tenant)
    if found is None:
        raise web.HTTPNotFound(text="no such alert here", headers=HEADERS)
    return found


def cards_of(alert: Alert, public_url: str) -> dict[str, Any]:
    """Both platforms' cards of an alert, and the Block Kit Builder link."""
    now = datetime.now(UTC)
    message = alert_blocks(alert, now, public_url=public_url)
    card = alert_card(alert, now, public_url=public_url)
    return {
        "blocks": message["blocks"],
        "adaptive": json.dumps(card),
        "adaptive_pretty": json.dumps(card, indent=2),  # shown when the renderer is missing
        "builder": builder_link(message),
    }


async def alert_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    found = await _alert_of(request, session)
    alert = found.alert
    attempts: dict[str, list[Any]] = {}
    for attempt in found.attempts:
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return render(
        request,
        "alert.html",
        alert=alert,
        record=found,
        attempts=attempts,
        verbs=[v for v in verbs_for(alert) if v in CONSOLE_VERBS],
        labels=BUTTON_LABELS,
        cards=cards_of(alert, request.app[SERVICES].settings.public_url),
        message=request.query.get("said", "")[:300],
    )


async def act(request: web.Request) -> web.Response:
    session, _form = await checked_form(request)
    try:
        verb = Verb(request.match_info["verb"])
    except ValueError:
        raise web.HTTPNotFound(headers=HEADERS) from None
    if verb not in CONSOLE_VERBS:
        raise web.HTTPNotFound(headers=HEADERS)
    alert_id = request.match_info["alert_id"]
    actor = Actor(id=session.name, name=session.name, platform="console", tenant=session.tenant)
    outcome = await request.app[SERVICES].actions.apply(verb, alert_id, actor)
    if outcome.code == "not_found":
        raise web.HTTPNotFound(text="no such alert here", headers=HEADERS)
    said = quote(outcome.message[:300])
    raise web.HTTPSeeOther(f"/ui/alerts/{quote(alert_id)}?said={said}", headers=HEADERS)


def register(app: web.Application) -> None:
    """The alerts list (the console's home) and one alert's page."""
    r = app.router
    r.add_get("/ui", alerts_page)
    r.add_get("/ui/", alerts_page)
    r.add_get("/ui/alerts.json", alerts_json)
    r.add_get("/ui/alerts/{alert_id}", alert_page)
    r.add_post("/ui/alerts/{alert_id}/{verb}", act)
