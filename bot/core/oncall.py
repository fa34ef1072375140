"""People and on-call schedules: who they are, who is on call when, overrides, and the
iCalendar feed of a schedule's shifts. Every change is audited in its transaction."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
from sqlalchemy import select, update

from adapters.base import AdapterError
from bot.core import audit
from bot.core.deps import Reaches
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.slack_bot import slack_adapter
from bot.core.specs.oncall import PersonSpec, ScheduleSpec
from bot.infra.secrets import SecretKeyError
from domain import SYSTEM, By
from domain.schedules import (
    OnCall,
    Person,
    ScheduleError,
    Shift,
    layer_document,
    layer_from,
    on_call,
    timeline,
    zone_of,
)
from storage import alerts as alerts_repo
from storage.oncall import load_schedule
from storage.schema import OnCallSchedule, ScheduleOverride
from storage.schema import Person as PersonRow

log = logging.getLogger(__name__)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}")
SCHEDULE_EXTRAS = ("announce_channel", "slack_usergroup")
USERGROUP = re.compile(r"S[A-Z0-9]{2,30}")
PERSON_FIELDS = ("time_zone", "slack_user_id", "teams_aad_object_id", "email", "phone")
FEED_DAYS = 90  # shifts a feed lists ahead (and 14 behind)
MAX_OVERRIDE = timedelta(days=90)


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value.strip()):
        raise InvalidRequest(f"{where}: 1 to 100 letters, digits, spaces or ._@- characters")
    return value.strip()


def schedule_extras(spec: ScheduleSpec) -> dict[str, str | None]:
    """A schedule's announcement channel (a channel's name) and Slack user group (its id)."""
    channel, group = spec.announce_channel, spec.slack_usergroup
    if channel is not None and not 0 < len(channel) <= 255:
        raise InvalidRequest("announce_channel: the name of a channel")
    if group is not None and not USERGROUP.fullmatch(group):
        raise InvalidRequest("slack_usergroup: a Slack user group id, S0123ABCD")
    return {"announce_channel": channel, "slack_usergroup": group}


def person_values(spec: PersonSpec) -> dict[str, str | None]:
    """What is stored of a person (but the name), checked: a time zone that exists, UTC when
    none was given; an empty field is no value."""
    values = {k: getattr(spec, k) or None for k in PERSON_FIELDS}
    values["time_zone"] = values["time_zone"] or "UTC"
    try:
        zone_of(str(values["time_zone"]))
    except ScheduleError as exc:
        raise InvalidRequest(str(exc)) from None
    return values


def schedule_values(spec: ScheduleSpec, people: set[str]) -> dict[str, Any]:
    """What is stored of a schedule (but the name), checked: its zone, its layers (as their
    documents) naming only `people`, and its extras."""
    try:
        zone_of(spec.time_zone)
        layers = [
            layer_from(raw.model_dump(exclude_none=True), f"layers[{n}]")
            for n, raw in enumerate(spec.layers)
        ]
    except ScheduleError as exc:
        raise InvalidRequest(str(exc)) from None
    for n, layer in enumerate(layers):
        missing = [p for p in layer.people if p not in people]
        if missing:
            raise InvalidRequest(f"layers[{n}].people: no person {missing[0]!r} (add them first)")
    return {
        "time_zone": spec.time_zone,
        "layers": [layer_document(layer) for layer in layers],
        **schedule_extras(spec),
    }


def person_of_row(row: PersonRow) -> Person:
    return Person(
        row.name, row.time_zone, row.slack_user_id, row.teams_aad_object_id, row.email, row.phone
    )


async def people(services: Reaches, tenant: str) -> list[Person]:
    """A tenant's people, by name."""
    async with services.db.session() as session:
        rows = await session.scalars(
            select(PersonRow).where(PersonRow.tenant_id == tenant).order_by(PersonRow.name)
        )
        return [person_of_row(r) for r in rows.all()]


async def add_person(services: Reaches, tenant: str, spec: PersonSpec, by: By) -> Person:
    """A new person; 409 when the name is taken in the tenant."""
    name = _name(spec.name, "name")
    values = person_values(spec)
    async with services.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        taken = await session.scalar(
            select(PersonRow.id).where(PersonRow.tenant_id == tenant, PersonRow.name == name)
        )
        if taken:
            raise Conflict(f"there is already a person named {name!r}")
        row = PersonRow(tenant_id=tenant, name=name, created_by=by.actor, **values)
        session.add(row)
        audit.record(session, tenant, by, "person.create", {"person": name})
        made = person_of_row(row)
    if made.email and not made.slack_user_id:
        made = await _match_on_slack(services, tenant, made)
    return made


