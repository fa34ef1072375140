"""REST for people, on-call schedules (and each one's secret iCalendar feed) and escalation
policies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.core import oncall
from bot.core.paging import policies, roster
from bot.core.services import Services
from bot.core.specs.oncall import PersonChange, PersonSpec, PolicySpec, ScheduleSpec
from bot.http.answers import Answer, Item, Items
from bot.http.app_keys import SERVICES
from bot.http.auth import by_of
from bot.http.common import tenant_of
from bot.http.openapi import body_of, operation, query_of
from bot.http.pages import HEADERS as PAGE_HEADERS
from bot.http.schemas import OnCallQuery, OverrideShift, TenantQuery
from bot.infra.web import ApiError
from domain.schedules import OnCall


def _when(text: str | None, field: str) -> datetime:
    if not text:
        raise ApiError(400, "bad_query", f"{field}: an ISO time, 2027-03-29T09:00:00+02:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "bad_query", f"{field}: an ISO time with its offset") from None
    if moment.tzinfo is None:
        raise ApiError(400, "bad_query", f"{field}: give the offset (Z or +02:00)")
    return moment.astimezone(UTC)


def on_call_document(answer: OnCall, people: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def person(name: str | None) -> dict[str, Any] | None:
        return people.get(name) if name else None

    return {
        "person": person(answer.person),
        "until": answer.until.isoformat(),
        "overridden": answer.overridden,
        "next": {
            "person": person(answer.next_person),
            "until": answer.next_until.isoformat() if answer.next_until else None,
        },
    }


@operation(
    "List people",
    tag="on-call",
    query=TenantQuery,
    answers={200: Items},
)
async def list_people(request: web.Request) -> web.Response:
    found = await oncall.people(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": [p.document() for p in found]})


@operation(
    "Add a person",
    tag="on-call",
    query=TenantQuery,
    body=PersonSpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create_person(request: web.Request) -> web.Response:
    spec = body_of(request, PersonSpec)
    made = await oncall.add_person(request.app[SERVICES], tenant_of(request), spec, by_of(request))
    return web.json_response({"data": made.document()}, status=201)


@operation(
    "Change a person",
    tag="on-call",
    query=TenantQuery,
    body=PersonChange,
    answers={200: Item},
    errors=(400, 404),
)
async def change_person(request: web.Request) -> web.Response:
    change = body_of(request, PersonChange)
    changed = await roster.change_person(
        request.app[SERVICES],
        tenant_of(request),
        request.match_info["name"],
        change,
        by_of(request),
    )
    return web.json_response({"data": changed.document()})


@operation(
    "Remove a person",
    tag="on-call",
    query=TenantQuery,
    answers={200: Item},
    errors=(404, 409),
)
async def remove_person(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await roster.remove_person(request.app[SERVICES], tenant_of(request), name, by_of(request))
    return web.json_response({"data": {"removed": name}})


@operation(
    "Remove a schedule",
    tag="on-call",
    query=TenantQuery,
    answers={200: Item},
    errors=(404, 409),
)
async def remove_schedule(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await roster.remove_schedule(request.app[SERVICES], tenant_of(request), name, by_of(request))
    return web.json_response({"data": {"removed": name}})


@operation(
    "List schedules",
    tag="on-call",
    query=TenantQuery,
    answers={200: Items},
)
async def list_schedules(request: web.Request) -> web.Response:
    found = await oncall.schedules(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": found})


@operation(
    "Add a schedule",
    tag="on-call",
    query=TenantQuery,
    body=ScheduleSpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create_schedule(request: web.Request) -> web.Response:
    spec = body_of(request, ScheduleSpec)
    made = await oncall.add_schedule(
        request.app[SERVICES], tenant_of(request), spec, by_of(request)
    )
    return web.json_response({"data": made}, status=201)


@operation(
    "Who is on call",
    tag="on-call",
    query=OnCallQuery,
    answers={200: Answer},
    errors=(400, 404),
)
async def who(request: web.Request) -> web.Response:
    services, tenant = request.app[SERVICES], tenant_of(request)
    query = query_of(request, OnCallQuery).at
    at = _when(query, "at") if query else datetime.now(UTC)
    answer = await oncall.who_is_on_call(services, tenant, request.match_info["name"], at)
    people = {p.name: p.document() for p in await oncall.people(services, tenant)}
    return web.json_response(on_call_document(answer, people))


@operation(
    "Put someone on call for a while",
    tag="on-call",
    query=TenantQuery,
    body=OverrideShift,
    answers={201: Item},
    errors=(400, 404),
)
async def override(request: web.Request) -> web.Response:
    shift = body_of(request, OverrideShift)
    await oncall.add_override(
        request.app[SERVICES],
        tenant_of(request),
        request.match_info["name"],
        shift.person,
        _when(shift.start, "start"),
        _when(shift.end, "end"),
        by_of(request),
    )
    return web.json_response({"data": {"schedule": request.match_info["name"]}}, status=201)


async def ical(request: web.Request) -> web.Response:
    """`GET /schedules/{id}/{token}.ics`: no key; the URL itself is the secret."""
    text = await oncall.feed(
        request.app[SERVICES],
        request.match_info["schedule_id"],
        request.match_info["token"],
        datetime.now(UTC),
    )
    headers = {**PAGE_HEADERS, "Content-Disposition": "inline; filename=on-call.ics"}
    return web.Response(text=text, content_type="text/calendar", charset="utf-8", headers=headers)


@operation(
    "List escalation policies",
    tag="on-call",
    query=TenantQuery,
    answers={200: Items},
)
async def list_policies(request: web.Request) -> web.Response:
    found = await policies.listed(request.app[SERVICES], tenant_of(request))
    return web.json_response({"data": found})


@operation(
    "One escalation policy",
    tag="on-call",
    query=TenantQuery,
    answers={200: Item},
    errors=(404,),
)
async def get_policy(request: web.Request) -> web.Response:
    found = await policies.one(
        request.app[SERVICES], tenant_of(request), request.match_info["name"]
    )
    return web.json_response({"data": found})


@operation(
    "Add an escalation policy",
    tag="on-call",
    query=TenantQuery,
    body=PolicySpec,
    answers={201: Item},
    errors=(400, 409),
)
async def create_policy(request: web.Request) -> web.Response:
    spec = body_of(request, PolicySpec)
    made = await policies.save(request.app[SERVICES], tenant_of(request), spec, by_of(request))
    return web.json_response({"data": made}, status=201)


@operation(
    "Replace an escalation policy",
    tag="on-call",
    query=TenantQuery,
    body=PolicySpec,
    answers={200: Item},
    errors=(400, 404),
)
async def replace_policy(request: web.Request) -> web.Response:
    spec = body_of(request, PolicySpec)
    name = request.match_info["name"]
    made = await policies.save(
        request.app[SERVICES], tenant_of(request), spec, by_of(request), replace=name
    )
    return web.json_response({"data": made})


@operation(
    "Remove an escalation policy",
    tag="on-call",
    query=TenantQuery,
    answers={200: Item},
    errors=(404, 409),
)
async def remove_policy(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await policies.remove(request.app[SERVICES], tenant_of(request), name, by_of(request))
    return web.json_response({"data": {"removed": name}})


def register(app: web.Application, services: Services) -> None:
    """Add `/api/v1/people`, `/api/v1/schedules`, the schedules' feeds and
    `/api/v1/escalation-policies`."""
    r = app.router
    r.add_get("/api/v1/people", list_people)
    r.add_post("/api/v1/people", create_person)
    r.add_patch("/api/v1/people/{name}", change_person)
    r.add_delete("/api/v1/people/{name}", remove_person)
    r.add_get("/api/v1/schedules", list_schedules)
    r.add_delete("/api/v1/schedules/{name}", remove_schedule)
    r.add_post("/api/v1/schedules", create_schedule)
    r.add_get("/api/v1/schedules/{name}/oncall", who)
    r.add_post("/api/v1/schedules/{name}/overrides", override)
    r.add_get("/schedules/{schedule_id}/{token}.ics", ical)
    r.add_get("/api/v1/escalation-policies", list_policies)
    r.add_post("/api/v1/escalation-policies", create_policy)
    r.add_get("/api/v1/escalation-policies/{name}", get_policy)
    r.add_put("/api/v1/escalation-policies/{name}", replace_policy)
    r.add_delete("/api/v1/escalation-policies/{name}", remove_policy)
