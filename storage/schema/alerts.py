"""Alerts and what happened to them: events (one row per alert), the audit trail, living group
cards and heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, Json, UtcDateTime, new_id, utcnow


class Event(Base):
    """An alert: one stored event and its state, deduplicated by key while open."""

    __tablename__ = "events"
    __table_args__ = (
        # At most one open event per key: the database settles concurrent duplicates.
        UniqueConstraint("tenant_id", "open_key"),
        Index("ix_events_open_by_priority", "state", "priority_rank", "first_seen"),
        Index("ix_events_tenant_last_seen", "tenant_id", "last_seen"),
        Index("ix_events_tenant_inhibits", "tenant_id", "inhibits"),
        Index("ix_events_tenant_first_seen", "tenant_id", "first_seen"),  # reports
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(255), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    priority_rank: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(255), default="api")
    dedup_key: Mapped[str] = mapped_column(String(255), index=True)
    view_token: Mapped[str | None] = mapped_column(String(32))  # the key of its read-only page
    open_key: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20), default="triggered")
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    correlation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stakeholders: Mapped[list[str]] = mapped_column(Json, default=list)
    facts: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    links: Mapped[list[dict[str, str]] | None] = mapped_column(Json)  # [{"title", "url"}]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    # A snooze: cards say so, repeats stay quiet and the escalation clock stops until it ends.
    snoozed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    snoozed_by: Mapped[str | None] = mapped_column(String(255))
    silence_id: Mapped[str | None] = mapped_column(String(64))  # its Alertmanager silence
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_note_by: Mapped[str | None] = mapped_column(String(255))
    paging: Mapped[str | None] = mapped_column(String(255))  # who its policy pages, at which step
    labels: Mapped[dict[str, str] | None] = mapped_column(Json)  # what matchers see
    muted_by: Mapped[str | None] = mapped_column(String(64))  # `silence:<id>`: kept, not posted
    inhibits: Mapped[bool | None] = mapped_column(Boolean)  # matches an inhibition rule's source
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ActionAudit(Base):
    """Who did what to an alert, when, and from which platform."""

    __tablename__ = "action_audit"
    __table_args__ = (Index("ix_action_audit_event_at", "event_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    verb: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class AlertGroup(Base):
    """Alerts one route sends to one channel with the same group labels: one living card.

    The card is a delivery of kind `group`; each member's own card row is `folded` into it
    (its `digest_id` is the card's id). `changes` are what happened since the last reply under
    the card, told at most once per `interval_seconds`; `notified_at` is when the card or a
    reply last told the channel, and a reply repeats the firing count after `repeat_seconds`.
    """

    __tablename__ = "alert_groups"
    __table_args__ = (
        Index(
            "ux_alert_groups_open",
            "channel_id",
            "route_id",
            "group_key",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_alert_groups_card", "card_id"),
        Index("ix_alert_groups_check", "closed_at", "check_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    route_id: Mapped[str] = mapped_column(String(32))
    group_key: Mapped[str] = mapped_column(String(160))
    labels: Mapped[dict[str, str]] = mapped_column(Json)
    card_id: Mapped[str] = mapped_column(String(32))
    interval_seconds: Mapped[float] = mapped_column(Float)
    repeat_seconds: Mapped[float] = mapped_column(Float)
    changes: Mapped[list[str] | None] = mapped_column(Json)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    check_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a reply may be due then
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Heartbeat(Base):
    """Something expected to ping every `interval_seconds`; silent past its grace, an alert
    (`alert_id` while it is open) says so (domain.heartbeats)."""

    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    interval_seconds: Mapped[float] = mapped_column(Float)
    grace_seconds: Mapped[float] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(10))
    watchdog: Mapped[str | None] = mapped_column(String(255))  # an Alertmanager alertname
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # of its secret URL's key
    last_ping_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_by: Mapped[str | None] = mapped_column(String(255))
    alert_id: Mapped[str | None] = mapped_column(String(32))  # the missed-heartbeat alert
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
