"""Generic webhook: a JSON POST signed with HMAC-SHA256, to a URL that passed the SSRF guard."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import httpx

from adapters.base import raise_for_status, translate_errors
from adapters.targets import check_target
from bot.model import Delivered, Outgoing
from cards.plain import message_document

SIGNATURE_HEADER = "X-ChatOps-Signature"
TIMESTAMP_HEADER = "X-ChatOps-Timestamp"
DELIVERY_HEADER = "X-ChatOps-Delivery"


@dataclass(frozen=True)
class WebhookConfig:
    """Where to POST and the shared secret that signs each request."""

    url: str
    secret: str = field(default="", repr=False)
    allow_private: bool = False


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over `<timestamp>.<body>`, as receivers verify it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookAdapter:
    """Posts every message as JSON; receivers dedupe by the delivery id header."""

    kind = "webhook"

    def __init__(self, config: WebhookConfig, http: httpx.AsyncClient) -> None:
        self._config, self._http = config, http

    async def send(self, message: Outgoing) -> Delivered:
        """POST the message document; the delivery id is its reference."""
        body = json.dumps(message_document(message), separators=(",", ":")).encode()
        resp = await self._post(body, message.delivery_id)
        return Delivered(status_code=resp.status_code, ref=message.ref or message.delivery_id)

    async def test(self) -> str:
        """POST a `ping` document and expect a 2xx."""
        body = json.dumps({"kind": "ping"}).encode()
        resp = await self._post(body, "ping")
        return f"HTTP {resp.status_code} from {self._config.url}"

    async def _post(self, body: bytes, delivery_id: str) -> httpx.Response:
        await check_target(self._config.url, allow_private=self._config.allow_private)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
        }
        if self._config.secret:
            headers[SIGNATURE_HEADER] = sign(self._config.secret, stamp, body)
        with translate_errors(self.kind):
            resp = await self._http.post(self._config.url, content=body, headers=headers)
        raise_for_status(self.kind, resp)
        return resp
