"""The adapter factory: one connected instance per tenant and integration, rebuilt on change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from adapters import registry
from adapters.base import Adapter, BaseAdapter
from adapters.factory import AdapterFactory
from adapters.kinds import AdapterType, BuildOptions, Setting

EVENTS: list[str] = []


class Tracked(BaseAdapter):
    kind = "tracked"

    def __init__(self, url: str) -> None:
        self.url = url

    async def connect(self) -> None:
        EVENTS.append(f"connect {self.url}")

    async def disconnect(self) -> None:
        EVENTS.append(f"disconnect {self.url}")


def _build(values: Mapping[str, Any], _http: httpx.AsyncClient, _opts: BuildOptions) -> Adapter:
    return Tracked(str(values["url"]))


async def test_instances_are_kept_per_integration_and_rebuilt_when_settings_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind = AdapterType("tracked", "Tracked", "test", (Setting("url", "URL"),), _build)
    monkeypatch.setitem(registry.TYPES, "tracked", kind)
    EVENTS.clear()
    async with httpx.AsyncClient() as http:
        factory = AdapterFactory(http, BuildOptions())
        first = await factory.get("t1", "i1", "tracked", {"url": "a"})
        assert await factory.get("t1", "i1", "tracked", {"url": "a"}) is first
        other_tenant = await factory.get("t2", "i1", "tracked", {"url": "a"})
        assert other_tenant is not first and len(factory) == 2
        changed = await factory.get("t1", "i1", "tracked", {"url": "b"})
        assert changed is not first
        assert EVENTS == ["connect a", "connect a", "connect b", "disconnect a"]
        await factory.close()
        assert EVENTS[-2:] == ["disconnect b", "disconnect a"]
        assert len(factory) == 0
