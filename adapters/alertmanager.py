"""Prometheus Alertmanager (API v2): silences that follow an alert's snooze.

Snoozing an alert that came from Alertmanager silences it there too, on the alert's labels
and for the same time, so Alertmanager stops sending it; unsnoozing or resolving expires the
silence. Nothing is sent to Alertmanager as a notification: it is not a channel type.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from adapters.base import (
    AdapterError,
    BadConfig,
    BaseAdapter,
    NotSupported,
    raise_for_status,
    translate_errors,
)
from adapters.egress import check_target
from domain import Delivered, Outgoing

MATCHERS_MAX = 50  # labels a silence matches on at most


@dataclass(frozen=True)
class AlertmanagerConfig:
    """Where Alertmanager listens and how to sign in: basic auth, a bearer token, or none."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    allow_private: bool = False


def matchers(labels: Mapping[str, str]) -> list[dict[str, object]]:
    """Exact matchers on every label: the silence covers this alert and nothing wider."""
    return [
        {"name": name, "value": value, "isRegex": False, "isEqual": True}
        for name, value in sorted(labels.items())[:MATCHERS_MAX]
    ]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerAdapter(BaseAdapter):
    """Creates and expires silences through Alertmanager's API v2."""

    kind = "alertmanager"

    def __init__(self, config: AlertmanagerConfig, http: httpx.AsyncClient) -> None:
        if config.password and not config.username:
            raise BadConfig("alertmanager: a password needs a username")
        self._config, self._http = config, http

    def _url(self, path: str) -> str:
        return self._config.url.rstrip("/") + path

    def _headers(self) -> dict[str, str]:
        if self._config.token:
            return {"Authorization": f"Bearer {self._config.token}"}
        if self._config.username:
            pair = f"{self._config.username}:{self._config.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    async def _request(self, method: str, path: str, json: object = None) -> httpx.Response:
        url = self._url(path)
        await check_target(url, allow_private=self._config.allow_private)
        with translate_errors(self.kind):
            resp = await self._http.request(method, url, json=json, headers=self._headers())
        raise_for_status(self.kind, resp)
        return resp

    async def send(self, message: Outgoing) -> Delivered:
        """Alertmanager takes silences, not messages."""
        raise NotSupported("alertmanager: not a channel; it silences snoozed alerts")

    async def test(self) -> str:
        """`GET /api/v2/status`: the version and cluster state Alertmanager reports."""
        resp = await self._request("GET", "/api/v2/status")
        try:
            body = resp.json()
            version = str((body.get("versionInfo") or {}).get("version") or "?")
            cluster = str((body.get("cluster") or {}).get("status") or "?")
        except (ValueError, AttributeError) as exc:
            raise AdapterError("alertmanager: /api/v2/status did not answer JSON") from exc
        return f"Alertmanager {version}, cluster {cluster}"

    async def create_silence(
        self,
        labels: Mapping[str, str],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """A silence on exactly these labels; its id."""
        if not labels:
            raise BadConfig("alertmanager: the alert has no labels to silence")
        body = {
            "matchers": matchers(labels),
            "startsAt": _stamp(starts_at),
            "endsAt": _stamp(ends_at),
            "createdBy": created_by[:255],
            "comment": comment[:1000],
        }
        resp = await self._request("POST", "/api/v2/silences", body)
        try:
            silence_id = resp.json()["silenceID"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AdapterError("alertmanager: the answer named no silenceID") from exc
        return str(silence_id)

    async def expire_silence(self, silence_id: str) -> None:
        """End a silence now; one already expired or gone is fine."""
        try:
            await self._request("DELETE", f"/api/v2/silence/{silence_id}")
        except BadConfig as exc:
            if exc.status_code != 404:
                raise
