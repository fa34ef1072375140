"""The explicit registry of adapter types: their settings, declared as data, and factories."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.alertmanager import AlertmanagerAdapter, AlertmanagerConfig
from adapters.base import Adapter, BadConfig
from adapters.egress import has_userinfo, url_problem
from adapters.email import EmailAdapter, EmailConfig, addresses
from adapters.jira import JiraAdapter, JiraConfig
from adapters.opsgenie import API_URL as OPSGENIE_URL
from adapters.opsgenie import OpsgenieAdapter, OpsgenieConfig
from adapters.pagerduty import API_URL as PD_API_URL
from adapters.pagerduty import EVENTS_URL, PagerDutyAdapter, PagerDutyConfig
from adapters.servicenow import ServiceNowAdapter, ServiceNowConfig
from adapters.slack import API_URL, SlackAdapter, SlackConfig
from adapters.sms import API_URL as TWILIO_URL
from adapters.sms import SmsAdapter, SmsConfig, numbers
from adapters.teams import TeamsAdapter, TeamsConfig
from adapters.webhook import WebhookAdapter, WebhookConfig


@dataclass(frozen=True)
class Setting:
    """One setting of an integration type; secrets are encrypted and never shown."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    default: str | None = None
    help: str = ""
    url: bool = False  # an http(s) URL the bot connects to: its spelling is checked when stored
    choices: tuple[str, ...] = ()  # the words it may be, when it is one of a few


def url_setting(name: str, label: str, **options: Any) -> Setting:
    """A setting holding an http(s) URL the bot will connect to."""
    return Setting(name, label, url=True, **options)


@dataclass(frozen=True)
class BuildOptions:
    """What adapters take from the bot's settings rather than from an integration."""

    allow_private: bool = False
    slack_api_url: str = API_URL
    teams_app_id: str = ""
    teams_app_password: str = field(default="", repr=False)
    teams_tenant_id: str = ""


Factory = Callable[[Mapping[str, Any], httpx.AsyncClient, BuildOptions], Adapter]


