"""The errors the service layer raises for a caller's mistake; every transport words them."""

from __future__ import annotations

from storage.admin import Conflict, NotFound

__all__ = ["Conflict", "InvalidRequest", "NotFound"]


class InvalidRequest(ValueError):
    """The caller asked for something that cannot be done; the message says what to fix."""
