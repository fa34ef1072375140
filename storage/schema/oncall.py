"""People and on-call: people, schedules and their overrides, escalation policies and running
escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, Json, UtcDateTime, new_id, utcnow


class Person(Base):
    """Someone who can be on call, with the identities that reach them."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    teams_aad_object_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    # How the bot reaches them in Teams: their account id and 1:1 conversation, once known.
    teams_user_id: Mapped[str | None] = mapped_column(String(128))
    teams_service_url: Mapped[str | None] = mapped_column(String(2048))
    teams_conversation_id: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OnCallSchedule(Base):
    """Layers of rotations in a time zone; `feed_token` makes its iCalendar feed's secret URL."""

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64))
    layers: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    feed_token: Mapped[str] = mapped_column(String(64))
    announce_channel: Mapped[str | None] = mapped_column(String(255))  # says each hand-off
    slack_usergroup: Mapped[str | None] = mapped_column(String(64))  # kept to the on-call
    last_on_call: Mapped[str | None] = mapped_column(String(255))  # the last hand-off told
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScheduleOverride(Base):
    """Someone on call instead, for a while."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_schedule_end", "schedule_id", "ends_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EscalationPolicy(Base):
    """Steps that page people, schedules and channels; `document` is its REST/file shape."""

    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Escalation(Base):
    """A policy running for one alert: the step it fires next and when, what it paged.

    `policy` is the policy's document as it was when the alert started it. `due_at` is the
    soonest thing to do (the next step, a reminder, the end of an acknowledgement), so the
    scheduler's tick reads only what is due."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_due", "due_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    policy_name: Mapped[str] = mapped_column(String(255))
    policy: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20), default="running")
    step: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unack_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledger: Mapped[str | None] = mapped_column(String(255))  # a person's name
    fired: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
