"""Slack Block Kit for an alert or a digest, within every Block Kit limit, user text inert."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cards.forms import SILENCE_ACTION
from cards.style import (
    LOOKS,
    STATE_LABELS,
    alert_url,
    clip,
    digest_url,
    group_counts,
    group_title,
    group_verbs,
    one_line,
    relative,
    safe_url,
    shown_state,
    slack_escape,
    state_lines,
    when,
)
from cards.style import (
    absolute as absolute_time,
)
from cards.templates import ACTION_IDS, BUTTON_LABELS, SNOOZE_LABELS, template_for, verbs_for
from domain import Alert, Digest, Priority, Verb

MAX_BLOCKS = 50
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
# URL buttons: Slack opens the link and still posts the click, which the bot only acknowledges.
LINK_BUTTONS = (
    "open_link",
    "view_full",
    "view_open",
    *(f"open_link_{n}" for n in range(1, 6)),  # an alert's links, in order
)
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
FACT_SECTIONS = 3  # 30 facts at most; the rest are counted and linked
FALLBACK_MAX = 3000
BUILDER_URL = "https://app.slack.com/block-kit-builder/#"

Block = dict[str, Any]


def plain(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    """A plain_text object: Slack never parses mentions, links or formatting in it."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    """A mrkdwn object for text people write to be read formatted (an alert's body): bold,
    italics, code and bare links show as Slack shows them, while `<`, `>` and `&` are escaped,
    so no mention (`<!channel>`, `<@U123>`), broadcast or hidden link (`<url|text>`) can form.
    Escapes lengthen the text: it is clipped so the escaped text fits `limit`."""
    escaped = slack_escape(clip(text, limit))
    if len(escaped) > limit:
        over = len(escaped) - limit
        escaped = slack_escape(clip(text, max(1, min(len(text), limit) - over - 1)))
    return {"type": "mrkdwn", "text": escaped or " ", "verbatim": True}


def button(
    text: str,
    *,
    action_id: str,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
) -> dict[str, Any]:
    """A button element within the button limits."""
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id[:255],
    }
    if value is not None:
        element["value"] = value[:BUTTON_VALUE_MAX]
    if url is not None:
        element["url"] = url
    if style:
        element["style"] = style
    return element


def _status_fields(alert: Alert, now: datetime) -> list[dict[str, Any]]:
    fields = [
        f"Priority\n{LOOKS[alert.priority].emoji} {alert.priority.value}",
        f"Status\n{STATE_LABELS[shown_state(alert)]}",
        f"First seen\n{when(alert.first_seen, now)}",
    ]
    if alert.occurrences > 1:
        fields.append(f"Occurrences\n{alert.occurrences} (last {relative(alert.last_seen, now)})")
    if alert.stakeholders:
        fields.append("Stakeholders\n" + ", ".join(alert.stakeholders))
    if alert.escalation_level:
        fields.append(f"Escalation level\n{alert.escalation_level}")
    return [plain(f, FIELD_MAX) for f in fields]


def _fact_sections(alert: Alert) -> tuple[list[Block], int]:
    facts = list(alert.facts.items())
    shown = facts[: FIELDS_PER_SECTION * FACT_SECTIONS]
    sections = [
        {
            "type": "section",
            "fields": [plain(f"{k}\n{v}", FIELD_MAX) for k, v in shown[i : i + FIELDS_PER_SECTION]],
        }
        for i in range(0, len(shown), FIELDS_PER_SECTION)
    ]
    return sections, len(facts) - len(shown)


def _actions(
    alert: Alert, full_url: str, truncated: bool, offered: frozenset[Verb] | None = None
) -> Block | None:
    elements: list[dict[str, Any]] = []
    for verb in verbs_for(alert, offered):
        if verb is Verb.SNOOZE:
            elements.append(snooze_menu())
            continue
        style = {
            Verb.ACKNOWLEDGE: "primary",
            Verb.RETRY: "primary",
            Verb.ESCALATE: "danger",
            Verb.DISCARD: "danger",
        }.get(verb)
        elements.append(
            button(BUTTON_LABELS[verb], action_id=ACTION_IDS[verb], value=alert.id, style=style)
        )
    if alert.labels and elements:  # an interactive card of a labelled alert still open
        elements.append(button("🔕 Silence similar…", action_id=SILENCE_ACTION, value=alert.id))
    link = safe_url(alert.link)
    if link and len(link) <= URL_MAX and link not in {x.url for x in alert.links}:
        elements.append(button("Open link", action_id="open_link", url=link))
    for n, extra in enumerate(alert.links[:5], start=1):
        url = safe_url(extra.url)
        if url and len(url) <= URL_MAX:
            elements.append(button(extra.title, action_id=f"open_link_{n}", url=url))
    if safe_url(full_url) and (truncated or not elements):
        elements.append(button("View full alert", action_id="view_full", url=full_url))
    return (
        {"type": "actions", "block_id": f"alert:{alert.id}"[:255], "elements": elements}
        if elements
        else None
    )


def alert_blocks(
    alert: Alert, now: datetime, *, public_url: str = "", offered: frozenset[Verb] | None = None
) -> dict[str, Any]:
    """The message for an alert: `text` (notifications, screen readers) and `blocks`.

    `offered` is the verbs the channel's routes let its cards offer (None: every verb)."""
    look = LOOKS[alert.priority]
    template = template_for(alert)
    state_label = STATE_LABELS[shown_state(alert)]
    full_url = alert_url(public_url or "https://chatops.invalid", alert)
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [plain(f"{template.label} · {alert.priority.value} · {state_label}", 300)],
        },
        {"type": "header", "text": plain(f"{look.emoji} {one_line(alert.title)}", HEADER_MAX)},
    ]
    truncated = len(alert.title) + 2 > HEADER_MAX
    if alert.body:  # formatted as written, never a mention or a hidden link
        blocks.append({"type": "section", "text": mrkdwn(alert.body, SECTION_MAX)})
        truncated |= len(alert.body) > SECTION_MAX
    blocks.append({"type": "section", "fields": _status_fields(alert, now)})
    facts, hidden = _fact_sections(alert)
    blocks.extend(facts)
    truncated |= hidden > 0 or any(len(k) + len(v) + 1 > FIELD_MAX for k, v in alert.facts.items())
    context = [plain(line, 1000) for line in state_lines(alert, now)]
    if hidden:
        context.append(plain(f"… and {hidden} more facts: use View full alert", 300))
    ids = [f"Alert {alert.id}", f"Source {alert.source}"]
    if alert.correlation_id:
        ids.insert(0, f"Correlation {alert.correlation_id}")
    context.append(plain(" · ".join(ids), 1000))
    blocks.append({"type": "context", "elements": context[:10]})
    actions = _actions(alert, full_url, truncated, offered)
    if actions:
        blocks.append(actions)
    state = STATE_LABELS[shown_state(alert)].split(" ", 1)[1]
    fallback = f"[{alert.priority.value}] {one_line(alert.title)} ({state})"
    return {"text": slack_escape(clip(fallback, FALLBACK_MAX)), "blocks": blocks[:MAX_BLOCKS]}


