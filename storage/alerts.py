"""Events (alerts): store, deduplicate while open, and read back with their history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

from domain import Alert, AlertState, DeliveryKind, DeliveryStatus, EventIn, Priority
from storage.convert import attribute_columns, to_alert
from storage.db import write_behind
from storage.schema import ActionAudit, Channel, Delivery, Event, Tenant, param, table_of, utcnow


async def ensure_tenant(session: AsyncSession, tenant: str) -> None:
    """Create the tenant on first use."""
    if await session.get(Tenant, tenant) is None:
        async with session.begin_nested():
            session.add(Tenant(id=tenant, name=tenant))
        await session.flush()


@dataclass(frozen=True)
class Cards:
    """An alert's cards in one read: channels showing it, updates waiting, posts in all."""

    showing: list[str]
    pending: dict[str, Any]  # each waiting update (a row: its id and action_data), by channel
    posts: int


# Every click and every repeat reads and changes an alert and its cards: Core statements on
# the tables, built once with the values as parameters. Building them each time cost more
# than running them, and the ORM's versions flushed, matched and made objects nobody kept.
_EVENTS, _DELIVERIES = table_of(Event), table_of(Delivery)
_ALERT = attribute_columns(Event)  # an alert's row, its columns named as the model's attributes
_COLUMN_OF = {prop.key: prop.columns[0].key for prop in inspect(Event).column_attrs}
_BY_ID = select(*_ALERT).where(_EVENTS.c.id == bindparam("event_id"))
_card = _DELIVERIES.c
_CARDS = select(_card.id, _card.kind, _card.status, _card.channel_id, _card.action_data).where(
    _card.event_id == bindparam("event_id"),
    or_(
        _card.kind == DeliveryKind.POST.value,
        and_(
            _card.kind == DeliveryKind.UPDATE.value,
            _card.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
        ),
    ),
)


async def cards(session: AsyncSession, event_id: str) -> Cards:
    """The channels a card of the alert was or will be sent to, the updates of it waiting to
    go out (by channel), and how many posts it has, in one query (a card queued in this
    session and not yet written is written first, so it is counted)."""
    if any(isinstance(o, Delivery) for o in session.new):
        await session.flush()
    rows = (await session.execute(_CARDS, {"event_id": event_id})).all()
    gone = (DeliveryStatus.SKIPPED.value, DeliveryStatus.DEAD.value)
    posts = [r for r in rows if r.kind == DeliveryKind.POST.value]
    return Cards(
        showing=sorted({r.channel_id for r in posts if r.channel_id and r.status not in gone}),
        pending={
            r.channel_id: r for r in rows if r.kind == DeliveryKind.UPDATE.value and r.channel_id
        },
        posts=len(posts),
    )


async def get(session: AsyncSession, event_id: str) -> Alert | None:
    """One alert by id (as written: an alert added or changed in this session is flushed)."""
    if any(isinstance(o, Event) for o in (*session.new, *session.dirty)):
        await session.flush()
    row = (await session.execute(_BY_ID, {"event_id": event_id})).first()
    return to_alert(row) if row else None


async def list_alerts(
    session: AsyncSession,
    *,
    tenant: str | None = None,
    state: AlertState | None = None,
    priority: Priority | None = None,
    event_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
    muted: bool | None = None,
) -> tuple[list[Alert], int]:
    """A page of alerts, most recent first, and how many match in all."""
    conditions: list[Any] = []
    if tenant:
        conditions.append(Event.tenant_id == tenant)
    if state:
        conditions.append(Event.state == state.value)
    if priority:
        conditions.append(Event.priority == priority.value)
    if event_type:
        conditions.append(Event.event_type == event_type)
    if muted is not None:
        conditions.append(Event.muted_by.is_not(None) if muted else Event.muted_by.is_(None))
    total = await session.scalar(select(func.count()).select_from(Event).where(*conditions))
    rows = await session.scalars(
        select(Event)
        .where(*conditions)
        .order_by(Event.last_seen.desc())
        .limit(limit)
        .offset(offset)
    )
    return [to_alert(r) for r in rows.all()], int(total or 0)


async def deliveries_of(session: AsyncSession, event_id: str) -> Sequence[Delivery]:
    """Every delivery of an event, oldest first."""
    query = select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.created_at)
    return (await session.scalars(query)).all()


async def audit_of(session: AsyncSession, event_id: str) -> Sequence[ActionAudit]:
    """The audit trail of an event, oldest first."""
    query = select(ActionAudit).where(ActionAudit.event_id == event_id).order_by(ActionAudit.id)
    return (await session.scalars(query)).all()


