"""Read-only pages a person can open from a card: one alert, or the alerts of one digest.

The card's "View full alert" link carries the alert's random key, so whoever can see the card
can read the alert and nobody can guess their way to another; a digest's page is reached by
the digest's own random id. The pages are plain HTML, every value escaped, with a Content
Security Policy that allows no script and a Referrer-Policy that keeps the key to itself.
(Two small pages need no template engine; the web console brings one.)
"""

from __future__ import annotations

import hmac
from html import escape

from aiohttp import web

from bot.core.alerts import queries
from bot.core.services import Services
from bot.http.app_keys import SERVICES
from cards.style import alert_url
from domain import Alert

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
STYLE = "body{font:15px system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}"
SHOWN_IN_DIGEST = 200


def page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style><body>{body}</body></html>"
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=HEADERS)


NOT_FOUND = (
    "<h1>No such alert here</h1><p>This link is incomplete or wrong. Open the alert from its card "
    "in Slack or Teams, or ask an admin for its id.</p>"
)


def alert_html(alert: Alert) -> str:
    """An alert's fields, escaped."""
    rows = [
        (
            "State",
            alert.state.value
            + (f" (level {alert.escalation_level})" if alert.escalation_level else ""),
        ),
        ("Priority", alert.priority.value),
        ("Type", alert.event_type),
        ("Source", alert.source),
        ("First seen", alert.first_seen.isoformat(timespec="seconds")),
        (
            "Last seen",
            f"{alert.last_seen.isoformat(timespec='seconds')} ({alert.occurrences} times)",
        ),
    ]
    if alert.acknowledged_by:
        rows.append(("Acknowledged by", alert.acknowledged_by))
    if alert.resolved_by:
        rows.append(("Resolved by", alert.resolved_by))
    rows += [(str(k), str(v)) for k, v in alert.facts.items()]
    table = "".join(f"<tr><th>{escape(k)}<td>{escape(v)}" for k, v in rows)
    urls = [("Link", alert.link)] if alert.link else []
    urls += [(x.title, x.url) for x in alert.links if x.url != alert.link]
    link = "".join(
        f'<p><a href="{escape(url)}" rel="noreferrer">{escape(title)}</a>'
        for title, url in urls
        if url.startswith(("https://", "http://"))
    )
    body = f"<pre style='white-space:pre-wrap'>{escape(alert.body)}</pre>" if alert.body else ""
    return f"<h1>{escape(alert.title)}</h1><table>{table}</table>{body}{link}"


async def alert_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    key = request.match_info.get("key", "")
    alert = await queries.get(services, request.match_info["alert_id"][:64])
    token = alert.view_token if alert is not None else None
    if alert is None or not token or not hmac.compare_digest(token.encode(), key.encode()):
        return page("No such alert", NOT_FOUND, status=404)
    return page(alert.title[:200], alert_html(alert))


async def digest_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    digest = await queries.digest(services, request.match_info["digest_id"][:64], SHOWN_IN_DIGEST)
    alerts = digest.alerts
    if not alerts:
        return page("No such digest", NOT_FOUND.replace("alert", "digest"), status=404)
    base = services.settings.public_url
    items = "".join(
        f'<li>{escape(a.priority.value)} · <a href="{escape(alert_url(base, a))}" '
        f'rel="noreferrer">{escape(a.title[:300])}</a> · {escape(a.state.value)}'
        for a in alerts
    )
    more = digest.count - len(alerts)
    tail = f"<p>… and {more} more" if more > 0 else ""
    heading = f"{digest.count} alerts" + (f" · {digest.group}" if digest.group else "")
    return page(heading[:200], f"<h1>{escape(heading)}</h1><ul>{items}</ul>{tail}")


def register(app: web.Application, services: Services) -> None:
    """Add `/alerts/{id}/{key}` and `/digests/{id}`, open to whoever holds the link."""
    app.router.add_get("/alerts/{alert_id}/{key}", alert_page)
    app.router.add_get("/alerts/{alert_id}", alert_page)
    app.router.add_get("/digests/{digest_id}", digest_page)
