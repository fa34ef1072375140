"""Tenant-admin preferences for integration events: five categories."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULTS: dict[str, bool] = {
    "connection_issues": True,
    "sync_failures": True,
    "credential_expiration": True,
    "configuration_changes": False,
    "status_updates": False,
}

# Integration events, each in the category that governs it.
CATEGORY_OF: dict[str, str] = {
    "integration.connection.status.changed": "connection_issues",
    "integration.connection.test.failed": "connection_issues",
    "integration.sync.failed": "sync_failures",
    "integration.credentials.expired": "credential_expiration",
    "integration.data_access.updated": "configuration_changes",
    "integration.search.updated": "configuration_changes",
    "integration.provider.status.changed": "status_updates",
    "integration.provider.audience.changed": "status_updates",
}

# How people type them in chat (`prefs sync on`) and in the API.
ALIASES: dict[str, str] = {
    "connection": "connection_issues",
    "connectionissues": "connection_issues",
    "sync": "sync_failures",
    "syncfailures": "sync_failures",
    "credentials": "credential_expiration",
    "credentialexpiration": "credential_expiration",
    "configuration": "configuration_changes",
    "config": "configuration_changes",
    "configurationchanges": "configuration_changes",
    "status": "status_updates",
    "statusupdates": "status_updates",
}


def category(name: str) -> str | None:
    """The category a user means by `name`, in any of its spellings."""
    key = name.replace("_", "").replace("-", "").lower()
    if name in DEFAULTS:
        return name
    return ALIASES.get(key)


def allows(prefs: Mapping[str, bool] | None, event_type: str) -> bool:
    """Whether the tenant's admins want to hear about this event; non-integration events pass."""
    name = CATEGORY_OF.get(event_type)
    if name is None:
        return True
    return bool((prefs or DEFAULTS).get(name, DEFAULTS[name]))
