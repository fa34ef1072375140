"""The web console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

Sign in, watch a new alert appear without a reload, open it and see both cards (Microsoft's
Adaptive Cards renderer and the Block Kit rendering), acknowledge it and see the Slack card
change; wrong tokens, missing cookies and cross-site posts are refused. Screenshots of the
alert page and the preview go to the test's temporary folder; with
`CHATOPS_SCREENSHOTS=docs/screenshots` they refresh the ones the README links to.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.infra.settings import Settings
from bot.runtime.app import create_app
from tests.conftest import API_TOKEN
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers import eventually
from tests.scenarios.slackops import slash, texts

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS_WANTED = os.environ.get("CHATOPS_SCREENSHOTS")  # where to keep them; else a temp dir


def shots_dir() -> Path:
    """Where screenshots go: a temporary folder, so a test run changes no tracked file."""
    shots = Path(SHOTS_WANTED) if SHOTS_WANTED else Path(tempfile.gettempdir()) / "chatops-shots"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
Client = TestClient  # type: ignore[type-arg]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={
            "admins": "slack:W111",
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack.url,
        }
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        await launched.close()


class Page:
    """A browser tab on the bot, collecting every console error and failed request."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def sign_in(self, token: str = API_TOKEN) -> Any:
        await self.page.goto(f"{self.base}/ui")
        await self.page.fill("#token", token)
        await self.page.click("button[type=submit]")
        return self.page


async def open_page(browser: Any, bot: Client, width: int = 1280, height: int = 800) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height})
    return Page(await context.new_page(), str(bot.make_url("")).rstrip("/"))


async def test_sign_in_watch_an_alert_arrive_open_it_and_acknowledge_it(
    bot: Client, slack: FakeSlack, browser: Any
) -> None:
    assert "Subscribed" in (await (await slash(bot, "subscribe")).json())["text"]
    tab = await open_page(browser, bot)
    page = await tab.sign_in()
    await page.wait_for_selector("h1:has-text('Alerts')")
    assert "All quiet" in await page.inner_text("table.alerts")

    resp = await bot.post(
        "/api/v1/events",
        json={
            "title": "Disk 97% on db-1",
            "priority": "CRITICAL",
            "facts": {"host": "db-1"},
            "links": [{"title": "Runbook", "url": "https://wiki.example.com/rb/disk"}],
        },
    )
    alert_id = (await resp.json())["id"]
    row = page.locator(f"tr[data-id='{alert_id}']")
    await row.wait_for(timeout=10_000)  # no reload: the page's script fetched it
    assert "🔴 CRITICAL" in await row.inner_text()
    assert await page.inner_text(".count") == "1 of 1 shown"
    await eventually(lambda: slack.in_channel("C111"))
    await eventually(lambda: row.inner_text(), within=10)
    await page.wait_for_function(
        f"document.querySelector(\"tr[data-id='{alert_id}']\").innerText.includes('slack:')",
        timeout=10_000,
    )  # delivered to the Slack channel

    await row.locator("a").click()
    await page.wait_for_selector(".ac-host .ac-adaptiveCard", timeout=10_000)
    teams = await page.inner_text(".ac-host")
    assert "Disk 97% on db-1" in teams  # drawn by Microsoft's renderer
    assert "Disk 97% on db-1" in await page.inner_text(".slack .sk-header")
    assert "Runbook" in await page.inner_text(".slack .sk-actions")
    assert "slack:ops · slack" in await page.inner_text(
        "table.deliveries"
    )  # where it was delivered
    shots = shots_dir()
    await page.screenshot(path=str(shots / "alert.png"), full_page=True)

    await page.click("button.verb-acknowledge")
    await page.wait_for_selector(".said:has-text('Acknowledged.')")
    card = slack.in_channel("C111")[0]
    await eventually(lambda: "Acknowledged by operator" in texts(card.blocks))
    assert "acknowledge" in await page.inner_text("ol.audit")
    again = await bot.get(f"/api/v1/events/{alert_id}")
    assert (await again.json())["acknowledged_by"] == "operator"
    assert tab.errors == []


