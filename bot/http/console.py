"""The web console at /ui: open alerts, one alert's cards, deliveries and audit, integrations,
and a preview of both platforms' cards.

Server-rendered Jinja2 templates (autoescaped) and one small script; no build step. Sign-in
takes the API token or an admin API key and gives a signed session cookie (HttpOnly,
SameSite=Strict, Secure behind https); every form carries a CSRF token bound to the session;
the Content-Security-Policy allows scripts, styles and requests from this origin only. The
Adaptive Cards renderer (the npm package `adaptivecards`, installed by `make web` from the
version and integrity pinned in web/package-lock.json) is served from here, never from a CDN.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core import audit
from bot.core.alerts import preview, queries
from bot.core.alerts.actions import Actor
from bot.core.alerts.normalize import InvalidEvent
from bot.core.alerts.preview import in_state
from bot.core.instance import console_session_ended, end_console_session
from bot.core.integrations import admin as integration_service
from bot.core.keys import Principal
from bot.core.services import SERVICES, Services
from bot.infra import jsonbody
from cards.adaptive import alert_card
from cards.blockkit import alert_blocks, builder_link
from cards.style import LOOKS, STATE_LABELS, relative, shown_state
from cards.templates import BUTTON_LABELS, verbs_for
from domain import Alert, AlertState, Priority, Scope, Verb
from domain.matchers import Matcher, MatcherError, parse_all

HERE = Path(__file__).parent
RENDERER = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "adaptivecards" / "dist"
COOKIE = "chatops_session"
SESSION_SECONDS = 12 * 3600
CONSOLE_VERBS = (Verb.ACKNOWLEDGE, Verb.ESCALATE, Verb.RESOLVE)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
SAMPLES: dict[str, dict[str, Any]] = {
    "Disk almost full": {
        "title": "Disk 97% on db-1",
        "priority": "CRITICAL",
        "event_type": "host.disk_full",
        "body": "/var/lib/postgresql is at 97% and growing 1% an hour.",
        "facts": {"host": "db-1", "mount": "/var/lib/postgresql"},
        "stakeholders": ["SRE"],
        "links": [
            {"title": "Runbook", "url": "https://wiki.example.com/runbooks/disk"},
            {"title": "Dashboard", "url": "https://grafana.example.com/d/hosts"},
        ],
    },
    "Deploy failed": {
        "title": "Deploy of checkout 2.14 failed",
        "priority": "HIGH",
        "event_type": "deploy.failed",
        "body": "Step `migrate` exited with 1.",
        "facts": {"service": "checkout", "version": "2.14"},
    },
    "Sync failed (failed job)": {
        "title": "Integration Sync Task Failed",
        "priority": "HIGH",
        "event_type": "integration.sync.failed",
        "body": 'The sync task for "Jira" has failed after 3 attempts: HTTP 503.',
    },
}


@dataclass(frozen=True)
class Session:
    """Who signed in, the tenant they see (None: all), and the session's CSRF token."""

    name: str
    tenant: str | None
    csrf: str  # also the session's id: a sign-out ends it on the server
    holder: str = ""  # `key:<prefix>` or `op:<fingerprint of the operator token>`


def _signer(request: web.Request) -> URLSafeTimedSerializer:
    """Sessions are signed with the console's own key (made once, kept in the database), so
    neither the encryption key nor anything else can be learned or forged from a cookie."""
    key = request.app[SERVICES].session_key
    if not key:
        raise web.HTTPServiceUnavailable(text="the console is starting", headers=HEADERS)
    return URLSafeTimedSerializer(key, salt="chatops-console")


TEMPLATES = web.AppKey("console_templates", jinja2.Environment)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ago"] = lambda when: relative(when, datetime.now(UTC))
    env.filters["emoji"] = lambda priority: LOOKS[priority].emoji
    env.filters["state_label"] = lambda alert: STATE_LABELS[shown_state(alert)]
    return env


