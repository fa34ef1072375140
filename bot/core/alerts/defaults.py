"""Integration defaults and per-user overrides: lazy and layered."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

# The built-in defaults, plus the chat and paging types this bot adds.
BUILTIN: dict[str, dict[str, Any]] = {
    "SLACK": {
        "enabled": True,
        "priority": 1,
        "retry_count": 3,
        "retry_delay_seconds": 60,
        "retry_for_seconds": 900,
        "config": {"thread_replies": False, "mention_user": False, "include_agent_info": True},
    },
    "EMAIL": {
        "enabled": True,
        "priority": 2,
        "retry_count": 3,
        "retry_delay_seconds": 60,
        "retry_for_seconds": 3600,
        "config": {"include_agent_info": True},
    },
    "WEBHOOK": {
        "enabled": False,
        "priority": 3,
        "retry_count": 1,
        "retry_delay_seconds": 30,
        "retry_for_seconds": 900,
        "config": {},
    },
    "SMS": {
        "enabled": False,
        "priority": 4,
        "retry_count": 2,
        "retry_delay_seconds": 45,
        "retry_for_seconds": 900,
        "config": {},
    },
    "TEST": {
        "enabled": True,
        "priority": 5,
        "retry_count": 1,
        "retry_delay_seconds": 10,
        "retry_for_seconds": 0,
        "config": {},
    },
    "CLI": {
        "enabled": True,
        "priority": 6,
        "retry_count": 1,
        "retry_delay_seconds": 5,
        "retry_for_seconds": 0,
        "config": {},
    },
    "TOOL": {
        "enabled": True,
        "priority": 7,
        "retry_count": 1,
        "retry_delay_seconds": 5,
        "retry_for_seconds": 0,
        "config": {},
    },
    "TEAMS": {
        "enabled": True,
        "priority": 1,
        "retry_count": 3,
        "retry_delay_seconds": 60,
        "retry_for_seconds": 900,
        "config": {},
    },
    "PAGERDUTY": {
        "enabled": True,
        "priority": 2,
        "retry_count": 3,
        "retry_delay_seconds": 30,
        "retry_for_seconds": 900,
        "config": {},
    },
}

# How long a delivery keeps being tried (with backoff) before it is dead-lettered, whatever
# its retry count: an outage of a few minutes must not lose a page. Types not listed use it.
RETRY_FOR_SECONDS = 900
MAX_RETRY_FOR_SECONDS = 86_400

ENV_PREFIX = "INTEGRATION_DEFAULTS_"
_ENV_FIELDS = {
    "ENABLED": ("enabled", bool),
    "PRIORITY": ("priority", int),
    "RETRY_COUNT": ("retry_count", int),
    "RETRY_DELAY_SECONDS": ("retry_delay_seconds", int),
    "RETRY_FOR_SECONDS": ("retry_for_seconds", int),
}


class DefaultsError(ValueError):
    """An `INTEGRATION_DEFAULTS_*` variable has a value that cannot be used."""


def integration_type(channel_type: str) -> str:
    """The integration type a channel type delivers through."""
    return channel_type.upper()


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """`INTEGRATION_DEFAULTS_<TYPE>_<FIELD>` variables, parsed, by type."""
    environ = os.environ if environ is None else environ
    result: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        for suffix, (field, kind) in _ENV_FIELDS.items():
            if rest.endswith("_" + suffix):
                kind_name = rest[: -len(suffix) - 1]
                result.setdefault(kind_name, {})[field] = _parse(name, raw, kind)
                break
        else:
            fields = ", ".join(_ENV_FIELDS)
            raise DefaultsError(f"{name}: unknown setting; the suffix must be one of {fields}")
    return result


def _parse(name: str, raw: str, kind: type) -> Any:
    value = raw.strip().lower()
    if kind is bool:
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise DefaultsError(f"{name}: got {raw!r}; expected true or false")
    try:
        number = int(value)
    except ValueError:
        raise DefaultsError(f"{name}: got {raw!r}; expected a whole number") from None
    most = MAX_RETRY_FOR_SECONDS if name.endswith("_RETRY_FOR_SECONDS") else 1000
    if number < 0 or number > most:
        raise DefaultsError(f"{name}: got {raw!r}; expected 0 to {most}")
    return number


def system_defaults(
    stored: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Built-in defaults, then admin-stored ones, then environment variables."""
    result = copy.deepcopy(BUILTIN)
    for layer in (stored or {}, env_overrides(environ)):
        for kind, values in layer.items():
            result.setdefault(
                kind,
                {
                    "enabled": False,
                    "priority": 99,
                    "retry_count": 1,
                    "retry_delay_seconds": 30,
                    "config": {},
                },
            )
            result[kind].update(copy.deepcopy(dict(values)))
    return result


def effective(
    defaults: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Defaults with a user's overrides on top, field by field, in priority order."""
    merged: dict[str, dict[str, Any]] = {}
    for kind in set(defaults) | set(overrides):
        base = copy.deepcopy(dict(defaults.get(kind, {})))
        extra = overrides.get(kind, {})
        config = {**base.get("config", {}), **extra.get("config", {})}
        base.update({k: v for k, v in extra.items() if k != "config"})
        base["config"] = config
        merged[kind] = base
    return dict(sorted(merged.items(), key=lambda item: (item[1].get("priority", 99), item[0])))
