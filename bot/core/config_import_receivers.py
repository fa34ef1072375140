"""The receivers of an Alertmanager configuration as this bot's destinations: Slack configs as
channels the bot posts to with its own token; Teams, webhook, PagerDuty, Opsgenie and e-mail
configs as integrations whose secrets become variables. Each destination is named after its
receiver; what a config holds that is not carried is said in the notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USED = {  # the fields of each receiver config that are carried over
    "slack_configs": ("channel", "api_url", "api_url_file"),
    "msteams_configs": ("webhook_url",),
    "msteamsv2_configs": ("webhook_url",),
    "webhook_configs": ("url",),
    "pagerduty_configs": ("routing_key",),
    "opsgenie_configs": ("api_key",),
    "email_configs": (
        "to",
        "from",
        "smarthost",
        "auth_username",
        "auth_password",
        "require_tls",
    ),
}


@dataclass
class Destination:
    channel: dict[str, Any]
    integration: dict[str, Any] | None = None
    secrets: dict[str, str] = field(default_factory=dict)  # setting -> where in the AM file


def receivers_of(raw: dict[str, Any], notes: list[str]) -> dict[str, list[Destination]]:
    """Each receiver's destinations this bot can send to, named after the receiver."""
    globals_ = raw.get("global") if isinstance(raw.get("global"), dict) else {}
    found: dict[str, list[Destination]] = {}
    for n, receiver in enumerate(raw.get("receivers") or []):
        if not isinstance(receiver, dict) or not isinstance(receiver.get("name"), str):
            notes.append(f"receivers[{n}]: no name; left out")
            continue
        name = receiver["name"]
        destinations: list[Destination] = []
        for key, configs in receiver.items():
            if key == "name":
                continue
            if key not in CONVERTERS:
                notes.append(f"receivers[{name}].{key}: not carried (no such integration here)")
                continue
            for i, config in enumerate(configs or []):
                where = f"receivers[{name}].{key}[{i}]"
                if not isinstance(config, dict):
                    notes.append(f"{where}: not a mapping; left out")
                    continue
                made = CONVERTERS[key](config, globals_ or {}, where, notes)
                if made is not None:
                    ignored = sorted(set(config) - set(USED[key]) - {"send_resolved"})
                    if ignored:
                        notes.append(
                            f"{where}: {', '.join(ignored)} not carried (the bot's cards show "
                            "the alert their own way; resolved alerts are always told)"
                        )
                    destinations.append(made)
        for i, destination in enumerate(destinations):
            suffix = "" if len(destinations) == 1 else f" {destination.channel['type']}"
            if sum(d.channel["type"] == destination.channel["type"] for d in destinations) > 1:
                suffix += f" {i + 1}"
            destination.channel["name"] = f"{name}{suffix}"
            if destination.integration is not None:
                destination.integration["name"] = f"{name}{suffix}"
                destination.channel["integration"] = f"{name}{suffix}"
        found[name] = destinations
    return found


def _slack(
    config: dict[str, Any], _g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    channel = config.get("channel")
    if not isinstance(channel, str) or not channel or "{{" in channel:
        notes.append(
            f"{where}: no channel named (its incoming-webhook URL chooses one); left out: "
            "subscribe the channel in Slack (`/chatops subscribe`) instead"
        )
        return None
    if config.get("api_url") or config.get("api_url_file"):
        notes.append(
            f"{where}: the incoming-webhook URL is not used: the bot posts to {channel} with its "
            "own token (CHATOPS_SLACK_BOT_TOKEN); invite it there, and prefer the channel's id"
        )
    return Destination({"name": "", "type": "slack", "target": channel})


def _teams(
    config: dict[str, Any], _g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    if not config.get("webhook_url"):
        notes.append(f"{where}: no webhook_url (a file is not read); left out")
        return None
    if ".msteams_configs" in where:
        notes.append(
            f"{where}: Office 365 connector URLs were retired by Microsoft; set the variable to "
            "a Workflows webhook URL"
        )
    notes.append(
        f"{where}: posted through a Workflows webhook (send-only: cards offer links); add the "
        "bot to the channel instead for cards with working buttons"
    )
    return _integration("teams", {"webhook_url": f"{where}.webhook_url"})


def _webhook(
    config: dict[str, Any], _g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    if not config.get("url"):
        notes.append(f"{where}: no url (a file is not read); left out")
        return None
    return _integration("webhook", {"url": f"{where}.url"})


def _pagerduty(
    config: dict[str, Any], _g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    if not config.get("routing_key"):
        notes.append(
            f"{where}: only an Events API v2 routing_key is carried (service_key is v1); left out"
        )
        return None
    return _integration("pagerduty", {"routing_key": f"{where}.routing_key"})


def _opsgenie(
    config: dict[str, Any], g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    if config.get("api_key"):
        return _integration("opsgenie", {"api_key": f"{where}.api_key"})
    if g.get("opsgenie_api_key"):
        return _integration("opsgenie", {"api_key": "global.opsgenie_api_key"})
    notes.append(f"{where}: no api_key; left out")
    return None


def _email(
    config: dict[str, Any], g: dict[str, Any], where: str, notes: list[str]
) -> Destination | None:
    smarthost = str(config.get("smarthost") or g.get("smtp_smarthost") or "")
    sender = config.get("from") or g.get("smtp_from")
    to = config.get("to")
    if not smarthost or not sender or not to:
        notes.append(f"{where}: needs to, from and smarthost (here or in global); left out")
        return None
    host, _, port = smarthost.rpartition(":") if ":" in smarthost else (smarthost, "", "25")
    tls = config.get("require_tls", g.get("smtp_require_tls", True))
    settings: dict[str, Any] = {
        "host": host,
        "port": port or "25",
        "security": "starttls" if tls is not False else "none",
        "from_address": str(sender),
        "to": str(to),
    }
    username = config.get("auth_username") or g.get("smtp_auth_username")
    if username:
        settings["username"] = str(username)
    secrets = {}
    if config.get("auth_password") or g.get("smtp_auth_password"):
        place = "auth_password" if config.get("auth_password") else None
        secrets["password"] = f"{where}.{place}" if place else "global.smtp_auth_password"
    made = _integration("email", secrets)
    assert made.integration is not None
    made.integration["settings"] = {**settings, **made.integration["settings"]}
    return made


def _integration(kind: str, secrets: dict[str, str]) -> Destination:
    """A destination that needs its own integration; its secrets become variables."""
    integration = {"name": "", "type": kind, "settings": dict.fromkeys(secrets, "")}
    return Destination({"name": "", "type": kind, "integration": ""}, integration, secrets)


CONVERTERS = {
    "slack_configs": _slack,
    "msteams_configs": _teams,
    "msteamsv2_configs": _teams,
    "webhook_configs": _webhook,
    "pagerduty_configs": _pagerduty,
    "opsgenie_configs": _opsgenie,
    "email_configs": _email,
}
