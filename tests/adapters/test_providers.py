"""Opsgenie, Jira, ServiceNow and Twilio against fakes of their APIs, one table for all."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.base import (
    Adapter,
    AuthError,
    BadConfig,
    RateLimited,
    RemoteState,
    SyncRequest,
    Unavailable,
)
from adapters.kinds import BuildOptions
from adapters.registry import adapter_type
from domain import Alert, AlertState, DeliveryKind, Outgoing, Priority
from tests.fakes.vendors import (
    JIRA_EMAIL,
    JIRA_TOKEN,
    OPSGENIE_KEY,
    SN_PASSWORD,
    SN_USER,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeJira,
    FakeOpsgenie,
    FakeServiceNow,
    FakeTwilio,
    Vendor,
)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def alert(**changes: Any) -> Alert:
    base = Alert(
        id="a1",
        tenant="default",
        event_type="db.replication.lag",
        priority=Priority.CRITICAL,
        title="Replica db-2 is 300 s behind",
        body="Replication lag crossed the threshold.",
        state=AlertState.TRIGGERED,
        dedup_key="db-2-lag",
        source="prometheus",
        link="https://grafana.example.com/d/db",
        stakeholders=("DBA",),
        facts={"instance": "db-2"},
        correlation_id="c-9",
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
    )
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class Case:
    """A provider: its fake, its settings (good or with a wrong secret), what it answers."""

    type_id: str
    fake: Callable[[], Vendor]
    settings: Callable[[Vendor, bool], dict[str, str]]
    refused: str  # the vendor's words for wrong credentials
    retry_after: float  # from the vendor's Retry-After, or our default without one
    syncs: bool = True


CASES = [
    Case(
        "opsgenie",
        FakeOpsgenie,
        lambda f, ok: {"api_key": OPSGENIE_KEY if ok else "wrong", "api_url": f.url},
        "Could not authenticate",
        30.0,
    ),
    Case(
        "jira",
        FakeJira,
        lambda f, ok: {
            "site_url": f.url,
            "email": JIRA_EMAIL,
            "api_token": JIRA_TOKEN if ok else "wrong",
            "project_key": "OPS",
        },
        "Client must be authenticated",
        7.0,
    ),
    Case(
        "servicenow",
        FakeServiceNow,
        lambda f, ok: {
            "instance_url": f.url,
            "username": SN_USER,
            "password": SN_PASSWORD if ok else "wrong",
        },
        "User Not Authenticated",
        3.0,
    ),
    Case(
        "sms",
        FakeTwilio,
        lambda f, ok: {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN if ok else "wrong",
            "from_number": "+15550001111",
            "to": "+15551234567",
            "api_url": f.url,
        },
        "Authenticate (Twilio error 20003)",
        5.0,
        syncs=False,
    ),
]
IDS = [c.type_id for c in CASES]
SYNCING = [c for c in CASES if c.syncs]


async def _serve(spec: Case) -> AsyncIterator[tuple[Case, Vendor, httpx.AsyncClient]]:
    fake = await spec.fake().start()
    async with httpx.AsyncClient() as http:
        yield spec, fake, http
    await fake.stop()


@pytest.fixture(params=CASES, ids=IDS)
async def case(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Case, Vendor, httpx.AsyncClient]]:
    async for served in _serve(request.param):
        yield served


@pytest.fixture(params=SYNCING, ids=[c.type_id for c in SYNCING])
async def syncing(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Case, Vendor, httpx.AsyncClient]]:
    async for served in _serve(request.param):
        yield served


def build(spec: Case, fake: Vendor, http: httpx.AsyncClient, ok: bool = True) -> Adapter:
    values = spec.settings(fake, ok)
    config, secrets = adapter_type(spec.type_id).split(values)  # the settings validate
    return adapter_type(spec.type_id).build(
        {**config, **secrets}, http, BuildOptions(allow_private=True)
    )


def post(item: Alert, ref: str | None = None, kind: DeliveryKind = DeliveryKind.POST) -> Outgoing:
    return Outgoing("d1", kind, alert=item, ref=ref, public_url="https://chatops.example.com")


async def test_connection_test_passes_and_wrong_credentials_say_why(case: Any) -> None:
    spec, fake, http = case
    assert await build(spec, fake, http).test()
    with pytest.raises(AuthError) as refused:
        await build(spec, fake, http, ok=False).test()
    assert spec.refused in str(refused.value)
    assert refused.value.status_code == 401 and not refused.value.retryable


async def test_rate_limits_wait_as_told_and_outages_are_retryable(case: Any) -> None:
    spec, fake, http = case
    adapter = build(spec, fake, http)
    fake.throttle = 1
    with pytest.raises(RateLimited) as limited:
        await adapter.send(post(alert()))
    assert limited.value.retry_after == spec.retry_after
    fake.fail = 1
    with pytest.raises(Unavailable) as down:
        await adapter.send(post(alert()))
    assert down.value.retryable and down.value.status_code == 500
    delivered = await adapter.send(post(alert()))  # and then it works
    assert delivered.ref


async def test_a_record_is_created_then_closed_with_the_alert(syncing: Any) -> None:
    spec, fake, http = syncing
    adapter = build(spec, fake, http)
    created = await adapter.send(post(alert()))
    assert created.ref and fake.state(created.ref) == "triggered"
    resolved = alert(state=AlertState.RESOLVED, resolved_by="dana")
    updated = await adapter.send(post(resolved, created.ref, DeliveryKind.UPDATE))
    assert updated.ref == created.ref
    assert fake.state(created.ref) == "resolved"


async def test_a_sync_reads_back_what_people_did_in_the_vendor(syncing: Any) -> None:
    spec, fake, http = syncing
    adapter = build(spec, fake, http)
    first = (await adapter.send(post(alert()))).ref
    second = (await adapter.send(post(alert(dedup_key="other", title="Other")))).ref
    assert first and second
    fake.change(first, "acknowledged", "Dana Scully")
    result = await adapter.sync(SyncRequest("incremental", refs=(first, second, "GONE-1")))
    states = {r.ref: r for r in result.records}
    assert states[first] == RemoteState(first, "acknowledged", "Dana Scully")
    assert states[second].state == "triggered"
    assert result.failed == 1  # the record nobody can find any more


async def test_the_vendors_own_validation_message_comes_through(case: Any) -> None:
    spec, fake, http = case
    gone = post(alert(state=AlertState.RESOLVED), "0" * 32, DeliveryKind.UPDATE)
    values = {
        "opsgenie": (post(alert(title="   ")), "Message can not be empty"),
        "jira": (post(alert()), "Specify a valid project ID or key"),
        "servicenow": (gone, "No Record found"),
        "sms": (post(alert()), "is not a valid phone number"),
    }
    message, words = values[spec.type_id]
    settings = spec.settings(fake, True)
    if spec.type_id == "jira":
        settings["project_key"] = "NOPE"
    if spec.type_id == "sms":
        settings["to"] = "+4915112345678"
    config, secrets = adapter_type(spec.type_id).split(settings)
    adapter = adapter_type(spec.type_id).build(
        {**config, **secrets}, http, BuildOptions(allow_private=True)
    )
    with pytest.raises(BadConfig) as refused:
        await adapter.send(message)
    assert words in str(refused.value) and not refused.value.retryable


async def test_sms_texts_new_alerts_and_resolutions_only() -> None:
    fake = await FakeTwilio().start()
    try:
        async with httpx.AsyncClient() as http:
            spec = CASES[-1]
            settings = {**spec.settings(fake, True), "to": "+15551234567, +15557654321"}
            config, secrets = adapter_type("sms").split(settings)
            adapter = adapter_type("sms").build(
                {**config, **secrets}, http, BuildOptions(allow_private=True)
            )
            first = await adapter.send(post(alert()))
            assert [m["to"] for m in fake.messages] == ["+15551234567", "+15557654321"]
            assert fake.messages[0]["body"].startswith("🔴 [CRITICAL] Replica db-2 is 300 s behind")
            assert "https://chatops.example.com/alerts/a1" in fake.messages[0]["body"]
            acked = alert(state=AlertState.ACKNOWLEDGED, acknowledged_by="dana")
            await adapter.send(post(acked, first.ref, DeliveryKind.UPDATE))
            assert len(fake.messages) == 2  # an acknowledgement is not worth a text
            resolved = alert(state=AlertState.RESOLVED, resolved_by="dana")
            await adapter.send(post(resolved, first.ref, DeliveryKind.UPDATE))
            assert fake.messages[-1]["body"].endswith(
                "— resolved by dana https://chatops.example.com/alerts/a1"
            )
            long = alert(title="x" * 5000)
            await adapter.send(post(long))
            assert len(fake.messages[-1]["body"]) == 1600
        with pytest.raises(BadConfig, match=r"E\.164"):
            adapter_type("sms").build(
                {**config, **secrets, "to": "0151 2345"}, http, BuildOptions()
            )
    finally:
        await fake.stop()
