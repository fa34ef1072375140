"""Destinations and URLs as they may be shown: on cards, in the API, in errors and log lines."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def mask_url(url: str) -> str:
    """A URL as it may be shown: scheme and host only when anything after them could be a secret.

    Incoming-webhook URLs carry their secret in the path, others in the query or userinfo.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "****"
    if not parts.scheme or not host:
        return "****"
    shown = f"{parts.scheme}://{host}{port}"
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password:
        return f"{shown}/…/****"
    return f"{shown}/"


def is_url(target: str | None) -> bool:
    """Whether a destination is a URL (a capability URL: whoever holds it may post there)."""
    return bool(target) and "://" in str(target)


def mask_target(target: str) -> str:
    """A destination as it may be shown: a URL by its host, a channel id or address as it is."""
    return mask_url(target) if "://" in target else target


def scrub_urls(text: str) -> str:
    """Text with every URL in it masked, for errors and log lines."""
    return URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
