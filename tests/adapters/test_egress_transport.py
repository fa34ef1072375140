"""The pinned transport: one resolution, checked, and the connection goes to that address."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from adapters.base import BadConfig
from adapters.egress import PinnedTransport
from tests.fakes.sink import Sink


def loopback_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """A policy for the test: loopback stands in for the public internet, 10/8 is private."""
    return "private" if address in ipaddress.ip_network("10.0.0.0/8") else None


async def test_the_connection_uses_the_address_that_was_checked() -> None:
    """A name only our resolver knows: it can only succeed if the checked address is used."""
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), 2) - 1]

    sink = await Sink().start()
    port = httpx.URL(sink.url).port
    transport = PinnedTransport(
        allow_private=False, resolve=rebinding, forbidden=loopback_is_public
    )
    try:
        async with httpx.AsyncClient(transport=transport) as http:
            first = await http.post(f"http://rebind.test:{port}/hook", json={"n": 1})
            assert first.status_code == 200
            assert sink.received[0].headers["Host"] == f"rebind.test:{port}"
            with pytest.raises(BadConfig, match=r"resolves to 10\.0\.0\.1, a private address"):
                await http.post(f"http://rebind.test:{port}/hook", json={"n": 2})
        assert asked == ["rebind.test", "rebind.test"]  # once per request, never by the pool
        assert len(sink.received) == 1
    finally:
        await sink.stop()


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://100.64.1.1/x", "carrier-grade NAT"),
        ("http://[::ffff:169.254.169.254]/latest", "metadata"),
        ("http://metadata.google.internal/x", "metadata"),
    ],
)
async def test_forbidden_addresses_are_refused_before_connecting(url: str, reason: str) -> None:
    async with httpx.AsyncClient(transport=PinnedTransport(allow_private=False)) as http:
        with pytest.raises(BadConfig, match=reason):
            await http.get(url)


async def test_the_slack_sdk_session_connects_only_to_checked_addresses() -> None:
    """The Slack SDK brings its own aiohttp session: it gets a resolver with the same rule, so
    the address it connects to is one that was checked, not a second lookup's answer."""
    import aiohttp

    from adapters.egress import checked_session

    session = checked_session(allow_private=False)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await session.get("http://localhost:9/api/chat.postMessage")
        assert "a loopback address" in str(refused.value.os_error)
    finally:
        await session.close()
    allowed = checked_session(allow_private=True)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:  # nobody listens on :9
            await allowed.get("http://localhost:9/api/chat.postMessage")
        assert "loopback" not in str(refused.value.os_error)
    finally:
        await allowed.close()


async def test_the_webhook_client_sends_only_to_checked_addresses() -> None:
    """The webhook's own client (aiohttp, kept-alive): a name resolving to loopback is refused
    as a setting to fix (not retried as an outage) before anything is sent; allowed, the
    request arrives with the name the URL gave, and a redirect is told, not followed."""
    from collections import deque

    from adapters.base import Unavailable, raise_for_status
    from adapters.egress import CheckedPoster

    sink = await Sink(script=deque([(302, {"Location": "http://10.0.0.1/x"}, "")])).start()
    url = sink.url.replace("127.0.0.1", "localhost")
    refusing = CheckedPoster("webhook", allow_private=False, timeout=5)
    allowing = CheckedPoster("webhook", allow_private=True, timeout=5)
    try:
        with pytest.raises(BadConfig, match=r"resolves to (127\.0\.0\.1|::1), a loopback address"):
            await refusing.post(url, b"{}", {"Content-Type": "application/json"})
        literal = sink.url  # an address in the URL: aiohttp does not ask the resolver
        with pytest.raises(BadConfig, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            await refusing.post(literal, b"{}", {"Content-Type": "application/json"})
        with pytest.raises(BadConfig, match="metadata"):  # refused even where private is allowed
            await allowing.post("http://[::ffff:169.254.169.254]/latest", b"{}", {})
        assert sink.received == []
        moved = await allowing.post(url, b"{}", {"Content-Type": "application/json"})
        with pytest.raises(Unavailable, match=r"redirected to 10\.0\.0\.1; redirects are not"):
            raise_for_status("webhook", moved)
        answer = await allowing.post(url, b'{"n": 2}', {"Content-Type": "application/json"})
        assert answer.status_code == 200
        assert [r.body for r in sink.received] == [{}, {"n": 2}]  # the redirect not followed
        assert sink.received[1].headers["Host"].startswith("localhost:")
        assert sink.received[1].headers["User-Agent"] == "chatops-bot/0.1"
    finally:
        await refusing.close()
        await allowing.close()
        await sink.stop()


async def test_teams_cards_go_only_to_checked_addresses() -> None:
    """Teams cards and their updates go through the same kept-alive client: a Bot Connector
    whose name resolves to loopback is refused as a setting to fix before anything is sent;
    allowed, a new card is POSTed and its update PUT in place, the activity id kept."""
    from adapters.teams import TeamsAdapter, TeamsConfig
    from domain import DeliveryKind, Outgoing
    from tests.cards.samples import TEMPLATES
    from tests.fakes.connector import FakeConnector

    connector = await FakeConnector().start()
    base = connector.url.replace("127.0.0.1", "localhost")
    http = httpx.AsyncClient()  # the token's client: unused without an app id
    refusing = TeamsAdapter(TeamsConfig(service_url=base, conversation_id="19:ops"), http)
    allowing = TeamsAdapter(
        TeamsConfig(service_url=base, conversation_id="19:ops", allow_private=True), http
    )
    card = Outgoing("d1", DeliveryKind.POST, alert=TEMPLATES["generic"])
    try:
        with pytest.raises(BadConfig, match=r"resolves to (127\.0\.0\.1|::1), a loopback address"):
            await refusing.send(card)
        assert connector.posted == []
        posted = await allowing.send(card)
        assert posted.ref == "1:1"
        update = Outgoing("d2", DeliveryKind.UPDATE, alert=TEMPLATES["generic"], ref=posted.ref)
        assert (await allowing.send(update)).ref == "1:1"
        assert [c for c, _ in connector.posted] == ["19:ops"]
        assert [(c, a) for c, a, _ in connector.updates] == [("19:ops", "1:1")]
    finally:
        await refusing.disconnect()
        await allowing.disconnect()
        await http.aclose()
        await connector.stop()