def digest_blocks(digest: Digest, now: datetime, *, public_url: str = "") -> dict[str, Any]:
    """One message standing for many alerts: the count, the worst few, acknowledge-all."""
    minutes = max(1, round((digest.until - digest.since).total_seconds() / 60))
    span = "the last minute" if minutes == 1 else f"the last {minutes} minutes"
    title = f"📚 {digest.count} alerts in {span}"
    counts = " · ".join(
        f"{LOOKS[Priority(p)].emoji} {n} {p}" for p, n in digest.by_priority.items()
    )
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, HEADER_MAX)},
        {"type": "context", "elements": [plain(counts or "no alerts", 1000)]},
    ]
    for alert in digest.most_severe[:10]:
        line = (
            f"{LOOKS[alert.priority].emoji} {one_line(alert.title)} — "
            f"{STATE_LABELS[shown_state(alert)]}, {relative(alert.first_seen, now)}"
        )
        blocks.append({"type": "section", "text": plain(line, SECTION_MAX)})
    rest = digest.count - len(digest.most_severe[:10])
    if rest > 0:
        blocks.append({"type": "context", "elements": [plain(f"… and {rest} more", 300)]})
    elements = [
        button(
            "Acknowledge all",
            action_id=ACTION_IDS[Verb.ACKNOWLEDGE],
            value=f"digest:{digest.id}",
            style="primary",
        )
    ]
    base = safe_url(public_url)
    if base:
        elements.append(
            button(
                "View open alerts",
                action_id="view_open",
                url=digest_url(base, digest.id),
            )
        )
    blocks.append(
        {"type": "actions", "block_id": f"digest:{digest.id}"[:255], "elements": elements}
    )
    return {"text": slack_escape(title), "blocks": blocks[:MAX_BLOCKS]}