async def test_the_preview_draws_both_cards_in_every_state_and_shows_errors(
    bot: Client, browser: Any
) -> None:
    tab = await open_page(browser, bot)
    page = await tab.sign_in()
    await page.goto(f"{tab.base}/ui/preview")
    await page.wait_for_selector(".ac-host .ac-adaptiveCard")
    assert await page.locator("section.state").count() == 5  # snoozed too
    assert await page.locator(".ac-host .ac-adaptiveCard").count() == 5
    link = await page.get_attribute("figcaption a", "href")
    assert link and link.startswith("https://app.slack.com/block-kit-builder/#")
    await page.screenshot(path=str(shots_dir() / "preview.png"), full_page=True)

    await page.fill("#event", json.dumps({"title": "x", "priority": "URGENT"}))
    await page.click("form.event button[type=submit]")
    error = await page.inner_text("#event-error")
    assert error.startswith("priority:") and "CRITICAL" in error
    assert await page.get_attribute("#event", "aria-invalid") == "true"
    assert tab.errors == []


async def test_refusals_wrong_token_no_cookie_and_cross_site_posts(
    bot: Client, browser: Any
) -> None:
    tab = await open_page(browser, bot)
    page = tab.page
    response = await page.goto(f"{tab.base}/ui/integrations")
    assert page.url.startswith(f"{tab.base}/ui/login?next=")  # no cookie: sign in first
    assert response is not None
    await tab.sign_in("not-the-token")
    assert "That token is not valid" in await page.inner_text("[role=alert]")
    assert await page.context.cookies() == []

    await tab.sign_in()
    cookie = (await page.context.cookies())[0]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    resp = await bot.post("/api/v1/events", json={"title": "forged", "priority": "HIGH"})
    alert_id = (await resp.json())["id"]
    forged = await page.request.post(
        f"{tab.base}/ui/alerts/{alert_id}/acknowledge",
        form={"csrf": "guessed"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status == 403
    no_token = await page.request.post(f"{tab.base}/ui/alerts/{alert_id}/acknowledge", form={})
    assert no_token.status == 403
    state = (await (await bot.get(f"/api/v1/events/{alert_id}")).json())["state"]
    assert state == "triggered"  # nothing changed
    headers = (await page.request.get(f"{tab.base}/ui")).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


async def test_usable_on_a_phone_and_by_keyboard(bot: Client, browser: Any) -> None:
    resp = await bot.post("/api/v1/events", json={"title": "Queue backlog", "priority": "HIGH"})
    alert_id = (await resp.json())["id"]
    tab = await open_page(browser, bot, width=390, height=844)
    page = await tab.sign_in()
    await page.wait_for_selector(f"tr[data-id='{alert_id}']")
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390  # nothing wider than the phone
    await page.goto(f"{tab.base}/ui/alerts/{alert_id}")
    for _ in range(12):  # Tab through the page to the Acknowledge button, press Enter
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        if focused.strip() == "Acknowledge":
            break
    else:
        raise AssertionError("the Acknowledge button cannot be reached by keyboard")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".said:has-text('Acknowledged.')")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.goto(f"{tab.base}/ui/silences")
    await page.wait_for_selector("form.silence")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert tab.errors == []


async def test_the_on_call_page_draws_two_weeks_and_an_alert_shows_its_escalation(
    bot: Client, slack: FakeSlack, browser: Any
) -> None:
    for person in ({"name": "ana", "slack_user_id": "U222"}, {"name": "cy"}):
        assert (await bot.post("/api/v1/people", json=person)).status == 201
    layer = {
        "rotation": "daily",
        "handoff": "09:00",
        "start": "2026-01-05",
        "people": ["ana", "cy"],
    }
    made = await bot.post(
        "/api/v1/schedules",
        json={"name": "db", "time_zone": "Europe/Berlin", "layers": [layer]},
    )
    assert made.status == 201
    policy = {"name": "db", "steps": [{"notify": [{"person": "ana"}], "wait": "5m"}]}
    assert (await bot.post("/api/v1/escalation-policies", json=policy)).status == 201
    reply = await slash(bot, "subscribe policy=db")
    assert "starts the escalation policy `db`" in (await reply.json())["text"]

    tab = await open_page(browser, bot)
    page = await tab.sign_in()
    await page.click("nav >> text=On call")
    await page.wait_for_selector("section.schedule .shift")
    shifts = page.locator("section[aria-label='Schedule db'] .shift")
    count = await shifts.count()
    assert 14 <= count <= 15  # a daily rotation over two weeks, cut at both ends
    names = {await shifts.nth(n).locator("text").text_content() for n in range(count)}
    assert names == {"ana", "cy"}
    current = page.locator(".shift.now")
    assert await current.count() == 1
    title = await current.locator("title").text_content()
    assert title is not None and " → " in title and ":00" in title
    widths = [
        float(await shifts.nth(n).locator("rect").get_attribute("width") or 0)
        for n in range(1, count - 1)
    ]
    assert all(68 < w < 74 for w in widths), widths  # a day is 1/14 of the width (71.4)
    days = await page.locator("section[aria-label='Schedule db'] .day").count()
    assert days in (13, 14)
    await page.screenshot(path=str(shots_dir() / "oncall.png"), full_page=True)

    resp = await bot.post("/api/v1/events", json={"title": "Replica lag", "priority": "HIGH"})
    alert_id = (await resp.json())["id"]
    await eventually(lambda: slack.in_channel("DU222"))
    await page.goto(f"{tab.base}/ui/alerts/{alert_id}")
    progress = await page.inner_text("section.escalation")
    assert "Escalation: db" in progress and "paged ana" in progress
    assert "Every step has paged" in progress
    assert "dm:ana:slack · slack" in await page.inner_text("table.deliveries")
    assert tab.errors == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not SQL
async def test_label_filters_muted_alerts_and_silences_made_and_expired_in_the_console(
    bot: Client, slack: FakeSlack, browser: Any
) -> None:
    for title, cluster in (("Disk full", "eu-1"), ("Queue slow", "eu-1"), ("Latency", "us-1")):
        made = await bot.post(
            "/api/v1/events", json={"title": title, "labels": {"cluster": cluster}}
        )
        assert made.status == 202
    tab = await open_page(browser, bot)
    page = await tab.sign_in()
    await page.wait_for_selector("tr[data-id]")
    await page.fill("input[name=labels]", 'cluster="eu-1"')
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector(".count:has-text('2 of 2 shown')")
    assert "Latency" not in await page.inner_text("table.alerts")
    await page.fill("input[name=labels]", 'cluster=~"us.*"')
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector(".count:has-text('1 of 1 shown')")
    assert "Latency" in await page.inner_text("table.alerts")
    await page.fill("input[name=labels]", 'cluster=~"(')
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector(".said:has-text('Labels:')")

    await page.click("nav >> text=Silences")
    await page.wait_for_selector("h1:has-text('Silences')")
    await page.fill("form.silence input[name=matchers]", "cluster=")
    await page.click("form.silence button[type=submit]")
    await page.wait_for_selector(".said:has-text('Not silenced: matchers')")
    assert (await (await bot.get("/api/v1/silences")).json())["data"] == []
    await page.fill("form.silence input[name=matchers]", 'cluster="eu-1"')
    await page.fill("form.silence input[name=duration]", "1h")
    await page.fill("form.silence input[name=comment]", "failover drill")
    await page.click("form.silence button[type=submit]")
    await page.wait_for_selector(".said:has-text('Silenced cluster=\"eu-1\" until')")
    assert "failover drill" in await page.inner_text("table.silences")
    made = await bot.post(
        "/api/v1/events", json={"title": "Node down", "labels": {"cluster": "eu-1"}}
    )
    assert made.status == 202
    await page.goto(f"{tab.base}/ui?state=muted")
    await page.wait_for_selector(".count:has-text('1 of 1 shown')")
    row = await page.inner_text("table.alerts")
    assert "Node down" in row and "🔕 muted by silence:" in row

    await page.goto(f"{tab.base}/ui/silences")
    await page.click("table.silences button.expire")
    await page.wait_for_selector(".said:has-text('expired')")
    assert "No silences." in await page.inner_text("table.silences")
    audit = await (await bot.get("/api/v1/audit?kind=silence")).json()
    assert [(e["kind"], e["actor"]) for e in audit["entries"]] == [
        ("silence.expire", "operator"),
        ("silence.create", "operator"),
    ]
    await page.screenshot(path=str(shots_dir() / "silences.png"), full_page=True)
    assert tab.errors == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not SQL
async def test_the_report_page_compares_weeks_in_charts_and_downloads_csv(
    bot: Client, slack: FakeSlack, browser: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bot.runtime.app import SERVICES
    from storage.schema import Event, utcnow

    made = []
    for title, priority, days in (("Disk full", "CRITICAL", 0), ("Queue slow", "HIGH", 8)):
        resp = await bot.post("/api/v1/events", json={"title": title, "priority": priority})
        made.append((await resp.json())["id"])
        async with bot.app[SERVICES].db.session() as session, session.begin():
            await session.execute(
                update(Event)
                .where(Event.id == made[-1])
                .values(first_seen=utcnow() - timedelta(days=days, minutes=10))
            )
    acted = await bot.post(f"/api/v1/events/{made[0]}/acknowledge", json={"actor": "ana"})
    assert acted.status == 200
    tab = await open_page(browser, bot, width=390, height=844)
    page = await tab.sign_in()
    await page.click("nav >> text=Reports")
    await page.wait_for_selector("table.report")
    await page.select_option("select[name=since]", "30d")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector("table.report >> text=CRITICAL")
    table = await page.inner_text("table.report")
    assert "CRITICAL\t1\t1\t0\t10m" in table and "HIGH\t1\t0\t0" in table
    weeks = page.locator("section.chart").first.locator("g.bar")
    assert await weeks.count() == 2  # two weeks, one bar each
    times = page.locator("section.chart").nth(1).locator("g.bar")
    assert await times.count() == 4  # MTTA and MTTR per week
    titles = [await times.nth(n).locator("title").text_content() or "" for n in range(4)]
    assert any(t.endswith("mtta median 10m") for t in titles), titles  # this week's
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    async with page.expect_download() as wanted:
        await page.click("a.csv")
    download = await wanted.value
    text = Path(await download.path()).read_text()
    assert text.splitlines()[0].startswith("priority,alerts,acknowledged,resolved")
    await page.screenshot(path=str(shots_dir() / "report.png"), full_page=True)
    assert tab.errors == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not SQL
async def test_heartbeats_are_paused_and_resumed_from_the_console(
    bot: Client, browser: Any
) -> None:
    made = await bot.post("/api/v1/heartbeats", json={"name": "backup-job", "interval": "15m"})
    assert made.status == 201
    tab = await open_page(browser, bot)
    page = await tab.sign_in()
    await page.click("nav >> text=Heartbeats")
    row = page.locator("tr[data-name='backup-job']")
    await row.wait_for()
    assert "waiting" in await row.locator(".state").inner_text()
    await row.locator("input[name=duration]").fill("1h")
    await row.locator("button.pause").click()
    await page.wait_for_selector(".said:has-text('paused for 1h')")
    assert "paused until" in await row.locator(".state").inner_text()
    await row.locator("button.resume").click()
    await page.wait_for_selector(".said:has-text('watched again')")
    audit = await (await bot.get("/api/v1/audit?kind=heartbeat")).json()
    assert [(e["kind"], e["actor"]) for e in audit["entries"]][:2] == [
        ("heartbeat.resume", "operator"),
        ("heartbeat.pause", "operator"),
    ]
    assert tab.errors == []
