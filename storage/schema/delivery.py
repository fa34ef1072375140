"""Where alerts go and how they got there: integrations, channels, routes, deliveries and their
attempts, shared send pacing, per-user defaults and overrides, syncs and provider webhooks."""

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
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, Json, UtcDateTime, new_id, utcnow


class Integration(Base):
    """A configured connection to an external system ."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(50), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token of a JSON object
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    provider_status: Mapped[str] = mapped_column(String(20), default="active")
    audience: Mapped[str] = mapped_column(String(20), default="tenant")
    capabilities: Mapped[list[str]] = mapped_column(Json, default=list)
    connection_status: Mapped[str | None] = mapped_column(String(50))
    connection_error: Mapped[str | None] = mapped_column(Text)
    last_connection_test_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_connection_test_result: Mapped[str | None] = mapped_column(String(20))
    credentials_expire_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sync_interval: Mapped[int] = mapped_column(Integer, default=60)
    sync_direction: Mapped[str] = mapped_column(String(20), default="both")
    field_mappings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    allowed_shard_types: Mapped[list[str]] = mapped_column(Json, default=list)
    search_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    searchable_entities: Mapped[list[str]] = mapped_column(Json, default=list)
    search_filters: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Channel(Base):
    """A destination: a Slack channel, a Teams chat, a webhook URL, a PagerDuty service."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(50))
    integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL")
    )
    target: Mapped[str] = mapped_column(String(2048), default="")
    config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A person's direct messages (Slack DM, Teams 1:1, e-mail, SMS): not listed with channels.
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Route(Base):
    """A rule sending matching events to a channel."""

    __tablename__ = "routes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    event_glob: Mapped[str] = mapped_column(String(255), default="*")
    min_priority: Mapped[str] = mapped_column(String(10), default="INFO")
    stakeholders: Mapped[list[str]] = mapped_column(Json, default=list)
    source_glob: Mapped[str] = mapped_column(String(255), default="*")
    user_id: Mapped[str | None] = mapped_column(String(255))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # only when nothing else
    actions: Mapped[list[str] | None] = mapped_column(Json)  # the verbs its cards offer; None: all
    escalation_policy: Mapped[str | None] = mapped_column(String(255))  # a policy's name
    matchers: Mapped[list[str] | None] = mapped_column(Json)  # Alertmanager-style, all must hold
    continues: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    mute_time_intervals: Mapped[list[str] | None] = mapped_column(Json)  # quiet inside these
    active_time_intervals: Mapped[list[str] | None] = mapped_column(Json)  # heard only inside
    grouping: Mapped[dict[str, Any] | None] = mapped_column(Json)  # group_by and its intervals
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Delivery(Base):
    """An outbox row and, once sent, the audit record of that delivery, for every channel type."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_channel_status", "channel_id", "status"),
        Index("ix_deliveries_user_created", "user_id", "created_at"),
        Index("ix_deliveries_event", "event_id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="SET NULL")
    )
    integration_id: Mapped[str | None] = mapped_column(String(32))
    channel_type: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(2048), default="")
    kind: Mapped[str] = mapped_column(String(10), default="post")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # every try, 429s included
    failures: Mapped[int] = mapped_column(Integer, default=0)  # tries that spent retry budget
    max_attempts: Mapped[int] = mapped_column(Integer, default=4)
    retry_delay_seconds: Mapped[float] = mapped_column(default=30.0)
    retry_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the budget, as a time
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    card_payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    message_ref: Mapped[str | None] = mapped_column(String(512))
    digest_id: Mapped[str | None] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[str] = mapped_column(String(10))
    event_type: Mapped[str] = mapped_column(String(255))
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    stakeholders: Mapped[list[str]] = mapped_column(Json, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    action_taken: Mapped[str | None] = mapped_column(String(50))
    action_data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeliveryAttempt(Base):
    """One try at sending a delivery: its outcome, kept so every attempt can be shown."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_after_seconds: Mapped[float | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class IntegrationDefault(Base):
    """A system default for one integration type, edited by an admin."""

    __tablename__ = "integration_defaults"
    integration_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[int] = mapped_column(Integer)
    retry_count: Mapped[int] = mapped_column(Integer)
    retry_delay_seconds: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class UserOverride(Base):
    """One user's override of the defaults for one integration type."""

    __tablename__ = "user_integration_overrides"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "integration_type"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    integration_type: Mapped[str] = mapped_column(String(50))
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    priority: Mapped[int | None] = mapped_column(Integer)
    retry_count: Mapped[int | None] = mapped_column(Integer)
    retry_delay_seconds: Mapped[int | None] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AdminPreferences(Base):
    """A tenant's admins' choice of integration events to hear about."""

    __tablename__ = "admin_preferences"
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    connection_issues: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_failures: Mapped[bool] = mapped_column(Boolean, default=True)
    credential_expiration: Mapped[bool] = mapped_column(Boolean, default=True)
    configuration_changes: Mapped[bool] = mapped_column(Boolean, default=False)
    status_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SyncLog(Base):
    """One run of an integration's sync and what it did."""

    __tablename__ = "integration_sync_log"
    __table_args__ = (Index("ix_sync_log_integration_started", "integration_id", "started_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(50))
    sync_type: Mapped[str] = mapped_column(String(20))
    entities: Mapped[list[str]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(String(20))
    records_processed: Mapped[int] = mapped_column(Integer, default=0)
    records_created: Mapped[int] = mapped_column(Integer, default=0)
    records_updated: Mapped[int] = mapped_column(Integer, default=0)
    records_failed: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookEvent(Base):
    """An inbound provider webhook, kept for idempotency and audit."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of integration + payload
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    event_type: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    signature: Mapped[str | None] = mapped_column(String(512))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SendPace(Base):
    """A destination's next free send slot (seconds since the epoch, database clock).

    Used on PostgreSQL, where several worker processes send to the same channels.
    """

    __tablename__ = "send_paces"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)
    paused_until: Mapped[float] = mapped_column(Float, server_default="0")  # a 429's Retry-After
