"""The explicit registry of adapter types: their settings, declared as data, and factories."""

from __future__ import annotations

from adapters import builders
from adapters.base import BadConfig
from adapters.kinds import AdapterType, Setting, url_setting
from adapters.pagerduty import API_URL as PD_API_URL
from adapters.pagerduty import EVENTS_URL

TYPES: dict[str, AdapterType] = {
    "webhook": AdapterType(
        id="webhook",
        name="Generic Webhook",
        description="POST each alert as JSON, signed with HMAC-SHA256",
        settings=(
            url_setting(
                "url", "URL to POST to", secret=True, help="https://example.com/hooks/chatops"
            ),
            Setting("secret", "Signing secret", secret=True, required=False),
        ),
        build=builders.webhook,
        capabilities=("notifications", "webhooks", "digests"),
    ),
    "slack": AdapterType(
        id="slack",
        name="Slack",
        description="Post alert cards to Slack channels and update them in place",
        settings=(
            Setting("bot_token", "Bot token (xoxb-...)", secret=True),
            Setting("channel", "Default channel id", required=False),
            url_setting("api_url", "Web API base URL", required=False),
        ),
        build=builders.slack,
        capabilities=("notifications", "interactive", "commands", "digests"),
        rate_per_minute=50,  # Slack allows about one message a second per channel
    ),
    "teams": AdapterType(
        id="teams",
        name="Microsoft Teams",
        description="Adaptive Cards in Teams: through the bot, or a Workflows webhook URL",
        settings=(
            url_setting(
                "webhook_url", "Workflows webhook URL (send-only mode)", secret=True, required=False
            ),
            Setting("webhook_secret", "HMAC secret for the webhook", secret=True, required=False),
        ),
        build=builders.teams,
        capabilities=("notifications", "interactive", "commands", "digests"),
        rate_per_minute=60,
    ),
    "pagerduty": AdapterType(
        id="pagerduty",
        name="PagerDuty",
        description="Trigger, acknowledge and resolve PagerDuty incidents (Events API v2)",
        settings=(
            Setting("routing_key", "Integration key (Events API v2)", secret=True),
            url_setting("events_url", "Events API URL", required=False, default=EVENTS_URL),
            Setting(
                "default_severity",
                "Default severity",
                required=False,
                default="info",
                choices=("critical", "error", "warning", "info"),
            ),
            Setting(
                "api_key",
                "REST API key (to test and sync incident state)",
                secret=True,
                required=False,
            ),
            url_setting("api_url", "REST API URL", required=False, default=PD_API_URL),
            Setting(
                "webhook_secret", "v3 webhook subscription secret", secret=True, required=False
            ),
        ),
        build=builders.pagerduty,
        capabilities=(
            "notifications",
            "escalation",
            "full_sync",
            "incremental_sync",
            "webhooks",
        ),
        entities=("incidents",),
        rate_per_minute=120,
    ),
    "opsgenie": AdapterType(
        id="opsgenie",
        name="Opsgenie",
        description="Create, acknowledge and close Opsgenie alerts; their state comes back",
        settings=(
            Setting("api_key", "API integration key", secret=True),
            url_setting("api_url", "API URL (api.eu.opsgenie.com in the EU)", required=False),
            Setting("responders", "Responder teams, comma-separated", required=False),
        ),
        build=builders.opsgenie,
        capabilities=("notifications", "escalation", "incremental_sync"),
        entities=("alerts",),
        looks_up_refs=True,
        rate_per_minute=120,
    ),
    "jira": AdapterType(
        id="jira",
        name="Jira",
        description="An issue per alert (route it at an escalation level); issue state syncs back",
        settings=(
            url_setting("site_url", "Site URL", help="https://your-team.atlassian.net"),
            Setting("email", "Account e-mail"),
            Setting("api_token", "API token", secret=True),
            Setting("project_key", "Project key", help="OPS"),
            Setting("issue_type", "Issue type", required=False, default="Task"),
            Setting("webhook_secret", "Webhook secret", secret=True, required=False),
        ),
        build=builders.jira,
        capabilities=("notifications", "escalation", "incremental_sync", "webhooks"),
        entities=("issues",),
        looks_up_refs=True,
        rate_per_minute=60,
    ),
    "servicenow": AdapterType(
        id="servicenow",
        name="ServiceNow",
        description="An incident per alert, updated and resolved with it; its state syncs back",
        settings=(
            url_setting(
                "instance_url", "Instance URL", help="https://your-instance.service-now.com"
            ),
            Setting("username", "User name"),
            Setting("password", "Password", secret=True),
            Setting("assignment_group", "Assignment group (sys_id or name)", required=False),
        ),
        build=builders.servicenow,
        capabilities=("notifications", "escalation", "incremental_sync"),
        entities=("incidents",),
        looks_up_refs=True,
        rate_per_minute=60,
    ),
    "email": AdapterType(
        id="email",
        name="E-mail",
        description="Mail alerts over SMTP as HTML and plain text, changes threaded as replies",
        settings=(
            Setting("host", "SMTP server"),
            Setting("port", "Port", required=False, default="587"),
            Setting(
                "security",
                "starttls, tls or none",
                required=False,
                default="starttls",
                choices=("starttls", "tls", "none"),
            ),
            Setting("username", "User name", required=False),
            Setting("password", "Password", secret=True, required=False),
            Setting("from_address", "From address", help="chatops@example.com"),
            Setting("to", "To (comma-separated; a channel target overrides)", required=False),
        ),
        build=builders.email,
        capabilities=("notifications",),
        rate_per_minute=30,
    ),
    "sms": AdapterType(
        id="sms",
        name="SMS (Twilio)",
        description="Text new alerts and their resolution through Twilio",
        settings=(
            Setting("account_sid", "Account SID"),
            Setting("auth_token", "Auth token", secret=True),
            Setting("from_number", "From number (E.164)", required=False),
            Setting("messaging_service_sid", "Messaging service SID", required=False),
            Setting("to", "Numbers to text (E.164, comma-separated)", required=False),
            url_setting("api_url", "API URL", required=False),
        ),
        build=builders.sms,
        capabilities=("notifications",),
        rate_per_minute=30,
    ),
    "alertmanager": AdapterType(
        id="alertmanager",
        name="Prometheus Alertmanager",
        description="Snoozing an alert from Alertmanager silences it there for the same time",
        settings=(
            url_setting("url", "Alertmanager URL", help="http://alertmanager:9093"),
            Setting("username", "Basic auth user name", required=False),
            Setting("password", "Basic auth password", secret=True, required=False),
            Setting("token", "Bearer token", secret=True, required=False),
        ),
        build=builders.alertmanager,
        capabilities=("silences",),
        rate_per_minute=60,
    ),
}


def shows_digests(type_id: str) -> bool:
    """Whether a destination of this type can show a digest (one message naming many alerts).

    Chat cards and the webhook's digest JSON can; a pager or a ticket system gets every alert
    as its own event, however many arrive: a page folded into a digest is a page lost."""
    kind = TYPES.get(type_id)
    return kind is not None and "digests" in kind.capabilities


def adapter_type(type_id: str) -> AdapterType:
    """The registered type, or BadConfig listing the ones there are."""
    try:
        return TYPES[type_id]
    except KeyError:
        raise BadConfig(
            f"unknown integration type {type_id!r}; known types: {', '.join(sorted(TYPES))}"
        ) from None
