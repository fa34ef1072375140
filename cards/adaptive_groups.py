"""Teams cards for many alerts at once: a storm's digest and a group's living card."""

from __future__ import annotations

from datetime import datetime

from cards.adaptive import VERSION, Element, plain_text, silence_action, small, snooze_for
from cards.style import (
    LOOKS,
    STATE_LABELS,
    clip,
    digest_url,
    group_counts,
    group_title,
    group_verbs,
    one_line,
    relative,
    safe_url,
    shown_state,
    teams_escape,
)
from cards.templates import BUTTON_LABELS
from domain import Digest, Priority, Verb
from domain.matchers import equal_to


def digest_card(digest: Digest, now: datetime, *, public_url: str = "") -> Element:
    """One card standing for many alerts: the count, the worst few, acknowledge-all."""
    minutes = max(1, round((digest.until - digest.since).total_seconds() / 60))
    span = "the last minute" if minutes == 1 else f"the last {minutes} minutes"
    counts = " · ".join(
        f"{LOOKS[Priority(p)].emoji} {n} {p}" for p, n in digest.by_priority.items()
    )
    body: list[Element] = [
        {
            "type": "TextBlock",
            "text": f"📚 {digest.count} alerts in {span}",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        small(counts or "no alerts"),
    ]
    for alert in digest.most_severe[:10]:
        body.append(
            plain_text(
                f"{LOOKS[alert.priority].emoji} {clip(one_line(alert.title), 200)} — "
                f"{STATE_LABELS[shown_state(alert)]}, {relative(alert.first_seen, now)}"
            )
        )
    rest = digest.count - len(digest.most_severe[:10])
    if rest > 0:
        body.append(small(f"… and {rest} more"))
    actions: list[Element] = [
        {
            "type": "Action.Execute",
            "title": "Acknowledge all",
            "verb": Verb.ACKNOWLEDGE.value,
            "style": "positive",
            "data": {"digest_id": digest.id},
        }
    ]
    base = safe_url(public_url)
    if base:
        actions.append(
            {
                "type": "Action.OpenUrl",
                "title": "View open alerts",
                "url": digest_url(base, digest.id),
            }
        )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": VERSION,
        "fallbackText": f"{digest.count} alerts in {span}",
        "body": body,
        "actions": actions,
    }


def group_card(
    digest: Digest, now: datetime, *, public_url: str = "", offered: frozenset[Verb] | None = None
) -> Element:
    """A group's living card: its labels, counts by state, the first alerts, and actions on
    every member (`group_id` in the data)."""
    view = digest.group
    assert view is not None
    title = group_title(view)
    body: list[Element] = [
        {
            "type": "TextBlock",
            "text": teams_escape(title),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        small(f"{group_counts(view)} · since {relative(digest.since, now)}"),
    ]
    for alert in digest.most_severe[:10]:
        body.append(
            plain_text(
                f"{LOOKS[alert.priority].emoji} {clip(one_line(alert.title), 200)} — "
                f"{STATE_LABELS[shown_state(alert)]}, {relative(alert.first_seen, now)}"
            )
        )
    rest = digest.count - len(digest.most_severe[:10])
    if rest > 0:
        body.append(small(f"… and {rest} more"))
    data = {"group_id": digest.id}
    actions: list[Element] = []
    for verb in group_verbs(view, offered):
        execute = {
            "type": "Action.Execute",
            "title": {Verb.ACKNOWLEDGE: "Acknowledge all", Verb.RESOLVE: "Resolve all"}.get(
                verb, BUTTON_LABELS[verb]
            ),
            "verb": verb.value,
            "data": data,
        }
        actions.append(snooze_for(execute) if verb is Verb.SNOOZE else execute)
    if actions:
        actions.append(silence_action(data, equal_to(view.labels)))
    base = safe_url(public_url)
    if base:
        actions.append(
            {"type": "Action.OpenUrl", "title": "View group", "url": digest_url(base, digest.id)}
        )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": VERSION,
        "fallbackText": f"{title}: {group_counts(view)}",
        "body": body,
        "actions": actions,
    }
