"""Storing what comes in: a new alert, or a repeat of the open one with the same dedup key, one
at a time or a batch among the rows read together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Alert, AlertState, EventIn
from storage.convert import to_alert
from storage.schema import Event, new_id, table_of

# A batch's new alert before it is written: every attribute of an events row, read and changed
# like the ORM's object (a repeat in the same batch folds into it), written with the batch's
# others in one statement (`write_new`).
NewEvent = SimpleNamespace
OpenRows = dict[tuple[str, str], Event | NewEvent]


@dataclass(frozen=True)
class Stored:
    """What storing an event did: the alert as it now is, and whether it was a repeat."""

    alert: Alert
    deduplicated: bool
    resolved_now: bool = False


async def find_open(session: AsyncSession, tenant: str, dedup_key: str) -> Event | None:
    """The open event with this key, locked for update where the database can."""
    query = (
        select(Event)
        .where(Event.tenant_id == tenant, Event.open_key == dedup_key)
        .with_for_update(key_share=True)  # no key changes: inserts referring to it go on
    )
    return (await session.scalars(query)).first()


async def store(
    session: AsyncSession, event: EventIn, dedup_key: str, now: datetime
) -> Stored | None:
    """Insert the event, or fold it into the open one with the same key.

    A resolving event closes the open one; with none open it is dropped (None).
    """
    for _ in range(3):
        existing = await find_open(session, event.tenant, dedup_key)
        if existing is not None:
            return _repeat(existing, event, now)
        if event.resolve:
            return None
        row = _new_row(event, dedup_key, now)
        if session.get_bind().dialect.name == "sqlite":
            # SQLite runs one writer at a time (BEGIN IMMEDIATE): no race to guard against.
            session.add(row)
            await session.flush()
            return Stored(alert=to_alert(row), deduplicated=False)
        try:
            async with session.begin_nested():
                session.add(row)
            return Stored(alert=to_alert(row), deduplicated=False)
        except IntegrityError:
            continue  # another request opened the same key first: fold into it
    raise RuntimeError(f"could not store event with dedup key {dedup_key!r}")


# Every batch of events runs it: built once, the pairs an expanding parameter.
_OPEN = (
    select(Event)
    .where(tuple_(Event.tenant_id, Event.open_key).in_(bindparam("keys", expanding=True)))
    .with_for_update(key_share=True)  # no key changes: inserts referring to it go on
)


async def open_rows(session: AsyncSession, keys: list[tuple[str, str]]) -> OpenRows:
    """The open events with these (tenant, dedup key) pairs, in one query, locked for update
    where the database can."""
    if not keys:
        return {}
    rows = (await session.scalars(_OPEN, {"keys": sorted(set(keys))})).all()
    return {(r.tenant_id, str(r.open_key)): r for r in rows}


def store_among(
    rows: OpenRows, new: list[NewEvent], event: EventIn, dedup_key: str, now: datetime
) -> Stored | None:
    """`store` for a batch whose open events `open_rows` loaded: no query of its own.

    `rows` follows the batch: an alert opened here is there for the next repeat, a resolved
    one leaves it. A new alert joins `new`, for `write_new`; a repeat changes its loaded row,
    which the session writes when it flushes.
    """
    found = (event.tenant, dedup_key)
    existing = rows.get(found)
    if existing is not None:
        stored = _repeat(existing, event, now)
        if stored.resolved_now:
            del rows[found]
        return stored
    if event.resolve:
        return None
    row = NewEvent(**(_BLANK | _new_values(event, dedup_key, now)))
    new.append(row)
    rows[found] = row
    return Stored(alert=to_alert(row), deduplicated=False)


_COLUMNS = {prop.key: prop.columns[0].key for prop in inspect(Event).column_attrs}
_BLANK = {attribute: None for attribute in _COLUMNS} | {"paused_seconds": 0, "note_count": 0}
_INSERT = insert(table_of(Event))


async def write_new(session: AsyncSession, new: list[NewEvent]) -> None:
    """Insert a batch's new alerts in one statement."""
    if new:
        rows = [{_COLUMNS[a]: value for a, value in vars(row).items()} for row in new]
        await session.execute(_INSERT, rows)


def _new_row(event: EventIn, dedup_key: str, now: datetime) -> Event:
    return Event(**_new_values(event, dedup_key, now))


def _new_values(event: EventIn, dedup_key: str, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(),
        "tenant_id": event.tenant,
        "event_type": event.event_type,
        "priority": event.priority.value,
        "priority_rank": event.priority.rank,
        "title": event.title,
        "body": event.body,
        "link": event.link,
        "source": event.source,
        "dedup_key": dedup_key,
        "view_token": new_id(),
        "open_key": dedup_key,
        "state": AlertState.TRIGGERED.value,
        "occurrences": 1,
        "escalation_level": 0,
        "first_seen": now,
        "last_seen": now,
        "correlation_id": event.correlation_id,
        "stakeholders": list(event.stakeholders),
        "facts": dict(event.facts),
        "links": links_of(event),
        "meta": dict(event.metadata),
        "labels": dict(event.labels),
        "created_at": now,
        "updated_at": now,
    }


def _repeat(row: Event | NewEvent, event: EventIn, now: datetime) -> Stored:
    if event.resolve:
        row.state = AlertState.RESOLVED.value
        row.open_key = None
        row.resolved_at = now
        row.resolved_by = event.source
        row.last_seen = now
        row.snoozed_at = row.snoozed_until = row.snoozed_by = None  # its silence is expired later
        return Stored(alert=to_alert(row), deduplicated=True, resolved_now=True)
    row.occurrences += 1
    row.last_seen = now
    if event.priority.rank > row.priority_rank:
        row.priority, row.priority_rank = event.priority.value, event.priority.rank
    row.title, row.body = event.title, event.body or row.body
    row.facts = {**(row.facts or {}), **event.facts}
    if event.labels and event.labels != row.labels:
        row.labels = {**(row.labels or {}), **event.labels}
    if event.link:
        row.link = event.link
    if event.links:
        row.links = links_of(event)
    return Stored(alert=to_alert(row), deduplicated=True)


def links_of(event: EventIn) -> list[dict[str, str]]:
    """An event's links as the events table keeps them."""
    return [{"title": link.title, "url": link.url} for link in event.links]