@dataclass(frozen=True)
class AdapterType:
    """An integration type: what it is, what it can do, and how to build its adapter."""

    id: str
    name: str
    description: str
    settings: tuple[Setting, ...]
    build: Factory
    capabilities: tuple[str, ...] = ("notifications",)
    status: str = "active"  # active, beta, deprecated or disabled
    audience: str = "tenant"  # tenant: any tenant may add it; system: operators only
    rate_per_minute: int = 60
    entities: tuple[str, ...] = ()  # what its syncs read
    looks_up_refs: bool = False  # its sync reads the open alerts' records one by one
    requires_oauth: bool = False

    @property
    def syncs(self) -> bool:
        """Whether the scheduler runs syncs for integrations of this type."""
        return bool({"full_sync", "incremental_sync"} & set(self.capabilities))

    @property
    def available(self) -> bool:
        """Disabled types can no longer be added or synced; deprecated ones still work."""
        return self.status != "disabled"

    def split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate `values` into (plain config, secrets); BadConfig names each bad field."""
        known = {s.name: s for s in self.settings}
        unknown = sorted(set(values) - set(known))
        valid = ", ".join(known)
        problems = [
            f"{name}: not a setting of {self.id} (its settings: {valid})" for name in unknown
        ]
        config: dict[str, Any] = {}
        secrets: dict[str, Any] = {}
        for setting in self.settings:
            value = values.get(setting.name, setting.default)
            if value in (None, ""):
                if setting.required:
                    problems.append(f"{setting.name}: required ({setting.label})")
                continue
            if not isinstance(value, str | int | float | bool):
                problems.append(f"{setting.name}: must be text")
                continue
            if setting.url and (problem := url_problem(str(value))):
                problems.append(f"{setting.name}: {problem}")
                continue
            if setting.url and not setting.secret and has_userinfo(str(value)):
                problems.append(
                    f"{setting.name}: a user name or password in the URL would be shown to "
                    "anyone who reads the settings; give them in their own secret settings"
                )
                continue
            if setting.choices and str(value) not in setting.choices:
                problems.append(f"{setting.name}: one of {', '.join(setting.choices)}")
                continue
            (secrets if setting.secret else config)[setting.name] = value
        if problems:
            raise BadConfig("; ".join(problems))
        return config, secrets


def _webhook(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return WebhookAdapter(
        WebhookConfig(
            url=str(values.get("url", "")),
            secret=str(values.get("secret", "")),
            allow_private=opts.allow_private,
        ),
        http,
    )


def _slack(values: Mapping[str, Any], _http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return SlackAdapter(
        SlackConfig(
            bot_token=str(values.get("bot_token", "")),
            channel=str(values.get("url") or values.get("channel") or ""),
            api_url=str(values.get("api_url") or opts.slack_api_url),
            allow_private=opts.allow_private,
        )
    )


def _teams(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return TeamsAdapter(
        TeamsConfig(
            service_url=str(values.get("service_url", "")),
            conversation_id=str(values.get("url") or values.get("conversation_id") or ""),
            app_id=opts.teams_app_id,
            app_password=opts.teams_app_password,
            tenant_id=opts.teams_tenant_id or "botframework.com",
            webhook_url=str(values.get("webhook_url", "")),
            webhook_secret=str(values.get("webhook_secret", "")),
            allow_private=opts.allow_private,
            user_id=str(values.get("user_id", "")),
            teams_tenant=str(values.get("teams_tenant") or opts.teams_tenant_id or ""),
        ),
        http,
    )


def _pagerduty(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return PagerDutyAdapter(
        PagerDutyConfig(
            routing_key=str(values.get("routing_key", "")),
            events_url=str(values.get("events_url") or EVENTS_URL),
            default_severity=str(values.get("default_severity") or "info"),
            allow_private=opts.allow_private,
            api_key=str(values.get("api_key", "")),
            api_url=str(values.get("api_url") or PD_API_URL),
            webhook_secret=str(values.get("webhook_secret", "")),
        ),
        http,
    )


def _text(values: Mapping[str, Any], name: str, default: str = "") -> str:
    value = values.get(name)
    return default if value in (None, "") else str(value)


def _opsgenie(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    teams = tuple(t.strip() for t in _text(values, "responders").split(",") if t.strip())
    return OpsgenieAdapter(
        OpsgenieConfig(
            api_key=_text(values, "api_key"),
            api_url=_text(values, "api_url", OPSGENIE_URL),
            responders=teams,
            allow_private=opts.allow_private,
        ),
        http,
    )


def _jira(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return JiraAdapter(
        JiraConfig(
            site_url=_text(values, "site_url"),
            email=_text(values, "email"),
            api_token=_text(values, "api_token"),
            project_key=_text(values, "url") or _text(values, "project_key"),
            issue_type=_text(values, "issue_type", "Task"),
            webhook_secret=_text(values, "webhook_secret"),
            allow_private=opts.allow_private,
        ),
        http,
    )


def _servicenow(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return ServiceNowAdapter(
        ServiceNowConfig(
            instance_url=_text(values, "instance_url"),
            username=_text(values, "username"),
            password=_text(values, "password"),
            assignment_group=_text(values, "url") or _text(values, "assignment_group"),
            allow_private=opts.allow_private,
        ),
        http,
    )


def _email(values: Mapping[str, Any], _http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    port = _text(values, "port", "587")
    if not port.isdigit():
        raise BadConfig(f"email: port must be a number, got {port!r}")
    return EmailAdapter(
        EmailConfig(
            host=_text(values, "host"),
            from_address=_text(values, "from_address"),
            to=addresses(_text(values, "url") or _text(values, "to")),
            port=int(port),
            username=_text(values, "username"),
            password=_text(values, "password"),
            security=_text(values, "security", "starttls"),
            allow_private=opts.allow_private,
        )
    )


def _sms(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return SmsAdapter(
        SmsConfig(
            account_sid=_text(values, "account_sid"),
            auth_token=_text(values, "auth_token"),
            from_number=_text(values, "from_number"),
            messaging_service_sid=_text(values, "messaging_service_sid"),
            to=numbers(_text(values, "url") or _text(values, "to")),
            api_url=_text(values, "api_url", TWILIO_URL),
            allow_private=opts.allow_private,
        ),
        http,
    )


def _alertmanager(
    values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions
) -> Adapter:
    return AlertmanagerAdapter(
        AlertmanagerConfig(
            url=_text(values, "url"),
            username=_text(values, "username"),
            password=_text(values, "password"),
            token=_text(values, "token"),
            allow_private=opts.allow_private,
        ),
        http,
    )


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
        build=_webhook,
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
        build=_slack,
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
        build=_teams,
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
        build=_pagerduty,
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
        build=_opsgenie,
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
        build=_jira,
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
        build=_servicenow,
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
        build=_email,
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
        build=_sms,
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
        build=_alertmanager,
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
