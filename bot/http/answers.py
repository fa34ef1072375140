"""The shapes of the REST API's answers, as the published document states them.

The main documents (an event, a delivery, the envelopes) are stated field by field; the
answers of administration endpoints are stated as their envelope (`{"data": ...}`) holding an
object or a list of objects, whose fields the README and each resource's docstring describe.
Every model allows fields it does not name, so that adding one to an answer is not a break.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Submitted(Answer):
    id: str
    dedup_key: str
    state: str
    deduplicated: bool
    cleaned: list[str] = Field(description="what was cleaned or ignored in the body, said")


class LinkDocument(Answer):
    title: str | None
    url: str


class AlertDocument(Answer):
    id: str
    tenant: str
    event_type: str
    priority: str
    state: str
    title: str
    body: str
    link: str | None
    source: str
    dedup_key: str
    stakeholders: list[str]
    facts: dict[str, Any]
    labels: dict[str, str]
    muted_by: str | None
    links: list[LinkDocument]
    correlation_id: str | None
    occurrences: int
    first_seen: str | None
    last_seen: str | None
    escalation_level: int
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    snoozed_until: str | None
    snoozed_by: str | None
    note_count: int
    url: str | None


class EventList(Answer):
    events: list[AlertDocument]
    total: int
    limit: int
    offset: int


class DeliveryDocument(Answer):
    id: str
    event_id: str | None
    channel_id: str | None
    channel_type: str
    kind: str
    status: str
    attempts: int
    status_code: int | None
    error_message: str | None
    sent_at: str | None
    created_at: str


class EventDocument(AlertDocument):
    deliveries: list[DeliveryDocument]
    audit: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    escalation: dict[str, Any] | None


class ActedOn(AlertDocument):
    outcome: str
    message: str


class Accepted(Answer):
    accepted: int
    events: list[dict[str, Any]]
    watchdogs: list[str] | None = None


class Item(Answer):
    """`{"data": {...}}`: one resource."""

    data: dict[str, Any]


class Items(Answer):
    """`{"data": [...]}`: a list of resources."""

    data: list[dict[str, Any]]


class AuditTrail(Answer):
    entries: list[dict[str, Any]]
    limit: int


class Planned(Answer):
    changes: list[str]
    applied: bool
    message: str
