"""Rows to `domain` records: repositories never hand ORM objects out."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Label, Row, inspect

from domain import Alert, AlertState, DeliveryKind, Link, OutboxItem, Priority, RouteRule, Verb
from domain.grouping import grouping_from
from domain.matchers import parse_all
from storage.schema import Base, Delivery, Event, Route


def attribute_columns(model: type[Base]) -> list[Label[Any]]:
    """A model's columns named as its attributes: a Core statement selecting them gives rows
    that read like the model's objects, without the ORM building one per row."""
    mapper = inspect(model)
    return [column.label(prop.key) for prop in mapper.column_attrs for column in prop.columns]


def to_alert(row: Event | Row[Any] | SimpleNamespace) -> Alert:
    """The alert a card or adapter renders (from the ORM's row, a Core row of
    `attribute_columns(Event)`, or a new row not yet written: `intake.NewEvent`)."""
    return Alert(
        id=row.id,
        tenant=row.tenant_id,
        event_type=row.event_type,
        priority=Priority(row.priority),
        title=row.title,
        body=row.body,
        state=AlertState(row.state),
        dedup_key=row.dedup_key,
        source=row.source,
        link=row.link,
        stakeholders=tuple(row.stakeholders or ()),
        facts=dict(row.facts or {}),
        correlation_id=row.correlation_id,
        occurrences=row.occurrences,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        escalation_level=row.escalation_level,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        metadata=dict(row.meta or {}),
        view_token=row.view_token,
        links=tuple(Link(str(x["title"]), str(x["url"])) for x in row.links or ()),
        snoozed_until=row.snoozed_until,
        snoozed_by=row.snoozed_by,
        note_count=row.note_count or 0,
        last_note_by=row.last_note_by,
        paging=row.paging,
        labels=dict(row.labels or {}),
        muted_by=row.muted_by,
    )


def to_rule(row: Route) -> RouteRule:
    """A routing rule."""
    return RouteRule(
        id=row.id,
        tenant=row.tenant_id,
        channel_id=row.channel_id,
        event_glob=row.event_glob,
        min_priority=Priority(row.min_priority),
        stakeholders=tuple(row.stakeholders or ()),
        source_glob=row.source_glob,
        user_id=row.user_id,
        escalation_level=row.escalation_level,
        is_default=bool(row.is_default),
        actions=tuple(Verb(v) for v in row.actions) if row.actions is not None else None,
        escalation_policy=row.escalation_policy,
        matchers=parse_all(row.matchers or ()),
        continues=row.continues is not False,
        mute_time_intervals=tuple(row.mute_time_intervals or ()),
        active_time_intervals=tuple(row.active_time_intervals or ()),
        grouping=grouping_from(row.grouping) if row.grouping else None,
    )


def to_item(row: Delivery | Row[Any]) -> OutboxItem:
    """A claimed outbox row (the ORM's, or the table's row as the claim returns it)."""
    assert row.lease_until is not None
    return OutboxItem(
        id=row.id,
        tenant=row.tenant_id,
        event_id=row.event_id,
        channel_id=row.channel_id,
        integration_id=row.integration_id,
        channel_type=row.channel_type,
        kind=DeliveryKind(row.kind),
        attempts=row.attempts,
        failures=row.failures,
        max_attempts=row.max_attempts,
        retry_delay_seconds=row.retry_delay_seconds,
        lease_until=row.lease_until,
        message_ref=row.message_ref,
        priority=Priority(row.priority),
        created_at=row.created_at,
        notes=tuple(str(n) for n in (row.action_data or {}).get("notes", [])),
        group=(row.action_data or {}).get("group"),
        retry_until=row.retry_until,
    )