SESSION = web.RequestKey("console_session", Session)


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    html = (
        request.app[TEMPLATES]
        .get_template(name)
        .render(
            session=session,
            path=request.path,
            renderer=(RENDERER / "adaptivecards.min.js").is_file(),
            **context,
        )
    )
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def current(request: web.Request) -> Session | None:
    """The signed-in session, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        data = _signer(request).loads(token, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    return Session(str(data.get("n", "")), data.get("t"), str(data["c"]), str(data.get("k", "")))


def operator_fingerprint(request: web.Request) -> str:
    """Ties a session to the operator token it was opened with: rotating it signs out."""
    token = request.app[SERVICES].settings.api_token
    if token is None:
        return ""
    key = request.app[SERVICES].session_key
    return hmac.new(key, token.get_secret_value().encode(), "sha256").hexdigest()[:32]


async def still_valid(request: web.Request, session: Session) -> bool:
    """A session lives no longer than what opened it: not past a sign-out, a revoked key
    (within the key cache's 30 s) or a rotated operator token."""
    services = request.app[SERVICES]
    kind, _, ref = session.holder.partition(":")
    if kind == "key":
        alive = await services.keys.live(ref)
    elif kind == "op":
        fingerprint = operator_fingerprint(request)
        alive = bool(fingerprint) and hmac.compare_digest(ref, fingerprint)
    else:
        alive = False  # a cookie from before sessions named their holder
    return alive and not await console_session_ended(services.db, session.csrf)


async def signed_in(request: web.Request) -> Session:
    """The session, or a redirect to the sign-in page that comes back here."""
    session = current(request)
    if session is None or not await still_valid(request, session):
        target = request.path_qs if request.method == "GET" else "/ui"
        response = web.HTTPSeeOther(f"/ui/login?next={quote(target, safe='')}", headers=HEADERS)
        response.del_cookie(COOKIE, path="/ui")
        raise response
    request[SESSION] = session
    return session


async def checked_form(request: web.Request) -> tuple[Session, Any]:
    """A POSTed form of a signed-in person, with its CSRF token and origin checked."""
    session = await signed_in(request)
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="cross-site request refused", headers=HEADERS)
    form = await form_of(request)
    given = str(form.get("csrf", ""))
    if not given or not hmac.compare_digest(given, session.csrf):
        raise web.HTTPForbidden(text="missing or wrong CSRF token", headers=HEADERS)
    return session, form


async def form_of(request: web.Request) -> Any:
    """The POSTed form, or 400: a form must be URL-encoded or multipart, in UTF-8."""
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError, LookupError):  # no boundary, bad bytes or charset
        raise web.HTTPBadRequest(
            text="send the form as a browser does (URL-encoded or multipart, UTF-8)",
            headers=HEADERS,
        ) from None


def _safe_next(value: str) -> str:
    return value if value.startswith("/ui") and not value.startswith("//") else "/ui"


async def login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", next=_safe_next(request.query.get("next", "/ui")))