async def _match_on_slack(services: Reaches, tenant: str, person: Person) -> Person:
    """Someone added with an e-mail address and no Slack user: found by that address in the
    tenant's Slack workspace (users.lookupByEmail), when there is one. Best effort: a refusal
    is logged, and the person is kept as given."""
    assert person.email is not None
    try:
        async with services.db.session() as session:
            adapter = await slack_adapter(session, services.keyring, services.factory, tenant)
        found = await adapter.user_by_email(person.email) if adapter else None
    except (AdapterError, SecretKeyError) as exc:
        log.warning("no Slack user looked up by e-mail", extra={"error": str(exc)})
        return person
    if not found:
        return person
    async with services.configuring() as session:
        await session.execute(
            update(PersonRow)
            .where(PersonRow.tenant_id == tenant, PersonRow.name == person.name)
            .values(slack_user_id=found)
        )
        data = {"person": person.name, "slack_user_id": found, "by": "e-mail"}
        audit.record(session, tenant, SYSTEM, "person.matched", data)
    return dataclasses.replace(person, slack_user_id=found)


async def _schedule_row(session: Any, tenant: str, name: str) -> OnCallSchedule:
    row = await session.scalar(
        select(OnCallSchedule).where(
            OnCallSchedule.tenant_id == tenant, OnCallSchedule.name == name
        )
    )
    if row is None:
        raise NotFound(f"no schedule {name[:100]!r}")
    return row  # type: ignore[no-any-return]


def schedule_document(row: OnCallSchedule, public_url: str) -> dict[str, Any]:
    """A schedule as REST shows it, with its secret iCalendar feed URL."""
    return {
        "name": row.name,
        "time_zone": row.time_zone,
        "layers": row.layers,
        "announce_channel": row.announce_channel,
        "slack_usergroup": row.slack_usergroup,
        "ical_url": f"{public_url.rstrip('/')}/schedules/{row.id}/{row.feed_token}.ics",
    }


async def schedules(services: Reaches, tenant: str) -> list[dict[str, Any]]:
    async with services.db.session() as session:
        rows = await session.scalars(
            select(OnCallSchedule)
            .where(OnCallSchedule.tenant_id == tenant)
            .order_by(OnCallSchedule.name)
        )
        return [schedule_document(r, services.settings.public_url) for r in rows.all()]


async def add_schedule(
    services: Reaches, tenant: str, spec: ScheduleSpec, by: By
) -> dict[str, Any]:
    """A new schedule; its layers name people of the tenant."""
    name = _name(spec.name, "name")
    values = schedule_values(spec, {p.name for p in await people(services, tenant)})
    async with services.db.session() as session, session.begin():
        await alerts_repo.ensure_tenant(session, tenant)
        taken = await session.scalar(
            select(OnCallSchedule.id).where(
                OnCallSchedule.tenant_id == tenant, OnCallSchedule.name == name
            )
        )
        if taken:
            raise Conflict(f"there is already a schedule named {name!r}")
        row = OnCallSchedule(
            tenant_id=tenant,
            name=name,
            feed_token=secrets.token_urlsafe(24),
            created_by=by.actor,
            **values,
        )
        session.add(row)
        await session.flush()
        audit.record(
            session, tenant, by, "schedule.create", {"schedule": name, "layers": len(spec.layers)}
        )
        return schedule_document(row, services.settings.public_url)


async def who_is_on_call(services: Reaches, tenant: str, name: str, at: datetime) -> OnCall:
    """Who is on call in a schedule at `at`, until when, and who comes next."""
    async with services.db.session() as session:
        row = await _schedule_row(session, tenant, name)
        schedule = await load_schedule(session, row, at)
    return on_call(schedule, at)


