"""REST for events: submit, list, read one with its deliveries and audit trail."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from bot.core.alerts import queries
from bot.core.alerts.normalize import InvalidEvent, from_api
from bot.core.documents import delivery_document
from bot.core.keys import Principal
from bot.core.services import Services
from bot.http.answers import ActedOn, EventDocument, EventList, Submitted
from bot.http.app_keys import SERVICES
from bot.http.auth import principal_of, scoped_tenant
from bot.http.openapi import body_of, operation, query_of
from bot.http.schemas import ActionBody, EventBody, EventsQuery, TenantQuery
from bot.infra.web import ApiError, read_json_cleaned
from cards.webhook_json import alert_document
from domain import SNOOZE_MAX_MINUTES, AlertState, Priority, Verb
from domain.acting import Actor, Ask

ACTOR_MAX = 200


def acting(who: Principal, body: ActionBody) -> Actor:
    """A key acts as itself; the operator token names the person (`actor` or `on_behalf_of`)."""
    if who.tenant is not None:
        return Actor(id=f"key:{who.name}", name=who.name, platform="api", tenant=who.tenant)
    name = body.on_behalf_of if body.on_behalf_of is not None else body.actor
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "missing_actor", 'send {"actor": "<who is acting>"}')
    if len(name) > ACTOR_MAX:
        raise ApiError(400, "bad_actor", f"actor: at most {ACTOR_MAX} characters")
    return Actor(id=name.strip(), name=name.strip(), platform="api")


@operation(
    "Submit an event",
    tag="events",
    body=EventBody,
    body_parsed=False,
    answers={202: Submitted},
    errors=(400, 404, 422),
)
async def submit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data, nul_removed = await read_json_cleaned(request)
    try:
        event = from_api(data, nul_removed=nul_removed)
    except InvalidEvent as exc:
        raise ApiError(422 if exc.code != "invalid_event" else 400, exc.code, str(exc)) from None
    who = principal_of(request)
    if who.tenant is not None:
        named = data.get("tenant") if isinstance(data, dict) else None
        scoped_tenant(request, named if isinstance(named, str) else None, None)
        event = dataclasses.replace(event, tenant=who.tenant)
    result = await services.ingest.submit(event)
    services.metrics.events.labels(event.source, str(result.deduplicated).lower()).inc()
    return web.json_response(
        {
            "id": result.id,
            "dedup_key": result.dedup_key,
            "state": result.state,
            "deduplicated": result.deduplicated,
            "cleaned": list(event.cleaned),
        },
        status=202,
    )


@operation("List events", tag="events", query=EventsQuery, answers={200: EventList})
async def list_events(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    query = query_of(request, EventsQuery)
    try:
        priority = Priority(query.priority.upper()) if query.priority is not None else None
    except ValueError:
        raise ApiError(
            400, "bad_query", "priority is " + " ".join(p.value for p in Priority)
        ) from None
    limit, offset = query.limit, query.offset
    alerts, total = await queries.listed(
        services,
        tenant=scoped_tenant(request, query.tenant, None),
        state=AlertState(query.state) if query.state else None,
        priority=priority,
        event_type=query.type,
        limit=limit,
        offset=offset,
        muted={"true": True, "false": False}.get(query.muted or ""),
    )
    base = services.settings.public_url
    return web.json_response(
        {
            "events": [alert_document(a, base) for a in alerts],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


@operation(
    "One event with its deliveries, audit trail and notes",
    tag="events",
    query=TenantQuery,
    answers={200: EventDocument},
    errors=(404,),
)
async def get_event(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    event_id = request.match_info["event_id"]
    found = await queries.record(services, event_id, principal_of(request).tenant)
    if found is None:
        raise ApiError(404, "not_found", f"no event {event_id!r}")
    doc = alert_document(found.alert, services.settings.public_url)
    doc["deliveries"] = [delivery_document(d) for d in found.deliveries]
    for delivery in doc["deliveries"]:
        delivery["attempt_log"] = [
            {
                "attempt": t.attempt,
                "status_code": t.status_code,
                "error": t.error_message,
                "retry_after": t.retry_after_seconds,
                "at": t.started_at.isoformat(),
                "duration_ms": t.duration_ms,
            }
            for t in found.attempts
            if t.delivery_id == delivery["id"]
        ]
    doc["audit"] = [
        {
            "verb": a.verb,
            "actor": a.actor,
            "platform": a.platform,
            "outcome": a.outcome,
            "from_state": a.from_state,
            "to_state": a.to_state,
            "at": a.at.isoformat(),
            "data": a.data,
        }
        for a in found.audit
    ]
    doc["escalation"] = found.escalation
    doc["notes"] = [
        {
            "author": str((a.data or {}).get("name") or a.actor),
            "actor": a.actor,
            "at": a.at.isoformat(),
            "text": str((a.data or {}).get("text", "")),
        }
        for a in found.audit
        if a.verb == Verb.NOTE.value and a.outcome == "applied"
    ]
    return web.json_response(doc)


PATHS = {"notes": Verb.NOTE}  # `POST /events/{id}/notes` adds a note


def asked(verb: Verb, body: ActionBody) -> Ask:
    """A snooze's `minutes` and a note's `text`: the model checked their type and range."""
    if verb is Verb.SNOOZE and body.minutes is None:
        raise ApiError(400, "bad_minutes", f'send {{"minutes": 1 to {SNOOZE_MAX_MINUTES}}}')
    if verb is Verb.NOTE and body.text is None:
        raise ApiError(400, "bad_text", 'send {"text": "<the note>"}')
    return Ask(minutes=body.minutes if verb is Verb.SNOOZE else None, text=body.text)


@operation(
    "Act on an event",
    tag="events",
    description="verb: acknowledge, escalate, resolve, snooze (minutes), unsnooze, "
    "notes (text). A key acts as itself; the operator token names the actor.",
    body=ActionBody,
    body_required=False,
    answers={200: ActedOn},
    errors=(400, 404, 409),
)
async def act(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["verb"]
    try:
        verb = PATHS.get(name) or Verb(name)
    except ValueError:
        known = ", ".join([*(v.value for v in Verb if v is not Verb.NOTE), *PATHS])
        raise ApiError(404, "unknown_action", "actions are " + known) from None
    body = body_of(request, ActionBody)
    actor = acting(principal_of(request), body)
    outcome = await services.actions.apply(
        verb, request.match_info["event_id"], actor, asked(verb, body)
    )
    if outcome.code == "bad_request":
        raise ApiError(400, "bad_request", outcome.message)
    if outcome.code == "not_found":
        raise ApiError(404, "not_found", f"no event {request.match_info['event_id']!r}")
    if not outcome.applied:
        raise ApiError(409, outcome.code, outcome.message)
    assert outcome.alert is not None
    doc = alert_document(outcome.alert, services.settings.public_url)
    return web.json_response({**doc, "outcome": outcome.code, "message": outcome.message})


def register(app: web.Application, services: Services) -> None:
    """Add the `/api/v1/events` routes."""
    app.router.add_post("/api/v1/events", submit)
    app.router.add_post("/api/v1/events/{event_id}/{verb}", act)
    app.router.add_get("/api/v1/events", list_events)
    app.router.add_get("/api/v1/events/{event_id}", get_event)
