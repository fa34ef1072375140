"""One configured adapter per tenant and integration, rebuilt when its configuration changes."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import inspect
import json
import logging
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httpx

from adapters.base import Adapter, AdapterError, Health
from adapters.kinds import AdapterType, BuildOptions
from adapters.registry import adapter_type

log = logging.getLogger(__name__)


def fingerprint(type_id: str, values: Mapping[str, Any]) -> str:
    """A digest of everything an adapter is built from; secrets never leave this function."""
    text = json.dumps([type_id, dict(values)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


MIN_SECRET = 4  # shorter values would blank out ordinary words


def secret_forms(kind: AdapterType, values: Mapping[str, Any]) -> tuple[str, ...]:
    """Every spelling in which an integration's secrets could come back in a destination's
    answer: as given, URL-quoted, base64, and inside basic authentication (`user:secret` in
    base64, with any plain setting as the user); a URL's `user:password@` too. Longest first,
    so a longer form is removed before a shorter one inside it."""
    secret_names = {s.name for s in kind.settings if s.secret}
    secrets = [str(v) for k, v in values.items() if k in secret_names and v]
    plain = [str(v) for k, v in values.items() if k not in secret_names and isinstance(v, str)]
    for value in values.values():
        if isinstance(value, str) and "://" in value:
            try:
                parts = urlsplit(value)
                secrets += [p for p in (parts.password, parts.username) if p]
            except ValueError:
                continue
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        forms |= {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
        for user in [*plain, *secrets]:
            pair = base64.b64encode(f"{user}:{secret}".encode()).decode()
            forms |= {pair, pair.rstrip("=")}
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True))


def scrub(text: str, forms: tuple[str, ...]) -> str:
    """`text` with every form of the integration's secrets replaced by `****`."""
    for form in forms:
        if form in text:
            text = text.replace(form, "****")
    return text


class Scrubbed:
    """An adapter whose errors and health details never carry its own secrets.

    A destination that echoes the request in its error answer (a debugging proxy, a WAF
    page, a hostile endpoint) would otherwise put the API key or the basic-auth header into
    delivery errors, the integration's last error, logs, pages and notices. Every coroutine
    method of the adapter is wrapped; everything else passes through.
    """

    def __init__(self, inner: Adapter, forms: tuple[str, ...]) -> None:
        self.inner, self._forms = inner, forms
        self.kind = inner.kind

    def __getattr__(self, name: str) -> Any:
        """The inner adapter's attribute; a coroutine method wrapped once and kept, so a send
        does not build its wrapper again each time."""
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def scrubbed(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await attr(*args, **kwargs)
            except AdapterError as exc:
                exc.args = tuple(scrub(str(a), self._forms) for a in exc.args)
                raise
            if isinstance(result, Health):
                return dataclasses.replace(result, detail=scrub(result.detail, self._forms))
            return result

        setattr(self, name, scrubbed)  # found on the instance from now on
        return scrubbed


class AdapterFactory:
    """Builds adapters from the registry and keeps them while their configuration holds."""

    def __init__(self, http: httpx.AsyncClient, options: BuildOptions) -> None:
        self._http, self._options = http, options
        self._cache: dict[tuple[str, str], tuple[str, Adapter]] = {}

    async def get(self, tenant: str, key: str, type_id: str, values: Mapping[str, Any]) -> Adapter:
        """The adapter for `key` (an integration or channel id) in `tenant`, connected.

        A changed configuration (new URL, rotated secret) disconnects the old instance and
        builds a new one; an unchanged one returns the instance already built.
        """
        stamp = fingerprint(type_id, values)
        cached = self._cache.get((tenant, key))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        kind = adapter_type(type_id)
        built = kind.build(values, self._http, self._options)
        forms = secret_forms(kind, values)
        adapter = cast(Adapter, Scrubbed(built, forms)) if forms else built
        await adapter.connect()
        self._cache[(tenant, key)] = (stamp, adapter)
        if cached is not None:
            log.info("integration reconfigured; adapter rebuilt", extra={"integration": key})
            await cached[1].disconnect()
        return adapter

    async def close(self) -> None:
        """Disconnect every adapter (at shutdown)."""
        cached, self._cache = list(self._cache.values()), {}
        for _, adapter in cached:
            await adapter.disconnect()

    def __len__(self) -> int:
        return len(self._cache)
