"""The database schema: SQLAlchemy 2 models for every table the bot keeps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A fresh random identifier."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base all tables share."""

    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    """A workspace or organisation; every other row belongs to one."""

    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    teams_tenant_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    admin_channel_id: Mapped[str | None] = mapped_column(String(32))  # where notices go first
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


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


class TenantAdmin(Base):
    """A person an admin made an admin of this tenant, on one chat platform."""

    __tablename__ = "tenant_admins"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    """A REST API key of one tenant: its name is the actor, its scope what it may do."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown, and used to find it
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the secret part, hex
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SendPace(Base):
    """A destination's next free send slot (seconds since the epoch, database clock).

    Used on PostgreSQL, where several worker processes send to the same channels.
    """

    __tablename__ = "send_paces"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)
    paused_until: Mapped[float] = mapped_column(Float, server_default="0")  # a 429's Retry-After


class InstanceSecret(Base):
    """A value every process of one installation shares: the fingerprint of the encryption
    key the stored secrets were written with, the console's session signing key."""

    __tablename__ = "instance_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConsoleSignout(Base):
    """A console session ended on the server: its cookie is refused until it would expire."""

    __tablename__ = "console_signouts"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)


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
