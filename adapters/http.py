"""What the REST providers share: JSON bodies, vendor error messages, and one request helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from adapters.base import raise_for_status, translate_errors
from adapters.egress import check_target

ErrorText = Callable[[Any], str]


def json_of(resp: httpx.Response) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return resp.json()
    except ValueError:
        return None


async def call(
    http: httpx.AsyncClient,
    kind: str,
    method: str,
    url: str,
    *,
    allow_private: bool,
    error_text: ErrorText,
    retry_after: float = 30.0,
    **kwargs: Any,
) -> httpx.Response:
    """One request through the SSRF guard, with the vendor's own error message on failure."""
    await check_target(url, allow_private=allow_private)
    with translate_errors(kind):
        resp = await http.request(method, url, **kwargs)
    if resp.status_code >= 400:
        message = error_text(json_of(resp)) or resp.text
        raise_for_status(kind, resp, default_retry_after=retry_after, message=message)
    return resp
