"""Which template an alert uses, which buttons it shows, and the integration notices."""

from __future__ import annotations

from dataclasses import dataclass

from cards.style import shown_state
from domain import Alert, AlertState, Verb

# Action ids shared by the card builders and the handlers that receive the clicks.
ACTION_IDS: dict[Verb, str] = {verb: verb.value for verb in Verb}
BUTTON_LABELS: dict[Verb, str] = {
    Verb.ACKNOWLEDGE: "Acknowledge",
    Verb.ESCALATE: "Escalate",
    Verb.RESOLVE: "Resolve",
    Verb.RETRY: "Retry",
    Verb.DISCARD: "Discard",
    Verb.SNOOZE: "Snooze",
    Verb.UNSNOOZE: "Unsnooze",
    Verb.NOTE: "Add note",
}
SNOOZE_LABELS = {30: "30 minutes", 60: "1 hour", 240: "4 hours", 1440: "1 day"}


@dataclass(frozen=True)
class Template:
    """A kind of card: its label and the buttons it offers while open."""

    name: str
    label: str
    verbs: tuple[Verb, ...]


GENERIC = Template("alert", "🚨 Alert", (Verb.ACKNOWLEDGE, Verb.ESCALATE, Verb.RESOLVE))
INTEGRATION = Template("integration", "🔌 Integration", (Verb.ACKNOWLEDGE, Verb.RESOLVE))
FAILED_JOB = Template("failed_job", "⚙️ Failed job", (Verb.RETRY, Verb.DISCARD))
SECURITY = Template("security", "🛡️ Security event", (Verb.ACKNOWLEDGE, Verb.ESCALATE, Verb.RESOLVE))
UPSTREAM = Template(
    "upstream_api_error", "🌐 Upstream API error", (Verb.ACKNOWLEDGE, Verb.ESCALATE, Verb.RESOLVE)
)

FAILED_JOB_TYPES = ("integration.sync.failed", "delivery.dead_letter")


def template_for(alert: Alert) -> Template:
    """The template an alert is shown with, chosen by its event type."""
    kind = alert.event_type.lower()
    if kind in FAILED_JOB_TYPES or alert.metadata.get("job"):
        return FAILED_JOB
    if kind.startswith("security."):
        return SECURITY
    if kind.endswith(("api_error", "api.error", ".upstream_error")):
        return UPSTREAM
    if kind.startswith("integration."):
        return INTEGRATION
    return GENERIC


def offers(offered: frozenset[Verb] | None, verb: Verb) -> bool:
    """Whether a channel whose routes offer `offered` (None: every verb) offers `verb`."""
    if offered is None:
        return True
    return verb in offered or (verb is Verb.UNSNOOZE and Verb.SNOOZE in offered)


def verbs_for(alert: Alert, offered: frozenset[Verb] | None = None) -> tuple[Verb, ...]:
    """Controls that still apply: none once resolved, no Acknowledge once acknowledged,
    Unsnooze instead of Snooze while snoozed, a note always; only those `offered`."""
    if alert.state is AlertState.RESOLVED:
        return ()
    template = template_for(alert)
    verbs = template.verbs
    if alert.state is AlertState.ACKNOWLEDGED:
        verbs = tuple(v for v in verbs if v is not Verb.ACKNOWLEDGE)
    if shown_state(alert) == "escalated" and alert.escalation_level >= 5:
        verbs = tuple(v for v in verbs if v is not Verb.ESCALATE)
    if template is not FAILED_JOB:
        verbs += (Verb.UNSNOOZE if alert.snoozed else Verb.SNOOZE,)
    verbs += (Verb.NOTE,)
    return tuple(v for v in verbs if offers(offered, v))


@dataclass(frozen=True)
class Notice:
    """An integration notification: its type, title, message and link."""

    event_type: str
    notification_type: str
    title: str
    message: str
    link: str


def integration_notice(event_type: str, integration_id: str, name: str, **data: str) -> Notice:
    """The wording of each integration event; `data` fills its placeholders."""
    spec = NOTICES.get(event_type)
    if spec is None:
        raise KeyError(f"no integration notice for {event_type!r}; known: {', '.join(NOTICES)}")
    kind, title, message, link = spec
    if event_type == "integration.provider.status.changed" and data.get("new_status") == "disabled":
        kind = "warning"
    values = {"integration_id": integration_id, "name": name, **data}
    return Notice(event_type, kind, title, message.format(**values), link.format(**values))


NOTICES: dict[str, tuple[str, str, str, str]] = {
    "integration.provider.status.changed": (
        "information",
        "Integration Provider Status Changed",
        'The "{provider}" integration provider status has changed from "{old_status}" to '
        '"{new_status}".',
        "/integrations/{integration_id}",
    ),
    "integration.provider.audience.changed": (
        "information",
        "Integration Provider Audience Changed",
        'The "{provider}" integration provider audience has changed from "{old_audience}" to '
        '"{new_audience}".',
        "/integrations/{integration_id}",
    ),
    "integration.connection.status.changed": (
        "warning",
        "Integration Connection Status Changed",
        'The connection status of "{name}" has changed from "{old_status}" to "{new_status}".',
        "/integrations/{integration_id}",
    ),
    "integration.connection.test.failed": (
        "warning",
        "Integration Connection Test Failed",
        'The connection test for "{name}" failed: {error}. Please check your credentials and '
        "try again.",
        "/integrations/{integration_id}/test",
    ),
    "integration.sync.failed": (
        "error",
        "Integration Sync Task Failed",
        'The sync task for "{name}" has failed after {retry_count} attempts: {error}. Please '
        "review the sync configuration.",
        "/integrations/{integration_id}/sync/{task_id}",
    ),
    "integration.credentials.expired": (
        "error",
        "Integration Credentials Expired",
        'The credentials for "{name}" have expired. Please update your credentials to continue '
        "syncing data.",
        "/integrations/{integration_id}/credentials",
    ),
    "integration.data_access.updated": (
        "information",
        "Integration Data Access Updated",
        'The data access configuration for "{name}" has been updated. Previously allowed: '
        "{old_allowed}. Now allowed: {new_allowed}.",
        "/integrations/{integration_id}/configure",
    ),
    "integration.search.updated": (
        "information",
        "Integration Search Configuration Updated",
        'The search configuration for "{name}" has been updated.',
        "/integrations/{integration_id}/configure",
    ),
}
