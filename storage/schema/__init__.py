"""The database schema: SQLAlchemy 2 models for every table the bot keeps, one module per part
of the product, all on one declarative base (`Base.metadata` holds every table)."""

from storage.schema.alerts import ActionAudit, AlertGroup, Event, Heartbeat
from storage.schema.base import Base, Json, UtcDateTime, new_id, param, table_of, utcnow
from storage.schema.delivery import (
    AdminPreferences,
    Channel,
    Delivery,
    DeliveryAttempt,
    Integration,
    IntegrationDefault,
    Route,
    SendPace,
    SyncLog,
    UserOverride,
    WebhookEvent,
)
from storage.schema.noise import InhibitRule, Silence, TimeInterval
from storage.schema.oncall import (
    Escalation,
    EscalationPolicy,
    OnCallSchedule,
    Person,
    ScheduleOverride,
)
from storage.schema.tenancy import ApiKey, ConsoleSignout, InstanceSecret, Tenant, TenantAdmin

__all__ = [
    "ActionAudit",
    "AdminPreferences",
    "AlertGroup",
    "ApiKey",
    "Base",
    "Channel",
    "ConsoleSignout",
    "Delivery",
    "DeliveryAttempt",
    "Escalation",
    "EscalationPolicy",
    "Event",
    "Heartbeat",
    "InhibitRule",
    "InstanceSecret",
    "Integration",
    "IntegrationDefault",
    "Json",
    "OnCallSchedule",
    "Person",
    "Route",
    "ScheduleOverride",
    "SendPace",
    "Silence",
    "SyncLog",
    "Tenant",
    "TenantAdmin",
    "TimeInterval",
    "UserOverride",
    "UtcDateTime",
    "WebhookEvent",
    "new_id",
    "param",
    "table_of",
    "utcnow",
]