async def transition(
    session: AsyncSession,
    event_id: str,
    *,
    allowed_from: Sequence[AlertState],
    values: dict[str, Any],
    also: Sequence[Any] = (),
) -> Alert | None:
    """Change an alert's state only if it is still in one of `allowed_from` (and `also`, of
    the table's columns, holds): first wins. `values` are named as the model's attributes.

    The changed alert, read back by the same statement; None when someone was first."""
    states = tuple(s.value for s in allowed_from)
    if also or any(isinstance(v, ClauseElement) for v in values.values()):
        columns = {_COLUMN_OF[key]: value for key, value in values.items()}
        statement, params = _changing(states, columns, *also), {"event_id": event_id}
    else:  # the usual change (a click's): its statement built once, values as parameters
        statement = _transition_statement(states, tuple(values))
        params = {"event_id": event_id, **{f"v_{key}": value for key, value in values.items()}}
    row = (await session.execute(statement, params)).first()
    return to_alert(row) if row is not None else None


def _changing(states: tuple[str, ...], columns: dict[str, Any], *also: Any) -> Any:
    """The alert changed to `columns` where it is in one of `states`, read back."""
    return (
        update(_EVENTS)
        .where(_EVENTS.c.id == bindparam("event_id"), _EVENTS.c.state.in_(states), *also)
        .values(columns)
        .returning(*_ALERT)
    )


