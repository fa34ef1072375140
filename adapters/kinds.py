"""What an integration type is: its settings (which are secret, which are URLs), what it can do,
and the options every adapter is built with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.base import Adapter, BadConfig
from adapters.egress import has_userinfo, url_problem
from adapters.slack import API_URL


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
    send_timeout: float = 10.0  # seconds a send may take, connecting included


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
