"""SMS through Twilio's Messages API: one text per alert, and one when it is resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.base import BadConfig, BaseAdapter
from adapters.http import call, json_of
from cards.text import sms
from domain import AlertState, Delivered, DeliveryKind, Outgoing

API_URL = "https://api.twilio.com"


@dataclass(frozen=True)
class SmsConfig:
    """A Twilio account, the sender, and the numbers to text (E.164)."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str = ""
    messaging_service_sid: str = ""
    to: tuple[str, ...] = ()
    api_url: str = API_URL
    allow_private: bool = False


def numbers(text: str) -> tuple[str, ...]:
    """`+15551230000, +447700900000`: E.164 numbers, checked."""
    found = []
    for part in (p.strip().replace(" ", "") for p in text.split(",")):
        if not part:
            continue
        if not (part.startswith("+") and part[1:].isdigit() and 8 <= len(part) <= 16):
            raise BadConfig(f"sms: {part!r} is not an E.164 number such as +15551230000")
        found.append(part)
    return tuple(found)


def _error_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    code = body.get("code")
    return (
        f"{body.get('message', '')} (Twilio error {code})" if code else str(body.get("message", ""))
    )


class SmsAdapter(BaseAdapter):
    """Texts new alerts and their resolution; other changes are not worth a text."""

    kind = "sms"

    def __init__(self, config: SmsConfig, http: httpx.AsyncClient) -> None:
        if not config.account_sid or not config.auth_token:
            raise BadConfig("sms: account_sid and auth_token must be set")
        if not (config.from_number or config.messaging_service_sid):
            raise BadConfig("sms: set from_number or messaging_service_sid")
        self._config, self._http = config, http

    async def send(self, message: Outgoing) -> Delivered:
        """Text every recipient; the first message's sid is the reference."""
        alert = message.alert
        if alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("sms: digests are not texted")
        if not self._config.to:
            raise BadConfig("sms: no numbers to text (set `to`, or a channel target)")
        if message.kind is DeliveryKind.UPDATE and alert.state is not AlertState.RESOLVED:
            return Delivered(status_code=None, ref=message.ref)  # only resolution is texted
        body = sms(alert, message.public_url)
        sids = []
        for number in self._config.to:
            form = {"To": number, "Body": body}
            if self._config.messaging_service_sid:
                form["MessagingServiceSid"] = self._config.messaging_service_sid
            else:
                form["From"] = self._config.from_number
            resp = await self._request("POST", "/Messages.json", data=form)
            sids.append(str((json_of(resp) or {}).get("sid", "")))
        return Delivered(status_code=201, ref=message.ref or sids[0])

    async def test(self) -> str:
        """Fetch the account: the credentials work and the account is active."""
        resp = await self._request("GET", ".json")
        account = json_of(resp) or {}
        status = account.get("status", "unknown")
        if status != "active":
            raise BadConfig(f"sms: the Twilio account is {status}")
        return f"Twilio account {account.get('friendly_name', self._config.account_sid)} is active"

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        base = f"{self._config.api_url.rstrip('/')}/2010-04-01/Accounts/{self._config.account_sid}"
        return await call(
            self._http,
            self.kind,
            method,
            base + path,
            allow_private=self._config.allow_private,
            error_text=_error_text,
            auth=(self._config.account_sid, self._config.auth_token),
            retry_after=5.0,
            **kwargs,
        )