_TRANSITIONS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _transition_statement(states: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    """`transition`'s statement for these states and changed attributes, built once."""
    statement = _TRANSITIONS.get((states, keys))
    if statement is None:
        columns = {_COLUMN_OF[key]: param(_EVENTS.c[_COLUMN_OF[key]], f"v_{key}") for key in keys}
        statement = _TRANSITIONS[(states, keys)] = _changing(states, columns)
    return statement


def cleaned_audit(alert: Alert, event: EventIn) -> ActionAudit:
    """An audit record of what was changed in an incoming event to store and show it safely."""
    data = {"cleaned": list(event.cleaned)}
    return audit_row(alert.tenant, "cleaned", event.source, "ingest", data, alert=alert)


def audit_row(
    tenant: str,
    verb: str,
    actor: str,
    platform: str,
    data: dict[str, Any],
    *,
    alert: Alert | None = None,
    outcome: str = "applied",
    from_state: str | None = None,
    to_state: str | None = None,
) -> ActionAudit:
    """Every audit record is made here: a change of configuration (no alert), or something
    done to an alert, with its state before and after (the alert's own when not given)."""
    state = alert.state.value if alert is not None else None
    return ActionAudit(
        tenant_id=tenant,
        event_id=alert.id if alert is not None else None,
        verb=verb,
        actor=actor[:255],
        platform=platform[:20],
        outcome=outcome,
        from_state=from_state or state,
        to_state=to_state or state,
        data=data,
    )


def add_audit(session: AsyncSession, record: ActionAudit) -> None:
    """`session.add(audit_row(...))` for the hot paths (a click): the record is written with
    the transaction's others in one statement, before anything reads the audit or as it
    commits (`write_behind`), not by the unit of work one by one."""
    row = {name: getattr(record, name) for name in _AUDIT_FIELDS}
    row["at"] = row["at"] or utcnow()
    write_behind(session, table_of(ActionAudit), row)


_AUDIT_FIELDS = (
    "tenant_id", "event_id", "verb", "actor", "platform", "outcome", "from_state", "to_state",
    "data", "at",
)  # fmt: skip


async def open_alerts(session: AsyncSession, tenant: str, *, limit: int) -> tuple[list[Alert], int]:
    """A tenant's open alerts, most severe first, then oldest first; and how many in all."""
    condition = (Event.tenant_id == tenant, Event.state != AlertState.RESOLVED.value)
    total = await session.scalar(select(func.count()).select_from(Event).where(*condition))
    rows = await session.scalars(
        select(Event)
        .where(*condition)
        .order_by(Event.priority_rank.desc(), Event.first_seen)
        .limit(limit)
    )
    return [to_alert(r) for r in rows.all()], int(total or 0)


async def open_counts(session: AsyncSession, tenant: str) -> dict[str, int]:
    """Open alerts of a tenant by priority."""
    rows = await session.execute(
        select(Event.priority, func.count())
        .where(Event.tenant_id == tenant, Event.state != AlertState.RESOLVED.value)
        .group_by(Event.priority)
    )
    return {str(p): int(n) for p, n in rows.all()}


async def unacknowledged_counts(session: AsyncSession) -> dict[str, int]:
    """Alerts still triggered (nobody acknowledged them), by priority, every tenant; muted
    ones are not counted, as nobody was asked to acknowledge them."""
    rows = await session.execute(
        select(Event.priority, func.count())
        .where(Event.state == AlertState.TRIGGERED.value, Event.muted_by.is_(None))
        .group_by(Event.priority)
    )
    return {str(p): int(n) for p, n in rows.all()}


async def escalate(session: AsyncSession, alert: Alert, level: int) -> bool:
    """Raise an open alert to `level` if no one changed its level meanwhile; whether it was."""
    result = await session.execute(
        update(Event)
        .where(
            Event.id == alert.id,
            Event.escalation_level == alert.escalation_level,
            Event.state.in_([AlertState.TRIGGERED.value, AlertState.ACKNOWLEDGED.value]),
        )
        .values(
            escalation_level=level,
            state=AlertState.TRIGGERED.value,
            acknowledged_by=None,
            acknowledged_at=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def alerts_in_digest(session: AsyncSession, digest_id: str) -> list[str]:
    """The alerts a digest counts, once each, in the order they were folded."""
    rows = await session.scalars(select(Delivery.event_id).where(Delivery.digest_id == digest_id))
    return list(dict.fromkeys(i for i in rows.all() if i))


def _recorded(acknowledging: bool) -> Any:
    values = {"action_taken": bindparam("verb"), "action_data": param(_card.action_data, "data")}
    if acknowledging:
        values["acknowledged_by"] = param(_card.acknowledged_by, "by")
        values["acknowledged_at"] = param(_card.acknowledged_at, "at")
    return (
        update(_DELIVERIES)
        .where(_card.event_id == bindparam("b_event_id"), _card.kind == DeliveryKind.POST.value)
        .values(values)
    )


_RECORDED = {False: _recorded(False), True: _recorded(True)}  # every click runs one


async def record_action(
    session: AsyncSession, alert: Alert, verb: str, data: dict[str, Any]
) -> None:
    """The delivery audit columns: every post of the alert records the action."""
    acknowledging = verb == "acknowledge"
    params: dict[str, Any] = {"b_event_id": alert.id, "verb": verb, "data": data}
    if acknowledging:
        params.update(by=data.get("actor"), at=alert.acknowledged_at)
    await session.execute(_RECORDED[acknowledging], params)


# Every claimed batch of sends reads its alerts.
_BY_IDS = select(*_ALERT).where(_EVENTS.c.id.in_(bindparam("ids", expanding=True)))


async def get_many(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, Alert]:
    """Alerts by id, in one query."""
    if not event_ids:
        return {}
    rows = await session.execute(_BY_IDS, {"ids": sorted(set(event_ids))})
    return {r.id: to_alert(r) for r in rows.all()}


async def add_note(session: AsyncSession, event_id: str, author: str) -> Alert | None:
    """Count a note on the alert and who wrote the last; the alert as it now is."""
    row = await session.scalar(
        update(Event)
        .where(Event.id == event_id)
        .values(note_count=Event.note_count + 1, last_note_by=author[:255])
        .returning(Event)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return to_alert(row) if row is not None else None


async def console_alerts(
    session: AsyncSession,
    *,
    tenant: str | None,
    state: str,
    priority: Priority | None,
    text: str,
    limit: int,
    labels: dict[str, str] | None = None,
) -> tuple[list[Alert], int]:
    """Alerts for the console, most severe first, then oldest, and how many match in all:
    `state` is `open`, `all`, `muted` (open and kept quiet) or one state; `text` matches the
    title, case-insensitively; `labels` are values some labels must have."""
    conditions: list[Any] = []
    if tenant is not None:
        conditions.append(Event.tenant_id == tenant)
    for name, value in (labels or {}).items():
        conditions.append(Event.labels[name].as_string() == value)
    if state == "muted":
        conditions.append(Event.state != AlertState.RESOLVED.value)
        conditions.append(Event.muted_by.is_not(None))
    elif state == "open":
        conditions.append(Event.state != AlertState.RESOLVED.value)
    elif state != "all":
        conditions.append(Event.state == state)
    if priority is not None:
        conditions.append(Event.priority == priority.value)
    if text:
        conditions.append(Event.title.icontains(text, autoescape=True))
    rows = await session.scalars(
        select(Event)
        .where(*conditions)
        .order_by(Event.priority_rank.desc(), Event.first_seen)
        .limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(Event).where(*conditions))
    return [to_alert(r) for r in rows.all()], int(total or 0)


async def delivered_to(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, list[str]]:
    """The channels each alert's card was posted to (sent), by name."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Delivery.event_id, Channel.name)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(
            Delivery.event_id.in_(sorted(set(event_ids))),
            Delivery.kind == DeliveryKind.POST.value,
            Delivery.status == DeliveryStatus.SENT.value,
        )
        .distinct()
    )
    found: dict[str, list[str]] = {}
    for event_id, name in rows.all():
        found.setdefault(str(event_id), []).append(str(name))
    return {k: sorted(v) for k, v in found.items()}
