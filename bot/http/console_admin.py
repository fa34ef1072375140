"""The console's admin pages: integrations with their dead letters (and retrying one), the
audit trail, and the card preview."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.core import audit
from bot.core.alerts import preview
from bot.core.alerts.normalize import InvalidEvent
from bot.core.alerts.preview import in_state
from bot.core.integrations import dead_letters
from bot.http.app_keys import SERVICES
from bot.http.console import HEADERS, checked_form, render, signed_in
from bot.http.console_alerts import cards_of
from bot.infra import jsonbody


async def integrations_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    services = request.app[SERVICES]
    return render(
        request,
        "integrations.html",
        overview=await dead_letters.overview(services, session.tenant),
        dead=await dead_letters.dead_letters(services, session.tenant),
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
    done = await dead_letters.retry_dead_letter(
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


def register(app: web.Application) -> None:
    """Integrations, the audit trail and the card preview."""
    r = app.router
    r.add_get("/ui/integrations", integrations_page)
    r.add_get("/ui/audit", audit_page)
    r.add_post("/ui/deliveries/{delivery_id}/retry", retry)
    r.add_get("/ui/preview", preview_page)
    r.add_post("/ui/preview", preview_post)
