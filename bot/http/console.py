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
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core.instance import console_session_ended, end_console_session
from bot.core.keys import Principal
from bot.core.services import Services
from bot.http.app_keys import SERVICES
from cards.style import LOOKS, STATE_LABELS, relative, shown_state
from domain import Scope, Verb

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


async def renderer(request: web.Request) -> web.StreamResponse:
    """The Adaptive Cards renderer, as `make web` installed it."""
    path = RENDERER / "adaptivecards.min.js"
    if not path.is_file():
        raise web.HTTPNotFound(
            text="the Adaptive Cards renderer is not installed: run `make web`", headers=HEADERS
        )
    return web.FileResponse(path, headers={**HEADERS, "Cache-Control": "max-age=3600"})


def register(app: web.Application, services: Services) -> None:
    """Add the console's sign-in, templates and static files under /ui (its pages register
    themselves: console_alerts, console_admin, ...)."""
    app[TEMPLATES] = _templates()
    r = app.router
    r.add_get("/ui/login", login_page)
    r.add_post("/ui/login", login)
    r.add_post("/ui/logout", logout)
    r.add_get("/ui/static/adaptivecards.min.js", renderer)
    r.add_static("/ui/static", HERE / "static", append_version=False)
