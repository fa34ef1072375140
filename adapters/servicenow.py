"""ServiceNow Table API: an incident per alert, updated with its state, and read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from adapters.base import BadConfig, BaseAdapter, RemoteState, SyncRequest, SyncResult
from adapters.http import call, json_of
from cards.text import ticket
from domain import AlertState, Delivered, DeliveryKind, Outgoing

TABLE = "/api/now/table/incident"
SUMMARY_MAX = 160  # short_description's length in a default instance
IN_PROGRESS = {"2", "3"}  # In Progress, On Hold
CLOSED = {"6", "7", "8"}  # Resolved, Closed, Canceled
RESOLVED = "6"


@dataclass(frozen=True)
class ServiceNowConfig:
    """The instance URL and a user allowed to write incidents."""

    instance_url: str
    username: str
    password: str = field(repr=False)
    assignment_group: str = ""
    allow_private: bool = False


def _error_text(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    return ": ".join(str(p) for p in (error.get("message"), error.get("detail")) if p)


def incident_state(incident: Any) -> RemoteState | None:
    """An incident's sys_id and state."""
    if not isinstance(incident, dict) or not incident.get("sys_id"):
        return None
    sys_id, state = _value(incident["sys_id"]), _value(incident.get("state", ""))
    assigned = incident.get("assigned_to")
    who = assigned.get("display_value", "") if isinstance(assigned, dict) else ""
    if state in CLOSED:
        return RemoteState(sys_id, "resolved", str(who))
    if state in IN_PROGRESS:
        return RemoteState(sys_id, "acknowledged", str(who))
    return RemoteState(sys_id, "triggered")


def _value(field: Any) -> str:
    """A field's value, whether the answer carries display values (`{value, display_value}`)."""
    return str(field.get("value", "")) if isinstance(field, dict) else str(field)


class ServiceNowAdapter(BaseAdapter):
    """Opens an incident; work notes for changes; resolves it with the alert."""

    kind = "servicenow"

    def __init__(self, config: ServiceNowConfig, http: httpx.AsyncClient) -> None:
        missing = [n for n in ("instance_url", "username", "password") if not getattr(config, n)]
        if missing:
            raise BadConfig(f"servicenow: {', '.join(missing)} must be set")
        self._config, self._http = config, http

    async def send(self, message: Outgoing) -> Delivered:
        """Create the incident (a POST), or record the change on it (an update)."""
        alert = message.alert
        if alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("servicenow: digests do not become incidents")
        if message.kind is DeliveryKind.POST or not message.ref:
            fields = ticket(alert, message.public_url, SUMMARY_MAX)
            body: dict[str, Any] = {
                "short_description": fields.summary,
                "description": fields.description,
                "urgency": str(fields.urgency),
                "impact": str(fields.urgency),
                "correlation_id": f"chatops-{alert.tenant}-{alert.dedup_key}"[:100],
                "correlation_display": "ChatOps",
            }
            if self._config.assignment_group:
                body["assignment_group"] = self._config.assignment_group
            resp = await self._request("POST", TABLE, json=body)
            sys_id = ((json_of(resp) or {}).get("result") or {}).get("sys_id")
            if not sys_id:
                raise BadConfig("servicenow: the create answer has no sys_id")
            return Delivered(status_code=resp.status_code, ref=str(sys_id))
        note = message.notes[-1] if message.notes else f"Alert is now {alert.state.value}."
        change: dict[str, Any] = {"work_notes": note}
        if alert.state is AlertState.RESOLVED:
            change.update(
                state=RESOLVED,
                close_code="Resolved by caller",
                close_notes=f"Resolved in ChatOps by {alert.resolved_by or 'someone'}.",
            )
        resp = await self._request("PATCH", f"{TABLE}/{quote(message.ref, safe='')}", json=change)
        return Delivered(status_code=resp.status_code, ref=message.ref)

    async def test(self) -> str:
        """Read one incident: the user may use the incident table."""
        await self._request("GET", TABLE, params={"sysparm_limit": "1", "sysparm_fields": "sys_id"})
        return f"incident table readable as {self._config.username}"

    async def sync(self, request: SyncRequest) -> SyncResult:
        """The state of every open alert's incident, in pages of 100 ids."""
        records: list[RemoteState] = []
        refs = list(request.refs)
        for start in range(0, len(refs), 100):
            chunk = refs[start : start + 100]
            resp = await self._request(
                "GET",
                TABLE,
                params={
                    "sysparm_query": "sys_idIN" + ",".join(chunk),
                    "sysparm_fields": "sys_id,number,state,assigned_to",
                    "sysparm_display_value": "all",
                    "sysparm_exclude_reference_link": "true",
                    "sysparm_limit": str(len(chunk)),
                },
            )
            for incident in (json_of(resp) or {}).get("result", []):
                state = incident_state(incident)
                if state is not None:
                    records.append(state)
        missing = len(set(refs) - {r.ref for r in records})
        return SyncResult(tuple(records), failed=missing)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await call(
            self._http,
            self.kind,
            method,
            self._config.instance_url.rstrip("/") + path,
            allow_private=self._config.allow_private,
            error_text=_error_text,
            auth=(self._config.username, self._config.password),
            headers={"Accept": "application/json"},
            **kwargs,
        )