async def add_override(
    services: Reaches,
    tenant: str,
    name: str,
    person: str,
    start: datetime,
    end: datetime,
    by: By,
) -> None:
    """Put `person` on call in the schedule from `start` to `end` (at most 90 days)."""
    if not (start < end and end - start <= MAX_OVERRIDE):  # no sum: year 9999 cannot overflow
        raise InvalidRequest("an override ends after it starts, within 90 days")
    if person not in {p.name for p in await people(services, tenant)}:
        raise InvalidRequest(f"person: no person {person!r}")
    async with services.db.session() as session, session.begin():
        row = await _schedule_row(session, tenant, name)
        session.add(
            ScheduleOverride(
                schedule_id=row.id,
                person=person,
                starts_at=start,
                ends_at=end,
                created_by=by.actor,
            )
        )
        audit.record(
            session,
            tenant,
            by,
            "schedule.override",
            {"schedule": name, "person": person, "from": start.isoformat(), "to": end.isoformat()},
        )


async def feed(services: Reaches, schedule_id: str, token: str, now: datetime) -> str:
    """The schedule's shifts as an iCalendar document, for whoever holds its secret URL."""
    async with services.db.session() as session:
        row = await session.get(OnCallSchedule, schedule_id)
        if row is None or not hmac.compare_digest(row.feed_token, token):
            raise NotFound("no such feed")
        schedule = await load_schedule(session, row, now - timedelta(days=14))
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//ChatOps//on-call//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"On call: {row.name}")
    start = (now - timedelta(days=14)).astimezone(UTC)
    for shift in timeline(schedule, start, now + timedelta(days=FEED_DAYS)):
        if shift.person is None:
            continue
        event = icalendar.Event()
        event.add("uid", f"{row.id}-{int(shift.start.timestamp())}@chatops")
        event.add("summary", f"On call: {shift.person} ({row.name})")
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("dtstamp", now)
        if shift.overridden:
            event.add("description", "an override")
        calendar.add_component(event)
    return str(calendar.to_ical().decode())


async def person_for(services: Reaches, tenant: str, platform: str, user_id: str) -> Person | None:
    """The person a chat user is (by Slack user id or Teams AAD object id), if known."""
    column = {"slack": PersonRow.slack_user_id, "teams": PersonRow.teams_aad_object_id}.get(
        platform
    )
    if column is None or not user_id:
        return None
    async with services.db.session() as session:
        row = await session.scalar(
            select(PersonRow).where(PersonRow.tenant_id == tenant, column == user_id).limit(1)
        )
        return person_of_row(row) if row else None


async def link_me(
    services: Reaches, tenant: str, platform: str, user_id: str, display: str, by: By
) -> tuple[Person, bool]:
    """The person a chat user is, made from their chat identity the first time they ask
    (`/chatops me`); (the person, whether it was made now)."""
    found = await person_for(services, tenant, platform, user_id)
    if found is not None:
        return found, False
    name = re.sub(r"[^A-Za-z0-9 ._@-]", "", display).strip()[:100] or f"{platform}-{user_id}"
    taken = {p.name for p in await people(services, tenant)}
    if name in taken:
        name = f"{name} ({user_id[-6:]})"
    field = "slack_user_id" if platform == "slack" else "teams_aad_object_id"
    spec = PersonSpec.model_validate({"name": name, field: user_id})
    made = await add_person(services, tenant, spec, by)
    return made, True


async def resolve_person(
    services: Reaches, tenant: str, word: str, platform: str, me: str
) -> str | None:
    """A person's name from what was typed: `me`, a Slack mention `<@U123>`, a Teams mention
    `<at>Name</at>`, or the name itself."""
    mention = re.fullmatch(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", word)
    if word.lower() == "me":
        found = await person_for(services, tenant, platform, me)
        return found.name if found else None
    if mention:
        found = await person_for(services, tenant, "slack", mention.group(1))
        return found.name if found else None
    word = re.sub(r"</?at>", "", word).strip()
    names = {p.name.lower(): p.name for p in await people(services, tenant)}
    return names.get(word.lower())


@dataclass(frozen=True)
class Timeline:
    """A schedule's shifts over a window, as the console draws them."""

    name: str
    time_zone: str
    start: datetime
    end: datetime
    shifts: list[Shift]


async def timelines(services: Reaches, tenant: str, start: datetime, days: int) -> list[Timeline]:
    """Every schedule of the tenant, who is on call from `start` for `days` days."""
    end = start + timedelta(days=days)
    found = []
    async with services.db.session() as session:
        rows = await session.scalars(
            select(OnCallSchedule)
            .where(OnCallSchedule.tenant_id == tenant)
            .order_by(OnCallSchedule.name)
        )
        for row in rows.all():
            schedule = await load_schedule(session, row, start)
            found.append(
                Timeline(row.name, row.time_zone, start, end, timeline(schedule, start, end))
            )
    return found
