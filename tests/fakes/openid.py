"""Bot Framework's signing-key endpoints on loopback: OpenID metadata and a JWKS of our own key."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.loopback import close, serve

ISSUER = "https://api.botframework.com"  # the issuer Bot Framework channels sign as


@dataclass
class FakeOpenId:
    """Serves the metadata and keys; `delay` makes each metadata answer slow, as a far host."""

    delay: float = 0.0
    fetches: int = 0
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    server: TestServer | None = None

    @property
    def metadata_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1/.well-known/openidconfiguration"))

    def token(self, app_id: str, service_url: str, kid: str = "k1", **claims: Any) -> str:
        """A token as the channel would sign it for `app_id`."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now - 10,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": kid})

    async def metadata(self, request: web.Request) -> web.Response:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        return web.json_response(
            {"issuer": ISSUER, "jwks_uri": str(request.url.with_path("/keys"))}
        )

    async def keys(self, request: web.Request) -> web.Response:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return web.json_response(
            {"keys": [{**public, "kid": "k1", "use": "sig", "endorsements": ["msteams"]}]}
        )

    async def start(self) -> FakeOpenId:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self.metadata)
        app.router.add_get("/keys", self.keys)
        self.server = await serve(app)
        return self

    async def stop(self) -> None:
        await close(self.server)
