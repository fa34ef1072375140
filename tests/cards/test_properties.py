"""Any alert at all renders to valid cards: hypothesis generates the hostile ones."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.adaptive import MAX_BYTES, alert_card, size_of
from cards.blockkit import alert_blocks
from domain import Alert, AlertState, Priority
from tests.cards.checks import adaptive_problems, blockkit_problems

NOW = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<#C123|general>",
    "*bold*",
    "_it_",
    "~s~",
    "`code`",
    "&amp;",
    "&",
    "<",
    ">",
    "[x](https://evil.example)",
    "<at>Boss</at>",
    "**b**",
    "# h",
    "\u202e",
    "\x00",
    "😀",
    "\U0001d518\U0001d52b",
    "\n\n",
    "  ",
]

text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(HOSTILE), max_size=20).map("".join),
    st.text(min_size=1, max_size=5).map(lambda s: s * 20_000),  # up to 100 KB
)
short = st.text(max_size=80)


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    state = draw(st.sampled_from(list(AlertState)))
    acked = state is not AlertState.TRIGGERED and draw(st.booleans())
    return Alert(
        id=draw(st.text(alphabet="abcdef0123456789", min_size=1, max_size=40)),
        tenant="default",
        event_type=draw(
            st.sampled_from(
                [
                    "generic",
                    "integration.sync.failed",
                    "security.x",
                    "a.api_error",
                    "delivery.dead_letter",
                ]
            )
            | short
        ),
        priority=draw(st.sampled_from(list(Priority))),
        title=draw(text),
        body=draw(st.one_of(st.just(""), text)),
        state=state,
        dedup_key="k",
        source=draw(short),
        link=draw(
            st.one_of(
                st.none(),
                st.just("https://x.example/" + "a" * 4000),
                st.just("https://x.example/ok"),
                short,
            )
        ),
        stakeholders=tuple(draw(st.lists(short, max_size=50))),
        facts=draw(st.dictionaries(short, st.one_of(short, text), max_size=500)),
        correlation_id=draw(st.one_of(st.none(), short)),
        occurrences=draw(st.integers(1, 10**9)),
        first_seen=NOW - timedelta(seconds=draw(st.integers(0, 10**8))),
        last_seen=NOW,
        escalation_level=draw(st.integers(0, 10)),
        acknowledged_by=draw(short) if acked else None,
        acknowledged_at=NOW if acked else None,
        resolved_by=draw(short) if state is AlertState.RESOLVED else None,
        resolved_at=NOW if state is AlertState.RESOLVED else None,
    )


def big_facts(alert: Alert) -> Alert:
    return dataclasses.replace(alert, facts={f"fact {i}": "v" * 300 for i in range(500)})


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(alerts())
def test_every_alert_gives_a_valid_slack_message(alert: Alert) -> None:
    for variant in (alert, big_facts(alert)):
        message = alert_blocks(variant, NOW, public_url="https://bot.example")
        assert blockkit_problems(message) == []
        # The fallback text is mrkdwn: nothing in it can form a mention or a link.
        assert "<" not in message["text"] and ">" not in message["text"]
        # User-written text sits in plain_text (Slack parses nothing), or in mrkdwn (the body)
        # escaped so that no mention, broadcast or link can form: no raw < or >, verbatim.
        for block in message["blocks"]:
            for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
                if obj and obj.get("type") == "mrkdwn":
                    assert "<" not in obj["text"] and ">" not in obj["text"]
                    assert obj.get("verbatim") is True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(alerts())
def test_every_alert_gives_a_valid_adaptive_card_under_28_kb(alert: Alert) -> None:
    for variant in (alert, big_facts(alert)):
        card = alert_card(variant, NOW, public_url="https://bot.example")
        assert adaptive_problems(card) == []
        assert size_of(card) <= MAX_BYTES
        for fact_set in (e for e in card["body"] if e["type"] == "FactSet"):
            for fact in fact_set["facts"]:
                for value in (fact["title"], fact["value"]):
                    # Markdown punctuation only ever appears escaped.
                    unescaped = re.sub(r"\\.", "", value, flags=re.S)
                    assert not set(unescaped) & set("*_[]<>`~#")
        # Title and body travel as TextRuns, which Teams never reads as Markdown.
        runs = [i for e in card["body"] if e["type"] == "RichTextBlock" for i in e["inlines"]]
        assert all(run["type"] == "TextRun" for run in runs)
