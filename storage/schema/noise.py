"""Less noise: silences, inhibition rules and named time intervals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, Json, UtcDateTime, new_id, utcnow


class Silence(Base):
    """Label matchers that mute matching alerts from `starts_at` until `ends_at`."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_tenant_ends", "tenant_id", "ends_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    matchers: Mapped[list[str]] = mapped_column(Json)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expired_by: Mapped[str | None] = mapped_column(String(255))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # its alerts were told


class InhibitRule(Base):
    """While an alert matching `source_matchers` fires, alerts matching `target_matchers` with
    the same values of the `equal` labels are muted (Alertmanager's inhibition)."""

    __tablename__ = "inhibit_rules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source_matchers: Mapped[list[str]] = mapped_column(Json)
    target_matchers: Mapped[list[str]] = mapped_column(Json)
    equal: Mapped[list[str]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TimeInterval(Base):
    """A named, recurring window (Alertmanager's `time_intervals`) routes mute or act in."""

    __tablename__ = "time_intervals"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    time_intervals: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