async def login(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:  # login CSRF: a foreign page
        raise web.HTTPForbidden(text="cross-site sign-in refused", headers=HEADERS)
    form = await form_of(request)
    token = str(form.get("token", "")).strip()
    target = _safe_next(str(form.get("next", "/ui")))
    who = await _principal(services, token)
    if who is None:
        return render(
            request,
            "login.html",
            status=401,
            next=target,
            error="That token is not valid. Use CHATOPS_API_TOKEN or an admin API key.",
        )
    holder = (
        f"op:{operator_fingerprint(request)}"
        if who.tenant is None
        else f"key:{token.split('_')[1]}"  # chk_<prefix>_<secret>: the prefix names the key
    )
    payload = {"n": who.name, "t": who.tenant, "c": secrets.token_urlsafe(24), "k": holder}
    response = web.HTTPSeeOther(target, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(payload),
        max_age=SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="Strict",
        secure=services.settings.public_url.startswith("https://"),
    )
    raise response


async def _principal(services: Services, token: str) -> Principal | None:
    if not token:
        return None
    expected = services.settings.api_token
    if expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        return Principal("operator", None, Scope.ADMIN)
    who = await services.keys.verify(token)
    return who if who is not None and who.allows(Scope.ADMIN) else None


async def logout(request: web.Request) -> web.Response:
    session, _form = await checked_form(request)
    await end_console_session(request.app[SERVICES].db, session.csrf, SESSION_SECONDS)
    response = web.HTTPSeeOther("/ui/login", headers=HEADERS)
    response.del_cookie(COOKIE, path="/ui")
    raise response


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


async def integrations_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    services = request.app[SERVICES]
    return render(
        request,
        "integrations.html",
        overview=await integration_service.overview(services, session.tenant),
        dead=await integration_service.dead_letters(services, session.tenant),
        message=request.query.get("said", "")[:300],
    )


AUDIT_SHOWN = 200


async def audit_page(request: web.Request) -> web.Response:
    """The trail of changes and actions in the signed-in tenant (every tenant: the operator)."""
    session = await signed_in(request)
    services = request.app[SERVICES]
    since = request.query.get("since", "1d")[:40]
    actor, kind = request.query.get("actor", "")[:255], request.query.get("kind", "")[:50]
    error, entries = "", []
    try:
        when = audit.since_of(since, datetime.now(UTC))
    except ValueError as exc:
        error, when = str(exc), None
    if not error:
        entries = await audit.trail(
            services.db,
            session.tenant,
            since=when,
            actor=actor or None,
            kind=kind or None,
            limit=AUDIT_SHOWN,
        )
    return render(
        request,
        "audit.html",
        entries=entries,
        since=since,
        actor=actor,
        kind=kind,
        error=error,
        limit=AUDIT_SHOWN,
    )


async def retry(request: web.Request) -> web.Response:
    session, _form = await checked_form(request)
    services = request.app[SERVICES]
    delivery_id = request.match_info["delivery_id"]
    done = await integration_service.retry_dead_letter(
        services, session.tenant, delivery_id, f"console:{session.name}"
    )
    said = "Retry queued." if done else "That delivery is not dead-lettered any more."
    raise web.HTTPSeeOther(f"/ui/integrations?said={quote(said)}", headers=HEADERS)


def preview_of(text: str, public_url: str) -> tuple[list[dict[str, Any]], str | None]:
    """Both cards of an event body in every state, or the error and the field it is about."""
    try:
        data, _ = jsonbody.parse(text.encode())
    except jsonbody.MalformedJson as exc:
        return [], f"JSON: {exc}"
    now = datetime.now(UTC)
    try:
        alert = preview.alert_from(data, now)
    except InvalidEvent as exc:
        return [], str(exc)
    return [
        {"state": state.capitalize(), **cards_of(in_state(alert, state, now), public_url)}
        for state in preview.STATES
    ], None


async def preview_page(request: web.Request) -> web.Response:
    await signed_in(request)
    services = request.app[SERVICES]
    chosen = request.query.get("sample", next(iter(SAMPLES)))
    text = json.dumps(SAMPLES.get(chosen, next(iter(SAMPLES.values()))), indent=2)
    shown, error = preview_of(text, services.settings.public_url)
    return render(
        request, "preview.html", text=text, shown=shown, error=error, samples=list(SAMPLES)
    )


async def preview_post(request: web.Request) -> web.Response:
    _session, form = await checked_form(request)
    services = request.app[SERVICES]
    text = str(form.get("event", ""))[:100_000]
    shown, error = preview_of(text, services.settings.public_url)
    return render(
        request,
        "preview.html",
        text=text,
        shown=shown,
        error=error,
        samples=list(SAMPLES),
    )


async def renderer(request: web.Request) -> web.StreamResponse:
    """The Adaptive Cards renderer, as `make web` installed it."""
    path = RENDERER / "adaptivecards.min.js"
    if not path.is_file():
        raise web.HTTPNotFound(
            text="the Adaptive Cards renderer is not installed: run `make web`", headers=HEADERS
        )
    return web.FileResponse(path, headers={**HEADERS, "Cache-Control": "max-age=3600"})


def register(app: web.Application, services: Services) -> None:
    """Add the console's routes under /ui."""
    app[TEMPLATES] = _templates()
    r = app.router
    r.add_get("/ui", alerts_page)
    r.add_get("/ui/", alerts_page)
    r.add_get("/ui/login", login_page)
    r.add_post("/ui/login", login)
    r.add_post("/ui/logout", logout)
    r.add_get("/ui/alerts.json", alerts_json)
    r.add_get("/ui/alerts/{alert_id}", alert_page)
    r.add_post("/ui/alerts/{alert_id}/{verb}", act)
    r.add_get("/ui/integrations", integrations_page)
    r.add_get("/ui/audit", audit_page)
    r.add_post("/ui/deliveries/{delivery_id}/retry", retry)
    r.add_get("/ui/preview", preview_page)
    r.add_post("/ui/preview", preview_post)
    r.add_get("/ui/static/adaptivecards.min.js", renderer)
    r.add_static("/ui/static", HERE / "static", append_version=False)
