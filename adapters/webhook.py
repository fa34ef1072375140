"""Generic webhook: a JSON POST signed with HMAC-SHA256, to a URL that passed the SSRF guard.

The busiest send there is (every alert of a webhook route), so it goes through aiohttp's client
over kept-alive connections to checked addresses (`CheckedPoster`), not httpx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.base import (
    BadConfig,
    BaseAdapter,
    Inbound,
    RemoteState,
    raise_for_status,
    signature_matches,
)
from adapters.egress import Answer, CheckedPoster
from cards.webhook_json import message_document
from domain import Delivered, Outgoing

SIGNATURE_HEADER = "X-ChatOps-Signature"
TIMESTAMP_HEADER = "X-ChatOps-Timestamp"
DELIVERY_HEADER = "X-ChatOps-Delivery"
MAX_SKEW_SECONDS = 300  # inbound signatures older or newer than this are replays
STATES = ("triggered", "acknowledged", "resolved")


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


class WebhookAdapter(BaseAdapter):
    """Posts every message as JSON; receivers dedupe by the delivery id header."""

    kind = "webhook"

    def __init__(self, config: WebhookConfig, *, timeout: float = 10.0) -> None:
        self._config = config
        self._http = CheckedPoster(self.kind, allow_private=config.allow_private, timeout=timeout)

    async def disconnect(self) -> None:
        """Close the kept-alive connections."""
        await self._http.close()

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

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """The same scheme as outbound: `sha256=` HMAC over `<timestamp>.<body>`, 5 minutes."""
        stamp = headers.get(TIMESTAMP_HEADER, "")
        if not self._config.secret or not stamp.isdigit():
            return False
        if abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            return False
        given = headers.get(SIGNATURE_HEADER, "")
        return signature_matches(sign(self._config.secret, stamp, body), given)

    def process_webhook(self, payload: Any) -> Inbound:
        """`{"ref", "state", "by"}` or `{"records": [...]}`: states of alerts this bot sent."""
        items = payload.get("records", [payload]) if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise BadConfig("webhook: expected an object with ref and state, or records")
        records = []
        for item in items:
            if not isinstance(item, dict) or not item.get("ref") or item.get("state") not in STATES:
                raise BadConfig(
                    f"webhook: each record needs ref and a state in {', '.join(STATES)}"
                )
            records.append(
                RemoteState(str(item["ref"]), str(item["state"]), str(item.get("by", "")))
            )
        kind = payload.get("event_type", "state.changed") if isinstance(payload, dict) else ""
        return Inbound(str(kind), tuple(records))

    async def _post(self, body: bytes, delivery_id: str) -> Answer:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
        }
        if self._config.secret:
            headers[SIGNATURE_HEADER] = sign(self._config.secret, stamp, body)
        resp = await self._http.post(self._config.url, body, headers)
        raise_for_status(self.kind, resp)
        return resp
