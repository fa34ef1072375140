"""Who may use the console, and what a tenant's admin key sees there (over plain HTTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestClient

from bot.runtime.app import SERVICES
from domain import By
from tests.conftest import API_TOKEN

Client = TestClient  # type: ignore[type-arg]


async def signed_in(client: Client, token: str) -> ClientSession:
    """A cookie-keeping session that signed in to the console with `token`."""
    session = ClientSession(base_url=str(client.make_url("")), cookie_jar=CookieJar(unsafe=True))
    resp = await session.post("/ui/login", data={"token": token, "next": "/ui"})
    assert resp.status == 200, await resp.text()  # followed the redirect to the alerts
    return session


async def test_a_tenants_admin_key_sees_that_tenant_only_and_read_keys_are_refused(
    client: Client,
) -> None:
    keys = client.app[SERVICES].keys
    admin, _ = await keys.create("acme", "console", "admin", by="test")
    reader, _ = await keys.create("acme", "reader", "events:read", by="test")
    for tenant, title in (("acme", "acme db down"), ("other", "other db down")):
        resp = await client.post("/api/v1/events", json={"title": title, "tenant": tenant})
        assert resp.status == 202
    other_id = (await (await client.get("/api/v1/events?tenant=other")).json())["events"][0]["id"]

    session = await signed_in(client, admin)
    try:
        rows = (await (await session.get("/ui/alerts.json")).json())["alerts"]
        assert [r["title"] for r in rows] == ["acme db down"]
        assert (await session.get(f"/ui/alerts/{other_id}")).status == 404
        page = await (await session.get("/ui")).text()
        assert "console · acme" in page
    finally:
        await session.close()

    refused = ClientSession(base_url=str(client.make_url("")), cookie_jar=CookieJar(unsafe=True))
    try:
        resp = await refused.post("/ui/login", data={"token": reader}, allow_redirects=False)
        assert resp.status == 401 and "That token is not valid" in await resp.text()
        assert "chatops_session" not in {c.key for c in refused.cookie_jar}
        gone = await refused.get("/ui/alerts.json", allow_redirects=False)
        assert gone.status == 303 and gone.headers["Location"].startswith("/ui/login?next=")
        bad_next = await refused.get("/ui/login?next=//evil.example/x")
        assert 'value="/ui"' in await bad_next.text()  # no open redirect after sign-in
    finally:
        await refused.close()


async def test_a_session_cookie_that_was_tampered_with_is_no_session(client: Client) -> None:
    from tests.conftest import API_TOKEN

    session = await signed_in(client, API_TOKEN)
    try:
        cookie = next(c for c in session.cookie_jar if c.key == "chatops_session")
        original = cookie.value
        forged = original[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
        for value, status in ((original, 200), (forged, 303)):
            session.cookie_jar.clear()
            session.cookie_jar.update_cookies(
                {"chatops_session": value}, client.make_url("/ui/alerts.json")
            )
            resp = await session.get("/ui/alerts.json", allow_redirects=False)
            assert resp.status == status
    finally:
        await session.close()


async def test_the_integrations_page_lists_dead_letters_and_retries_one(client: Client) -> None:
    import re

    from sqlalchemy import update

    from storage.schema import Delivery
    from tests.conftest import API_TOKEN
    from tests.helpers import eventually, webhook_route

    await webhook_route(client, "http://127.0.0.1:9/nowhere", name="broken")
    resp = await client.post("/api/v1/events", json={"title": "lost", "priority": "HIGH"})
    alert_id = (await resp.json())["id"]
    services = client.app[SERVICES]

    async def dead() -> int:
        async with services.db.session() as s, s.begin():
            done = await s.execute(
                update(Delivery)
                .where(Delivery.event_id == alert_id)
                .values(status="dead", error_message="HTTP 503 three times")
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    async def failed_once() -> bool:
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        return bool(detail["deliveries"]) and detail["deliveries"][0]["status"] == "failed"

    await eventually(failed_once)  # its first try is over; the next is 30 s away
    await eventually(dead)  # as if its retries were spent
    session = await signed_in(client, API_TOKEN)
    try:
        page = await (await session.get("/ui/integrations")).text()
        assert "broken" in page and "HTTP 503 three times" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        action = re.search(r'action="(/ui/deliveries/[^"]+/retry)"', page)
        assert csrf and action
        forged = await session.post(action.group(1), data={"csrf": "x"}, allow_redirects=False)
        assert forged.status == 403
        done = await session.post(action.group(1), data={"csrf": csrf.group(1)})
        assert "Retry queued." in await done.text()
        detail = await (await client.get(f"/api/v1/events/{alert_id}")).json()
        assert detail["deliveries"][0]["status"] in ("pending", "sending", "failed")
    finally:
        await session.close()


async def test_without_the_renderer_the_console_shows_the_cards_json(
    client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """`make run` on a machine without npm: no renderer, so the Teams card is its JSON, and
    the page asks for no script that is not there."""
    from bot.http import console

    monkeypatch.setattr(console, "RENDERER", tmp_path / "not-installed")
    event = await client.post("/api/v1/events", json={"title": "disk full on db-7"})
    alert_id = (await event.json())["id"]
    login = await client.post("/ui/login", data={"token": API_TOKEN}, allow_redirects=False)
    assert login.status == 303
    page = await client.get(f"/ui/alerts/{alert_id}", headers={"Authorization": ""})
    html = await page.text()
    assert page.status == 200
    assert "The Adaptive Cards renderer is not installed" in html
    assert "&#34;AdaptiveCard&#34;" in html and "disk full on db-7" in html
    assert "adaptivecards.min.js" not in html


async def test_a_sign_in_posted_from_another_site_is_refused(client: Client) -> None:
    """Login CSRF: a foreign page must not sign the victim's browser into the attacker's
    session (the token is valid, the Origin is not the console's)."""
    resp = await client.post(
        "/ui/login",
        data={"token": API_TOKEN},
        headers={"Origin": "https://evil.example", "Authorization": ""},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert "chatops_session" not in resp.cookies


async def test_integration_notice_pages_carry_the_same_policy_as_the_others(
    client: Client,
) -> None:
    resp = await client.get("/integrations/abc/settings", headers={"Authorization": ""})
    assert resp.status == 200
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def signed_in_client(client: Client, token: str) -> ClientSession:
    """A browser of its own (its own cookie jar), signed in with `token`."""
    browser = ClientSession(base_url=str(client.make_url("/")), cookie_jar=CookieJar(unsafe=True))
    resp = await browser.post("/ui/login", data={"token": token}, allow_redirects=False)
    assert resp.status == 303
    return browser


async def test_a_session_ends_with_its_key_its_sign_out_or_a_new_operator_token(
    client: Client, settings: Any
) -> None:
    keys = client.app[SERVICES].keys
    admin, _ = await keys.create("acme", "console", "admin", by="test")
    browser = await signed_in_client(client, admin)
    try:
        assert (await browser.get("/ui", allow_redirects=False)).status == 200
        await keys.revoke("acme", "console", By("cli:test", "cli"))
        gone = await browser.get("/ui", allow_redirects=False)
        assert gone.status == 303 and "/ui/login" in gone.headers["Location"]
    finally:
        await browser.close()

    browser = await signed_in_client(client, API_TOKEN)
    try:
        cookie = browser.cookie_jar.filter_cookies(client.make_url("/ui"))["chatops_session"]
        page = await browser.get("/ui")
        csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert csrf
        out = await browser.post("/ui/logout", data={"csrf": csrf.group(1)}, allow_redirects=False)
        assert out.status == 303
    finally:
        await browser.close()
    # the cookie, copied before the sign-out, is dead on the server too
    replay = ClientSession(base_url=str(client.make_url("/")))
    try:
        again = await replay.get(
            "/ui", cookies={"chatops_session": cookie.value}, allow_redirects=False
        )
        assert again.status == 303
    finally:
        await replay.close()

    # a session opened with the operator token ends when the token is rotated
    browser = await signed_in_client(client, API_TOKEN)
    cookie = browser.cookie_jar.filter_cookies(client.make_url("/ui"))["chatops_session"]
    await browser.close()
    from aiohttp.test_utils import TestServer
    from pydantic import SecretStr

    from bot.runtime.app import create_app

    rotated = settings.model_copy(update={"api_token": SecretStr("a-new-token-9876543210")})
    async with TestClient(TestServer(create_app(rotated), host="127.0.0.1")) as after:
        resp = await after.get(
            "/ui", cookies={"chatops_session": cookie.value}, allow_redirects=False
        )
        assert resp.status == 303
