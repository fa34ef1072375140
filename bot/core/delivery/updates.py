"""Every card that shows an alert, updated: one outbox row per channel however many changes
wait, the change said as a note for the platforms that thread replies under a card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.config_cache import ConfigCache
from domain import Alert, DeliveryKind
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import outbox


async def queue_updates(
    session: AsyncSession,
    alert: Alert,
    now: datetime,
    note: str | None = None,
    cards: alerts_repo.Cards | None = None,
    cache: ConfigCache | None = None,
) -> int:
    """Update every card that shows the alert, once per channel however many changes wait.

    `note` says what changed; chat platforms that thread show it as a reply under the card.
    `cards` is the alert's cards when the caller has read them already; with a `cache`, the
    channels are read from it (configuration: kept until it changes, two seconds at most).
    """
    cards = cards or await alerts_repo.cards(session, alert.id)
    channels, waiting = cards.showing, dict(cards.pending)
    for channel_id, row in cards.pending.items():
        # A worker may have claimed it since it was read: then it is no longer waiting.
        notes = [*(row.action_data or {}).get("notes", []), note][-10:] if note else None
        if not await outbox.still_waiting(session, row.id, notes):
            del waiting[channel_id]
    wanted = [c for c in channels if c not in waiting]
    if cache is None or not wanted:
        rows = await config_repo.channel_types(session, wanted)
    else:
        rows = await cache.get(
            ("channel briefs", *wanted), lambda: config_repo.channel_types(session, wanted)
        )
    for channel in rows.values():
        outbox.queue(
            session,
            alert,
            channel,
            DeliveryKind.UPDATE,
            now,
            max_attempts=4,
            retry_delay_seconds=10.0,
            action_data={"notes": [note]} if note else None,
        )
    return len(rows)
