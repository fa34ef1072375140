"""PagerDuty Events v2: request shapes, severity mapping, and errors, against a fake API."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.base import AuthError, BadConfig, NotSupported, RateLimited, RemoteState, SyncRequest
from adapters.pagerduty import PagerDutyAdapter, PagerDutyConfig, enqueue_body, severity
from domain import Alert, AlertState, DeliveryKind, Outgoing, Priority
from tests.fakes.pagerduty import VALID_API_KEY, VALID_KEY, FakePagerDuty
from tests.fixtures import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "pagerduty"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def alert(**changes: object) -> Alert:
    base = Alert(
        id="a1",
        tenant="default",
        event_type="deploy.failed",
        priority=Priority.HIGH,
        title="Deploy of api failed",
        body="exit 1",
        state=AlertState.TRIGGERED,
        dedup_key="deploy-api",
        source="ci",
        link="https://ci.example.com/1",
        stakeholders=("SRE",),
        facts={"component": "api"},
        correlation_id="c1",
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    fake = await FakePagerDuty().start()
    yield fake
    await fake.stop()


@pytest.mark.parametrize(
    "event_type,priority,expected",
    [
        ("disk.critical", Priority.LOW, "critical"),
        ("sla.breached", Priority.INFO, "critical"),
        ("job.failed", Priority.LOW, "error"),
        ("api.error", Priority.INFO, "error"),
        ("cpu.warning", Priority.INFO, "warning"),
        ("user.login", Priority.INFO, "info"),
        ("user.login", Priority.CRITICAL, "critical"),
        ("user.login", Priority.HIGH, "error"),
        ("user.login", Priority.MEDIUM, "warning"),
        ("job.failed", Priority.CRITICAL, "critical"),
    ],
)
def test_severity_is_the_worse_of_event_type_and_priority(
    event_type: str, priority: Priority, expected: str
) -> None:
    assert severity(alert(event_type=event_type, priority=priority)) == expected


def test_a_trigger_has_the_documented_shape() -> None:
    example = json.loads((FIXTURES / "events_v2.trigger.request.example.json").read_text())
    body = enqueue_body(alert(), routing_key=VALID_KEY, public_url="https://bot.example.com")
    assert set(body) <= set(example) | {"client_url"}
    assert set(body["payload"]) == set(example["payload"])
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "error"
    assert body["links"][0] == {"href": "https://ci.example.com/1", "text": "Details"}
    assert body["client_url"] == "https://bot.example.com/alerts/a1"


def test_long_summaries_are_cut_visibly_at_1024() -> None:
    body = enqueue_body(alert(title="x" * 5000), routing_key=VALID_KEY)
    assert len(body["payload"]["summary"]) == 1024
    assert body["payload"]["summary"].endswith("…")


@pytest.mark.parametrize(
    "state,action",
    [
        (AlertState.TRIGGERED, "trigger"),
        (AlertState.ACKNOWLEDGED, "acknowledge"),
        (AlertState.RESOLVED, "resolve"),
    ],
)
async def test_each_state_sends_its_action_with_the_same_dedup_key(
    pd: FakePagerDuty, state: AlertState, action: str
) -> None:
    async with httpx.AsyncClient() as http:
        adapter = PagerDutyAdapter(PagerDutyConfig(VALID_KEY, pd.url, allow_private=True), http)
        done = await adapter.send(Outgoing("d1", DeliveryKind.POST, alert=alert(state=state)))
        await adapter.disconnect()
    assert done.status_code == 202
    assert done.ref == "chatops-default-deploy-api"
    assert pd.events[0]["event_action"] == action
    assert pd.events[0]["dedup_key"] == "chatops-default-deploy-api"


async def test_a_bad_key_is_a_configuration_error_with_pagerdutys_reason(pd: FakePagerDuty) -> None:
    async with httpx.AsyncClient() as http:
        adapter = PagerDutyAdapter(PagerDutyConfig("wrong", pd.url, allow_private=True), http)
        with pytest.raises(BadConfig, match="Invalid routing key"):
            await adapter.send(Outgoing("d1", DeliveryKind.POST, alert=alert()))
        with pytest.raises(BadConfig, match="Invalid routing key"):
            await adapter.test()
        await adapter.disconnect()
    assert pd.events == []


async def test_throttling_is_rate_limited_with_a_default_wait(pd: FakePagerDuty) -> None:
    pd.throttle = 1
    async with httpx.AsyncClient() as http:
        adapter = PagerDutyAdapter(PagerDutyConfig(VALID_KEY, pd.url, allow_private=True), http)
        with pytest.raises(RateLimited) as caught:
            await adapter.send(Outgoing("d1", DeliveryKind.POST, alert=alert()))
        assert caught.value.retry_after == 30.0
        assert (await adapter.test()).startswith("routing key accepted")
        await adapter.disconnect()


async def test_loopback_events_url_is_refused_without_the_private_targets_setting(
    pd: FakePagerDuty,
) -> None:
    async with httpx.AsyncClient() as http:
        adapter = PagerDutyAdapter(PagerDutyConfig(VALID_KEY, pd.url), http)
        with pytest.raises(BadConfig, match="loopback"):
            await adapter.send(Outgoing("d1", DeliveryKind.POST, alert=alert()))
        await adapter.disconnect()
    assert pd.events == []


def rest(
    pd: FakePagerDuty, http: httpx.AsyncClient, api_key: str = VALID_API_KEY
) -> PagerDutyAdapter:
    config = PagerDutyConfig(
        VALID_KEY, pd.url, allow_private=True, api_key=api_key, api_url=pd.api_url
    )
    return PagerDutyAdapter(config, http)


async def test_a_full_sync_reads_incidents_page_by_page_and_then_log_entries_since_the_cursor(
    pd: FakePagerDuty,
) -> None:
    async with httpx.AsyncClient() as http:
        adapter = rest(pd, http)
        for i in range(120):  # more than one page of 100
            await adapter.send(Outgoing(f"d{i}", DeliveryKind.POST, alert=alert(dedup_key=f"k{i}")))
        full = await adapter.sync(SyncRequest("full"))
        assert len(full.records) == 120 and {r.state for r in full.records} == {"triggered"}
        assert sum(r.startswith("/incidents") for r in pd.rest_requests) == 2
        assert full.cursor is not None
        pd.acknowledge_in_pagerduty("chatops-default-k7", "Dana Scully")
        since = await adapter.sync(SyncRequest("incremental", cursor=full.cursor))
        assert since.records == (
            RemoteState(
                "chatops-default-k7", "acknowledged", "Dana Scully", "Deploy of api failed"
            ),
        )
        assert pd.rest_requests[-1].startswith("/log_entries")
        await adapter.disconnect()


async def test_sync_needs_a_rest_key_and_a_wrong_one_is_refused(pd: FakePagerDuty) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(NotSupported, match="api_key"):
            await PagerDutyAdapter(
                PagerDutyConfig(VALID_KEY, pd.url, allow_private=True), http
            ).sync(SyncRequest())
        with pytest.raises(AuthError, match="Invalid Credentials"):
            await rest(pd, http, api_key="wrong").sync(SyncRequest())
        refused = rest(pd, http, api_key="wrong")
        with pytest.raises(AuthError):
            await refused.test()
        await refused.disconnect()
        pd.throttle_rest = 1
        with pytest.raises(RateLimited) as limited:
            await rest(pd, http).sync(SyncRequest("full"))
        assert limited.value.retry_after == 1.0
