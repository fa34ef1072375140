"""Small steps the tests share: configure a webhook route, wait for a condition."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiohttp.test_utils import TestClient


async def webhook_route(
    client: TestClient,  # type: ignore[type-arg]
    url: str,
    *,
    secret: str = "s3cret",
    rate_per_minute: int = 6000,
    name: str = "hook",
    **route: Any,
) -> dict[str, Any]:
    """An integration, a channel and a catch-all route to a webhook URL."""
    settings = {"url": url, "secret": secret} if secret else {"url": url}
    resp = await client.post(
        "/api/v1/integrations", json={"type": "webhook", "name": name, "settings": settings}
    )
    assert resp.status == 201, await resp.text()
    integration = (await resp.json())["data"]
    resp = await client.post(
        "/api/v1/channels",
        json={
            "name": f"{name}-channel",
            "integration": integration["id"],
            "rate_per_minute": rate_per_minute,
        },
    )
    assert resp.status == 201, await resp.text()
    channel = (await resp.json())["data"]
    resp = await client.post("/api/v1/routes", json={"channel": channel["id"], **route})
    assert resp.status == 201, await resp.text()
    return {"integration": integration, "channel": channel, "route": (await resp.json())["data"]}


async def eventually(check: Callable[[], Any], within: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `check()` is truthy (awaiting it if needed); fail with its last value."""
    deadline = time.monotonic() + within
    value = None
    while time.monotonic() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value: {value!r})")


def chatops_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`chatops ARGS...` as a separate process on a SQLite database of its own in `tmp_path`."""
    base = {
        "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "PATH": "/usr/bin:/bin",
    }

    def chatops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    return chatops


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_bot(env: dict[str, str], port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """The real program (`python -m bot run`) on `port`, its output appended to `log`."""
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port), *extra],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=handle,
        stderr=handle,
    )


async def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert proc.poll() is None, "the bot exited during start-up"
            try:
                if (await http.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the bot did not become ready")
