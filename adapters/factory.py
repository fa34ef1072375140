"""One configured adapter per tenant and integration, rebuilt when its configuration changes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.base import Adapter
from adapters.registry import BuildOptions, adapter_type

log = logging.getLogger("chatops.adapters")


def fingerprint(type_id: str, values: Mapping[str, Any]) -> str:
    """A digest of everything an adapter is built from; secrets never leave this function."""
    text = json.dumps([type_id, dict(values)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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
        adapter = adapter_type(type_id).build(values, self._http, self._options)
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
