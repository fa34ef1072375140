"""The errors the service layer raises for a caller's mistake; every transport words them."""

from __future__ import annotations

from storage.admin import Conflict, NotFound

__all__ = ["ConfigError", "Conflict", "InvalidRequest", "NotFound"]


class InvalidRequest(ValueError):
    """The caller asked for something that cannot be done; the message says what to fix."""


class ConfigError(ValueError):
    """A configuration file cannot be applied; the message is one line naming the place."""
