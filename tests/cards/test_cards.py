"""What people see: buttons per state, pings that cannot happen, truncation that shows, digests."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from urllib.parse import unquote

import pytest

from cards.adaptive import alert_card, teams_message
from cards.adaptive_groups import digest_card
from cards.blockkit import alert_blocks, builder_link, digest_blocks
from cards.style import relative
from cards.templates import integration_notice
from domain import AlertState, Digest, Priority
from tests.cards.checks import adaptive_problems, all_text, blockkit_problems
from tests.cards.samples import NOW, PUBLIC, TEMPLATES, in_state


def slack_verbs(message: dict) -> list[str]:  # type: ignore[type-arg]
    """The controls that act (buttons with a value, menus), not the links."""
    return [
        e["action_id"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "value" in e or e["type"] == "static_select"
    ]


def teams_verbs(card: dict) -> list[str]:  # type: ignore[type-arg]
    """The verbs of the card's actions, those inside a card that opens among them."""
    return [
        a["verb"]
        for top in card["actions"]
        for a in (top["card"]["actions"] if top["type"] == "Action.ShowCard" else [top])
        if a["type"] == "Action.Execute"
    ]


@pytest.mark.parametrize(
    "name,state,verbs",
    [
        ("generic", "triggered", ["acknowledge", "escalate", "resolve", "snooze", "note"]),
        ("generic", "acknowledged", ["escalate", "resolve", "snooze", "note"]),
        ("generic", "escalated", ["acknowledge", "escalate", "resolve", "snooze", "note"]),
        ("generic", "snoozed", ["acknowledge", "escalate", "resolve", "unsnooze", "note"]),
        ("generic", "resolved", []),
        ("sync_failed", "triggered", ["retry", "discard", "note"]),
        ("dead_letter", "triggered", ["retry", "discard", "note"]),
        ("dead_letter", "resolved", []),
        ("connection_test", "triggered", ["acknowledge", "resolve", "snooze", "note"]),
    ],
)
def test_buttons_that_no_longer_apply_disappear(name: str, state: str, verbs: list[str]) -> None:
    alert = in_state(TEMPLATES[name], state)
    assert slack_verbs(alert_blocks(alert, NOW, public_url=PUBLIC)) == verbs
    assert teams_verbs(alert_card(alert, NOW, public_url=PUBLIC)) == verbs


def test_priority_looks_the_same_on_both_platforms() -> None:
    for priority, emoji in [
        (Priority.CRITICAL, "🔴"),
        (Priority.HIGH, "🟠"),
        (Priority.MEDIUM, "🟡"),
        (Priority.LOW, "🔵"),
        (Priority.INFO, "⚪"),
    ]:
        alert = dataclasses.replace(TEMPLATES["generic"], priority=priority)
        header = alert_blocks(alert, NOW)["blocks"][1]["text"]["text"]
        title_run = alert_card(alert, NOW)["body"][0]["items"][1]["inlines"][0]["text"]
        assert header.startswith(emoji) and title_run.startswith(emoji)


def test_acknowledged_card_says_who_and_when() -> None:
    alert = in_state(TEMPLATES["generic"], "acknowledged")
    expected = "Acknowledged by Dana Ops at 2026-11-21 14:29 UTC (1 min ago)"
    assert any(expected in s for s in all_text(alert_blocks(alert, NOW)))
    assert any(
        expected.replace("(", "\\(").replace(")", "\\)").replace("-", "\\-").replace(".", "\\.")
        in s
        for s in all_text(alert_card(alert, NOW))
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel> disk full",
        "<@U123> look",
        "*bold* & <b>",
        "<!here|here>",
        "<https://evil.example|click>",
    ],
)
def test_user_text_cannot_ping_or_break_markup(hostile: str) -> None:
    alert = dataclasses.replace(
        TEMPLATES["generic"],
        title=hostile,
        body=hostile,
        facts={hostile: hostile},
        stakeholders=(hostile,),
    )
    message = alert_blocks(alert, NOW)
    assert "<" not in message["text"] and "&lt;" in message["text"]
    mrkdwn = [
        o
        for b in message["blocks"]
        for o in [b.get("text"), *b.get("fields", []), *b.get("elements", [])]
        if o and o.get("type") == "mrkdwn"
    ]
    # only the body is mrkdwn (formatted as written), and in it nothing can ping or link
    assert [o["text"] for o in mrkdwn] == [
        hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ]
    assert all(o["verbatim"] is True for o in mrkdwn)
    card = alert_card(alert, NOW)
    facts = [f for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]]
    assert all("<" not in f["value"].replace("\\<", "") for f in facts)


