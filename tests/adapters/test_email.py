"""E-mail through a real SMTP server on loopback: parts, threading, login and refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.base import Adapter, AuthError, BadConfig, Unavailable
from adapters.kinds import BuildOptions
from adapters.registry import adapter_type
from domain import Alert, AlertState, DeliveryKind, Outgoing, Priority
from tests.fakes.smtp import PASSWORD, REFUSED_DOMAIN, USER, FakeSmtp, free_port

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
ALERT = Alert(
    id="a7",
    tenant="default",
    event_type="disk.full",
    priority=Priority.HIGH,
    title="/var on web-3 is 97% full <script>alert(1)</script>",
    body="Free space is 1.2 GB & falling.",
    state=AlertState.TRIGGERED,
    dedup_key="web-3-var",
    source="node-exporter",
    link="https://grafana.example.com/d/disk",
    stakeholders=("SRE",),
    facts={"host": "web-3"},
    correlation_id=None,
    occurrences=2,
    first_seen=NOW,
    last_seen=NOW,
)


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


def mailer(port: int, **changes: str) -> Adapter:
    values = {
        "host": "127.0.0.1",
        "port": str(port),
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "from_address": "ChatOps <chatops@example.com>",
        "to": "oncall@example.com, lead@example.com",
        **changes,
    }
    config, secrets = adapter_type("email").split(values)
    return adapter_type("email").build(
        {**config, **secrets}, httpx.AsyncClient(), BuildOptions(allow_private=True)
    )


def outgoing(
    alert: Alert, kind: DeliveryKind = DeliveryKind.POST, ref: str | None = None
) -> Outgoing:
    return Outgoing("d1", kind, alert=alert, ref=ref, public_url="https://chatops.example.com")


async def test_an_alert_is_mailed_as_text_and_html_and_changes_thread_under_it(
    smtp: FakeSmtp,
) -> None:
    adapter = mailer(smtp.port)
    assert "accepted the login" in await adapter.test()
    first = await adapter.send(outgoing(ALERT))
    mail = smtp.received[0]
    assert smtp.envelopes[0] == ("chatops@example.com", ["oncall@example.com", "lead@example.com"])
    assert mail["Subject"] == "[HIGH] /var on web-3 is 97% full <script>alert(1)</script>"
    assert mail["Message-ID"] == first.ref
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Free space is 1.2 GB & falling." in text and "Occurrences: 2" in text
    assert "&lt;script&gt;" in html and "<script>" not in html  # escaped, never live
    assert "https://chatops.example.com/alerts/a7" in html
    resolved = dataclasses.replace(ALERT, state=AlertState.RESOLVED, resolved_by="dana")
    second = await adapter.send(outgoing(resolved, DeliveryKind.UPDATE, first.ref))
    reply = smtp.received[1]
    assert second.ref == first.ref
    subject = str(reply["Subject"]).strip()
    assert reply["In-Reply-To"] == first.ref and subject.startswith("Re: [HIGH]")
    assert subject.endswith("(resolved)")
    assert "Resolved by: dana" in reply.get_body(("plain",)).get_content()


async def test_a_wrong_password_a_refused_recipient_and_a_dead_server_are_told_apart(
    smtp: FakeSmtp,
) -> None:
    with pytest.raises(AuthError):
        await mailer(smtp.port, password="wrong").test()
    with pytest.raises(BadConfig, match="No such user"):
        await mailer(smtp.port, to=f"ghost@{REFUSED_DOMAIN}").send(outgoing(ALERT))
    with pytest.raises(Unavailable):
        await mailer(free_port()).send(outgoing(ALERT))
    assert smtp.received == []
    with pytest.raises(BadConfig, match="not an e-mail address"):
        mailer(smtp.port, to="oncall at example")
    with pytest.raises(BadConfig, match="host: required"):
        mailer(smtp.port, host="")
    config, secrets = adapter_type("email").split(
        {
            "host": "127.0.0.1",
            "port": str(smtp.port),
            "from_address": "c@example.com",
            "to": "a@example.com",
        }
    )
    guarded = adapter_type("email").build(
        {**config, **secrets}, httpx.AsyncClient(), BuildOptions()
    )
    with pytest.raises(BadConfig, match="loopback"):
        await guarded.send(
            outgoing(ALERT)
        )  # a relay on loopback needs CHATOPS_ALLOW_PRIVATE_TARGETS
