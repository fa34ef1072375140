"""Each integration type's adapter, built from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.alertmanager import AlertmanagerAdapter, AlertmanagerConfig
from adapters.base import Adapter, BadConfig
from adapters.email import EmailAdapter, EmailConfig, addresses
from adapters.jira import JiraAdapter, JiraConfig
from adapters.kinds import BuildOptions
from adapters.opsgenie import API_URL as OPSGENIE_URL
from adapters.opsgenie import OpsgenieAdapter, OpsgenieConfig
from adapters.pagerduty import API_URL as PD_API_URL
from adapters.pagerduty import EVENTS_URL, PagerDutyAdapter, PagerDutyConfig
from adapters.servicenow import ServiceNowAdapter, ServiceNowConfig
from adapters.slack import SlackAdapter, SlackConfig
from adapters.sms import API_URL as TWILIO_URL
from adapters.sms import SmsAdapter, SmsConfig, numbers
from adapters.teams import TeamsAdapter, TeamsConfig
from adapters.webhook import WebhookAdapter, WebhookConfig


def webhook(values: Mapping[str, Any], _http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return WebhookAdapter(
        WebhookConfig(
            url=str(values.get("url", "")),
            secret=str(values.get("secret", "")),
            allow_private=opts.allow_private,
        ),
        timeout=opts.send_timeout,
    )


def slack(values: Mapping[str, Any], _http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
    return SlackAdapter(
        SlackConfig(
            bot_token=str(values.get("bot_token", "")),
            channel=str(values.get("url") or values.get("channel") or ""),
            api_url=str(values.get("api_url") or opts.slack_api_url),
            allow_private=opts.allow_private,
        )
    )


def teams(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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
        timeout=opts.send_timeout,
    )


def pagerduty(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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
        timeout=opts.send_timeout,
    )


def _text(values: Mapping[str, Any], name: str, default: str = "") -> str:
    value = values.get(name)
    return default if value in (None, "") else str(value)


def opsgenie(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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


def jira(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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


def servicenow(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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


def email(values: Mapping[str, Any], _http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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


def sms(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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


def alertmanager(values: Mapping[str, Any], http: httpx.AsyncClient, opts: BuildOptions) -> Adapter:
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
