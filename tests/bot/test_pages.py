"""The card's links open read-only pages a person can read without a token, and no other."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

Client = TestClient  # type: ignore[type-arg]


async def test_the_view_link_opens_the_alert_and_a_guess_does_not(client: Client) -> None:
    event = {
        "title": "<script>alert(1)</script> disk full",
        "body": "on db-1",
        "facts": {"host": "db-1"},
        "link": "https://grafana.example.com/d/1",
    }
    created = await (await client.post("/api/v1/events", json=event)).json()
    detail = await (await client.get(f"/api/v1/events/{created['id']}")).json()
    url = detail["url"]
    assert url.startswith(f"http://chatops.test/alerts/{created['id']}/")
    path = url.removeprefix("http://chatops.test")
    client.session.headers.pop("Authorization")  # a person clicking has no API token
    resp = await client.get(path)
    assert resp.status == 200
    html = await resp.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; disk full" in html and "<script>" not in html
    assert "db-1" in html and "triggered" in html
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    for guess in (f"/alerts/{created['id']}", f"/alerts/{created['id']}/{'0' * 32}"):
        wrong = await client.get(guess)
        assert wrong.status == 404 and "disk full" not in await wrong.text()