def test_a_huge_alert_is_cut_visibly_with_a_view_full_link() -> None:
    alert = dataclasses.replace(
        TEMPLATES["generic"],
        title="T" * 500,
        body="B" * 100_000,
        facts={f"f{i}": "v" * 3000 for i in range(500)},
    )
    message = alert_blocks(alert, NOW, public_url=PUBLIC)
    assert blockkit_problems(message) == []
    texts = all_text(message)
    assert any(t.endswith("…") and t.startswith("🔴 TTT") for t in texts)
    assert any("… and 470 more facts" in t for t in texts)
    urls = [
        e.get("url") for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert f"{PUBLIC}/alerts/generic-0001" in urls
    card = alert_card(alert, NOW, public_url=PUBLIC)
    assert adaptive_problems(card) == []
    assert len(json.dumps(teams_message(card), ensure_ascii=False).encode()) <= 28 * 1024
    links = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert any(a.get("title") == "View full alert" for a in links)


def test_relative_times() -> None:
    assert relative(NOW - timedelta(seconds=10), NOW) == "just now"
    assert relative(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert relative(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert relative(NOW - timedelta(days=2), NOW) == "2 d ago"
    assert relative(NOW + timedelta(minutes=10), NOW) == "in 10 min"


def test_a_digest_shows_the_count_the_worst_and_acknowledge_all() -> None:
    worst = [
        in_state(TEMPLATES["security"], "triggered"),
        in_state(TEMPLATES["generic"], "acknowledged"),
    ]
    digest = Digest(
        id="d1",
        count=37,
        most_severe=tuple(worst),
        by_priority={"CRITICAL": 2, "LOW": 35},
        since=NOW - timedelta(seconds=50),
        until=NOW,
    )
    message = digest_blocks(digest, NOW, public_url=PUBLIC)
    assert blockkit_problems(message) == []
    assert message["blocks"][0]["text"]["text"] == "📚 37 alerts in the last minute"
    assert "🔴 2 CRITICAL · 🔵 35 LOW" in all_text(message)
    assert any(t.startswith("🔴 Vault sealed on vault-2") for t in all_text(message))
    assert "… and 35 more" in all_text(message)
    acks = [
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "acknowledge"
    ]
    assert acks[0]["value"] == "digest:d1"
    card = digest_card(digest, NOW, public_url=PUBLIC)
    assert adaptive_problems(card) == []
    assert card["actions"][0] == {
        "type": "Action.Execute",
        "title": "Acknowledge all",
        "verb": "acknowledge",
        "style": "positive",
        "data": {"digest_id": "d1"},
    }


def test_the_teams_envelope_carries_the_card_as_an_attachment() -> None:
    card = alert_card(TEMPLATES["generic"], NOW)
    message = teams_message(card)
    assert message["type"] == "message"
    assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert message["attachments"][0]["content"] is card


def test_builder_link_opens_the_same_blocks() -> None:
    message = alert_blocks(TEMPLATES["generic"], NOW)
    link = builder_link(message)
    assert link.startswith("https://app.slack.com/block-kit-builder/#")
    assert json.loads(unquote(link.split("#", 1)[1])) == {"blocks": message["blocks"]}


def test_integration_notices_have_their_titles_messages_and_links() -> None:
    notice = integration_notice(
        "integration.sync.failed",
        "42",
        "Jira - Platform",
        retry_count="3",
        error="HTTP 401",
        task_id="7",
    )
    assert notice.notification_type == "error"
    assert notice.title == "Integration Sync Task Failed"
    assert notice.message == (
        'The sync task for "Jira - Platform" has failed after 3 attempts: '
        "HTTP 401. Please review the sync configuration."
    )
    assert notice.link == "/integrations/42/sync/7"
    disabled = integration_notice(
        "integration.provider.status.changed",
        "42",
        "Jira",
        provider="Jira",
        old_status="active",
        new_status="disabled",
    )
    assert disabled.notification_type == "warning"
    assert (
        integration_notice("integration.credentials.expired", "9", "S").link
        == "/integrations/9/credentials"
    )
    with pytest.raises(KeyError):
        integration_notice("integration.weather.changed", "1", "x")


def test_resolved_card_has_no_buttons_and_says_who_resolved() -> None:
    alert = dataclasses.replace(
        TEMPLATES["generic"],
        state=AlertState.RESOLVED,
        resolved_by="Lee",
        resolved_at=NOW,
        link=None,
    )
    message = alert_blocks(alert, NOW, public_url=PUBLIC)
    assert slack_verbs(message) == []
    assert any("Resolved by Lee" in t for t in all_text(message))


def test_links_become_url_buttons_in_order_on_both_platforms() -> None:
    from domain import Link

    links = (
        Link("Runbook", "https://wiki.example.com/rb/disk"),
        Link("Dashboard", "https://grafana.example.com/d/1"),
        Link("Logs", "https://logs.example.com/q?x=1"),
        Link("Source", "https://prom.example.com/graph?g0.expr=up"),
    )
    alert = dataclasses.replace(TEMPLATES["generic"], links=links)
    message = alert_blocks(alert, NOW, public_url=PUBLIC)
    assert blockkit_problems(message) == []
    buttons = [
        (e["text"]["text"], e["url"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" in e and e["action_id"].startswith("open_link_")
    ]
    assert buttons == [(link.title, link.url) for link in links]
    card = alert_card(alert, NOW, public_url=PUBLIC)
    assert adaptive_problems(card) == []
    sets = [b for b in card["body"] if b.get("type") == "ActionSet"]
    shown = [(a["title"], a["url"]) for a in sets[0]["actions"]]
    assert shown[: len(links)] == [(link.title, link.url) for link in links]
    assert shown[-1][0] == "View full alert" and len(shown) <= 6
    assert len(card["actions"]) <= 6  # Teams shows six actions at most


def test_the_body_is_formatted_but_never_pings_or_hides_a_link() -> None:
    body = "*Disk* at 97% on `db-1` <!channel> <@U0ADMIN> <https://evil.example|runbook> & more"
    alert = dataclasses.replace(TEMPLATES["generic"], body=body)
    message = alert_blocks(alert, NOW, public_url=PUBLIC)
    sections = [b for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert sections[0]["text"] == {
        "type": "mrkdwn",
        "text": "*Disk* at 97% on `db-1` &lt;!channel&gt; &lt;@U0ADMIN&gt; "
        "&lt;https://evil.example|runbook&gt; &amp; more",
        "verbatim": True,
    }
