"""Teams under hostile input: no open door by default, forged tokens 401, bodies checked first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from bot.infra.settings import Settings, SettingsError, load_settings
from bot.runtime.app import create_app
from tests.conftest import API_TOKEN
from tests.fakes.connector import FakeConnector
from tests.fakes.openid import ISSUER, FakeOpenId
from tests.scenarios.test_teams import activity

Client = TestClient  # type: ignore[type-arg]
APP_ID = "00000000-0000-0000-0000-000000000001"


def installing(connector: FakeConnector) -> dict[str, Any]:
    update = activity(connector, type="conversationUpdate", text=None)
    update["membersAdded"] = [update["recipient"]]
    return update


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


async def teams_channels(client: Client) -> list[dict[str, Any]]:
    channels = await (await client.get("/api/v1/channels")).json()
    return [c for c in channels["data"] if c["type"] == "teams"]


async def test_without_an_app_id_teams_is_closed_unless_local_mode_is_chosen(
    settings: Settings, connector: FakeConnector
) -> None:
    closed = settings.model_copy(update={"teams_local": False})
    async with serve(closed) as client:
        resp = await client.post("/api/messages", json=installing(connector))
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "teams_not_configured"
        assert await teams_channels(client) == []


def test_local_mode_is_refused_off_loopback() -> None:
    with pytest.raises(SettingsError, match="must listen on loopback"):
        load_settings(teams_local=True, host="0.0.0.0", _env_file=None)
    assert load_settings(teams_local=True, host="127.0.0.1", _env_file=None).teams_local


async def test_local_mode_checks_the_service_url_like_any_target(
    settings: Settings, connector: FakeConnector
) -> None:
    """A forged install cannot point the bot at a loopback or private service URL."""
    strict = settings.model_copy(update={"allow_private_targets": False})
    async with serve(strict) as client:
        resp = await client.post("/api/messages", json=installing(connector))
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "bad_service_url"
        assert await teams_channels(client) == [] and connector.posted == []


BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "application/json"),
    ("no content type", b'{"type": "message"}', ""),
    ("a list", b"[]", "application/json"),
    ("broken", b"{bad", "application/json"),
    ("type not text", b'{"type": 5}', "application/json"),
    ("deep", b"[" * 20_000 + b"]" * 20_000, "application/json"),
    ("lone surrogate", b'{"type": "message", "text": "\\ud800"}', "application/json"),
    ("not UTF-8", b'{"type": "\xff"}', "application/json"),
]


@pytest.mark.parametrize("label,body,ctype", BODIES, ids=[b[0] for b in BODIES])
async def test_malformed_activities_are_4xx_never_500(
    settings: Settings, label: str, body: bytes, ctype: str
) -> None:
    async with serve(settings) as client:
        resp = await client.post(
            "/api/messages", data=body, headers={"Content-Type": ctype, "Authorization": ""}
        )
        assert 400 <= resp.status < 500, (resp.status, await resp.text())
        assert "error" in await resp.json()


@pytest.fixture
async def openid() -> AsyncIterator[FakeOpenId]:
    fake = await FakeOpenId(delay=0.5).start()
    yield fake
    await fake.stop()


def configured(settings: Settings, openid: FakeOpenId) -> Settings:
    return settings.model_copy(
        update={
            "teams_local": False,
            "teams_app_id": APP_ID,
            "teams_app_password": SecretStr("pw"),
            "teams_openid_metadata_url": openid.metadata_url,
        }
    )


def forged_tokens(service_url: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "exp": now + 600}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "RS256 by another key": jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"}),
        "RS256 unknown kid": jwt.encode(claims, other, algorithm="RS256", headers={"kid": "zz"}),
        "HS256": jwt.encode(
            claims, "a-guessed-secret-of-32-bytes-or-more", algorithm="HS256", headers={"kid": "k1"}
        ),
        "alg none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        "garbage": "a.b.c",
    }


async def test_forged_tokens_get_401_and_health_stays_fast(
    settings: Settings, connector: FakeConnector, openid: FakeOpenId
) -> None:
    async with serve(configured(settings, openid)) as client:
        body = installing(connector)
        tokens = forged_tokens(connector.url)
        for label, token in tokens.items():
            resp = await client.post(
                "/api/messages", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert resp.status == 401, label

        async def forged(client: Client = client, body: dict[str, Any] = body) -> int:
            resp = await client.post(
                "/api/messages",
                json=body,
                headers={"Authorization": f"Bearer {unknown_kid}"},
            )
            return resp.status

        async def health(client: Client = client) -> float:
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            assert (await client.get("/health")).status == 200
            return time.perf_counter() - started

        unknown_kid = tokens["RS256 unknown kid"]
        openid.delay = 2.0  # slow key endpoints must not stall anything else
        results = await asyncio.gather(*(forged() for _ in range(40)), health())
        assert set(results[:-1]) == {401}
        assert results[-1] < 0.5  # /health did not wait behind the key fetch
        assert await teams_channels(client) == []


async def test_a_token_signed_by_the_channel_key_is_accepted(
    settings: Settings, connector: FakeConnector, openid: FakeOpenId
) -> None:
    async with serve(configured(settings, openid)) as client:
        token = openid.token(APP_ID, connector.url)
        resp = await client.post(
            "/api/messages",
            json=installing(connector),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status in (200, 201), await resp.text()
        assert [c["is_active"] for c in await teams_channels(client)] == [True]


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("https://smba.trafficmanager.net/amer/", True),
        ("https://evil.example\\.botframework.com/", False),  # read two ways: refused
        ("https://user:pw@smba.trafficmanager.net/", False),
        ("https://smba.trafficmanager.net.evil.example/", False),
        ("http://smba.trafficmanager.net/", False),
        ("https://evil.example/x?.botframework.com", False),
    ],
)
async def test_the_service_url_check_reads_the_url_as_the_client_will(
    settings: Settings, url: str, allowed: bool
) -> None:
    from bot.runtime.app import build_services
    from bot.teams.transport import TeamsTransport

    services = build_services(
        settings.model_copy(
            update={
                "teams_app_id": APP_ID,
                "teams_app_password": SecretStr("pw"),
                "teams_local": False,
            }
        )
    )
    try:
        assert await TeamsTransport(services)._service_url_allowed(url) is allowed
    finally:
        await services.http.aclose()
        await services.db.dispose()
