"""Alerts for card tests: one per template, in any state, at a fixed moment."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from domain import Alert, AlertState, Priority

NOW = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
PUBLIC = "https://chatops.example.com"

TEMPLATES: dict[str, Alert] = {}


def _alert(key: str, **fields: object) -> Alert:
    base = dict(
        id=f"{key}-0001",
        tenant="default",
        event_type="generic",
        priority=Priority.HIGH,
        title="Title",
        body="",
        state=AlertState.TRIGGERED,
        dedup_key=key,
        source="api",
        link=None,
        stakeholders=(),
        facts={},
        correlation_id=None,
        occurrences=1,
        first_seen=NOW - timedelta(minutes=12),
        last_seen=NOW - timedelta(minutes=2),
    )
    base.update(fields)
    alert = Alert(**base)  # type: ignore[arg-type]
    TEMPLATES[key] = alert
    return alert


_alert(
    "generic",
    title="Disk 97% on db-1",
    priority=Priority.CRITICAL,
    body="/var is almost full.",
    stakeholders=("SRE", "DBA"),
    facts={"host": "db-1", "mount": "/var"},
    occurrences=4,
    link="https://grafana.example.com/d/disk",
    correlation_id="req-81",
)
_alert(
    "provider_status",
    event_type="integration.provider.status.changed",
    priority=Priority.INFO,
    title="Integration Provider Status Changed",
    body='The "Jira" integration provider status has changed from "active" to "deprecated".',
    link="https://chatops.example.com/integrations/42",
    facts={"provider": "Jira"},
)
_alert(
    "provider_audience",
    event_type="integration.provider.audience.changed",
    priority=Priority.INFO,
    title="Integration Provider Audience Changed",
    body='The "Jira" integration provider audience has changed from "tenant" to "system".',
)
_alert(
    "connection_status",
    event_type="integration.connection.status.changed",
    priority=Priority.MEDIUM,
    title="Integration Connection Status Changed",
    body='The connection status of "Jira - Platform" has changed from "connected" to "error".',
)
_alert(
    "connection_test",
    event_type="integration.connection.test.failed",
    priority=Priority.MEDIUM,
    title="Integration Connection Test Failed",
    body='The connection test for "Salesforce - Sales Team" failed: HTTP 401. Please check your credentials and try again.',
    link="https://chatops.example.com/integrations/42/test",
)
_alert(
    "sync_failed",
    event_type="integration.sync.failed",
    priority=Priority.HIGH,
    title="Integration Sync Task Failed",
    body='The sync task for "Jira - Platform" has failed after 3 attempts: HTTP 401. Please review the sync configuration.',
    link="https://chatops.example.com/integrations/42/sync/7",
    correlation_id="task-7",
    facts={"integration": "Jira - Platform", "attempts": "3"},
)
_alert(
    "credentials_expired",
    event_type="integration.credentials.expired",
    priority=Priority.HIGH,
    title="Integration Credentials Expired",
    body='The credentials for "Salesforce - Sales Team" have expired. Please update your credentials to continue syncing data.',
    link="https://chatops.example.com/integrations/42/credentials",
)
_alert(
    "data_access",
    event_type="integration.data_access.updated",
    priority=Priority.INFO,
    title="Integration Data Access Updated",
    body='The data access configuration for "Jira" has been updated. Previously allowed: a. Now allowed: a, b.',
)
_alert(
    "search_config",
    event_type="integration.search.updated",
    priority=Priority.INFO,
    title="Integration Search Configuration Updated",
    body='The search configuration for "Jira" has been updated.',
)
_alert(
    "dead_letter",
    event_type="delivery.dead_letter",
    priority=Priority.HIGH,
    title="Delivery to #ops failed after 4 attempts",
    body="slack: HTTP 500",
    source="chatops",
    facts={"channel": "#ops", "attempts": "4"},
)
_alert(
    "security",
    event_type="security.vault.sealed",
    priority=Priority.CRITICAL,
    title="Vault sealed on vault-2",
    body="The Vault cluster is sealed; secrets are unavailable.",
    stakeholders=("SECURITY_ENG",),
    facts={"node": "vault-2"},
)
_alert(
    "upstream",
    event_type="nphies.api_error",
    priority=Priority.MEDIUM,
    title="Payer API answered 503",
    body="POST /claims failed three times.",
    facts={"endpoint": "/claims", "status": "503"},
)


def in_state(alert: Alert, state: str) -> Alert:
    """The alert as it looks in `state` (escalated is triggered at level 1; snoozed is
    triggered, snoozed for an hour, with two notes)."""
    if state == "acknowledged":
        return dataclasses.replace(
            alert,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_by="Dana Ops",
            acknowledged_at=NOW - timedelta(minutes=1),
        )
    if state == "escalated":
        return dataclasses.replace(alert, escalation_level=1)
    if state == "snoozed":
        return dataclasses.replace(
            alert,
            snoozed_until=NOW + timedelta(hours=1),
            snoozed_by="Dana Ops",
            note_count=2,
            last_note_by="Lee",
        )
    if state == "resolved":
        return dataclasses.replace(
            alert, state=AlertState.RESOLVED, resolved_by="Lee", resolved_at=NOW
        )
    return alert