def builder_link(message: dict[str, Any]) -> str:
    """A Block Kit Builder URL that opens these blocks for a look."""
    blocks = json.dumps({"blocks": message["blocks"]}, separators=(",", ":"), ensure_ascii=False)
    return BUILDER_URL + quote(blocks)


HOME_ALERTS = 30  # each alert takes three blocks; a Home tab holds 100


def home_view(
    alerts: list[Alert], total: int, now: datetime, *, public_url: str = ""
) -> dict[str, Any]:
    """The App Home tab: open alerts, most severe first, each with its buttons."""
    blocks: list[Block] = [
        {"type": "header", "text": plain("Open alerts", HEADER_MAX)},
        {
            "type": "context",
            "elements": [
                plain(f"{total} open · most severe first · updated {absolute_time(now)}", 300)
            ],
        },
    ]
    if not alerts:
        blocks.append({"type": "section", "text": plain("Nothing open. All quiet.")})
    for alert in alerts[:HOME_ALERTS]:
        line = (
            f"{LOOKS[alert.priority].emoji} {one_line(alert.title)}\n"
            f"{STATE_LABELS[shown_state(alert)]} · first seen {relative(alert.first_seen, now)}"
            + (f" · {alert.occurrences} times" if alert.occurrences > 1 else "")
        )
        blocks.append({"type": "section", "text": plain(line, SECTION_MAX)})
        actions = _actions(alert, alert_url(public_url or "https://chatops.invalid", alert), False)
        if actions:
            actions["block_id"] = f"home:{alert.id}"[:255]
            blocks.append(actions)
        blocks.append({"type": "divider"})
    if total > len(alerts[:HOME_ALERTS]):
        blocks.append(
            {
                "type": "context",
                "elements": [
                    plain(f"… and {total - len(alerts[:HOME_ALERTS])} more open alerts", 300)
                ],
            }
        )
    return {"type": "home", "blocks": blocks[:100]}


def group_blocks(
    digest: Digest, now: datetime, *, public_url: str = "", offered: frozenset[Verb] | None = None
) -> dict[str, Any]:
    """A group's living card: its labels, counts by state, the first alerts, and buttons that
    act on every member (`group:<card id>`)."""
    view = digest.group
    assert view is not None
    title = group_title(view)
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, HEADER_MAX)},
        {
            "type": "context",
            "elements": [
                plain(f"{group_counts(view)} · since {relative(digest.since, now)}", 1000)
            ],
        },
    ]
    for alert in digest.most_severe[:10]:
        line = (
            f"{LOOKS[alert.priority].emoji} {one_line(alert.title)} — "
            f"{STATE_LABELS[shown_state(alert)]}, {relative(alert.first_seen, now)}"
        )
        blocks.append({"type": "section", "text": plain(line, SECTION_MAX)})
    rest = digest.count - len(digest.most_severe[:10])
    if rest > 0:
        blocks.append({"type": "context", "elements": [plain(f"… and {rest} more", 300)]})
    value = f"group:{digest.id}"
    elements: list[dict[str, Any]] = []
    for verb in group_verbs(view, offered):
        if verb is Verb.SNOOZE:
            elements.append(snooze_menu())
            continue
        label = {Verb.ACKNOWLEDGE: "Acknowledge all", Verb.RESOLVE: "Resolve all"}.get(
            verb, BUTTON_LABELS[verb]
        )
        style = {Verb.ACKNOWLEDGE: "primary", Verb.ESCALATE: "danger"}.get(verb)
        elements.append(button(label, action_id=ACTION_IDS[verb], value=value, style=style))
    if elements:
        elements.append(button("🔕 Silence similar…", action_id=SILENCE_ACTION, value=value))
    base = safe_url(public_url)
    if base:
        elements.append(
            button("View group", action_id="view_open", url=digest_url(base, digest.id))
        )
    if elements:
        blocks.append({"type": "actions", "block_id": value[:255], "elements": elements})
    text = f"{title}: {group_counts(view)}"
    return {"text": slack_escape(clip(text, FALLBACK_MAX)), "blocks": blocks[:MAX_BLOCKS]}


def snooze_menu() -> dict[str, Any]:
    """The snooze menu without an alert: its block says what it snoozes."""
    return {
        "type": "static_select",
        "action_id": ACTION_IDS[Verb.SNOOZE],
        "placeholder": plain("💤 Snooze…", BUTTON_TEXT_MAX),
        "options": [
            {"text": plain(label, BUTTON_TEXT_MAX), "value": str(minutes)}
            for minutes, label in SNOOZE_LABELS.items()
        ],
    }
