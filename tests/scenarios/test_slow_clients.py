"""Slow clients cannot hold the real server's connections: heads and bodies have deadlines."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx

from tests.conftest import API_TOKEN
from tests.helpers import free_port, start_bot, wait_healthy

SLOW = 200  # connections, each trickling its request a byte at a time


async def trickle(port: int, fast: bytes, slow: bytes, stop_after: float) -> bool:
    """Send `fast` at once, then `slow` a byte every 0.2 s; True if the server cut us off."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    deadline = time.monotonic() + stop_after
    writer.write(fast)
    try:
        for byte in slow:
            if time.monotonic() > deadline:
                return False
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(1024), timeout=0.2)
            except TimeoutError:
                continue
            if data == b"" or b" 408 " in data:
                return True
        return False  # the whole request went through at a crawl
    except (ConnectionError, TimeoutError):
        return True
    finally:
        writer.close()


async def test_slow_heads_and_bodies_are_cut_off_and_health_stays_fast(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chatops.db'}",
        "CHATOPS_API_TOKEN": API_TOKEN,
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "CHATOPS_REQUEST_HEADER_SECONDS": "1",
        "CHATOPS_REQUEST_BODY_SECONDS": "1",
    }
    proc = start_bot(env, port, tmp_path / "bot.log")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        head = b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
        body_head = (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
            b"Content-Type: application/json\r\n\r\n"
        )
        started = time.monotonic()
        slow = [trickle(port, b"", head, 10) for _ in range(SLOW // 2)]
        slow += [trickle(port, body_head, b"{" * 500, 10) for _ in range(SLOW // 2)]
        tasks = [asyncio.create_task(t) for t in slow]
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as http:
            began = time.monotonic()
            health = await http.get(f"http://127.0.0.1:{port}/health")
            took = time.monotonic() - began
        closed = await asyncio.gather(*tasks)
        assert health.status_code == 200 and took < 1.0
        assert all(closed), f"{closed.count(False)} slow connections were still open"
        assert time.monotonic() - started < 9
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def hold(port: int, head: bytes, stop: asyncio.Event) -> None:
    """Send a request's head and one byte of its body, then a byte every 2 s until `stop`."""
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        writer.write(head + b"{")
        await writer.drain()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            except TimeoutError:
                writer.write(b" ")
                await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def test_slow_bodies_without_a_key_or_signature_never_starve_authenticated_events(
    tmp_path: Path,
) -> None:
    """300 clients trickle bodies to paths that need no key (Slack without a signature, the
    console's sign-in, a path that does not exist): authenticated events and Alertmanager
    posts still go through at once, and the path that does not exist is answered unread."""
    port = free_port()
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chatops.db'}",
        "CHATOPS_API_TOKEN": API_TOKEN,
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "CHATOPS_REQUEST_BODY_SECONDS": "60",
    }
    proc = start_bot(env, port, tmp_path / "bot.log")
    stop = asyncio.Event()
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)

        def head(path: str) -> bytes:
            return (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                "Content-Type: application/json\r\n\r\n"
            ).encode()

        paths = ["/slack/events", "/ui/login", "/api/messages", "/no/such/path"]
        holders = [
            asyncio.create_task(hold(port, head(paths[i % len(paths)]), stop)) for i in range(300)
        ]
        await asyncio.sleep(1.5)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            codes = [
                (await http.post("/api/v1/events", json={"title": f"during {i}"})).status_code
                for i in range(10)
            ]
            alerts = {"alerts": [{"status": "firing", "labels": {"alertname": "Up"}}]}
            codes += [(await http.post("/hooks/alertmanager", json=alerts)).status_code]
        assert codes == [202] * 11, codes
        # a path that does not exist answers from its head, without waiting for the body
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head("/nothing/here"))
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), timeout=3)
        writer.close()
        assert b" 404 " in answer, answer
    finally:
        stop.set()
        await asyncio.gather(*holders, return_exceptions=True)
        proc.terminate()
        proc.wait(timeout=10)
