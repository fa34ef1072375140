"""Storms: when a chat channel gets more new cards than its rate lets out soon, they fold into
the channel's digest (one message that grows) instead of queueing for minutes; the most severe
still go as their own cards while the rate allows."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.registry import shows_digests
from bot.core.delivery.flow import Flow, rate_key
from domain import ChannelInfo, DeliveryKind, OutboxItem
from storage import digests, outbox
from storage.db import Database
from storage.schema import utcnow

log = logging.getLogger(__name__)
DIGEST_AFTER_SECONDS = 10.0  # fold a channel's queue into a digest when it is this far behind
SOON_SECONDS = 0.1  # what a channel's rate lets out this soon (a batch's sends) is no storm


async def fold_storms(
    session: AsyncSession,
    items: list[OutboxItem],
    channels: Mapping[str, ChannelInfo | None],
    flow: Flow,
) -> list[OutboxItem]:
    """A channel sent more new cards than its rate lets out soon: fold them at once.

    Per channel, as many of the claimed new cards as its rate allows now are sent, the
    most severe first; the rest, with every card waiting for the channel, go into its
    digest in the same transaction, so a storm is visible in one message within a send.
    `channels` holds each claimed item's channel (by item id). What is left to send is
    returned.
    """
    posts: dict[str, list[OutboxItem]] = {}
    for item in items:
        channel = channels.get(item.id)
        if (
            item.kind is DeliveryKind.POST
            and item.message_ref is None
            and channel
            and shows_digests(channel.type)
        ):
            posts.setdefault(channel.id, []).append(item)
    folded: set[str] = set()
    now = utcnow()
    for channel_id, waiting in posts.items():
        channel = channels[waiting[0].id]
        assert channel is not None
        key, per_minute = rate_key(waiting[0], channel)
        if len(waiting) <= per_minute / 60.0 * SOON_SECONDS:
            continue  # a fast destination lets them all out as they are sent: no query
        free = await flow.free(session, key, per_minute)
        if len(waiting) <= free:
            continue
        backlog = await outbox.backlog(session, channel_id)
        behind = (len(waiting) - free + backlog) * 60.0 / per_minute > DIGEST_AFTER_SECONDS
        if not behind and not await digests.absorbing(session, channel_id, now):
            continue
        waiting.sort(key=lambda i: (-i.priority.rank, i.created_at))
        extra = waiting[free:]
        digest_id, count = await digests.fold(session, extra[0], now=now, also=extra[1:])
        if digest_id is None:  # another process is folding this channel: send as usual
            continue
        folded.update(i.id for i in extra)
        log.warning(
            "channel over its rate: alerts folded into a digest",
            extra={"channel": channel.name, "digest_id": digest_id, "folded": count},
        )
    return [i for i in items if i.id not in folded]


async def fold_if_behind(db: Database, item: OutboxItem, channel: ChannelInfo) -> bool:
    """When the channel's queue is more than DIGEST_AFTER_SECONDS behind its rate (or its
    digest is still taking alerts), fold the item into the digest; whether it was."""
    now = utcnow()
    async with db.session() as session, session.begin():
        waiting = await outbox.backlog(session, channel.id) + 1
        behind = waiting * 60.0 / channel.rate_per_minute > DIGEST_AFTER_SECONDS
        if not behind and not await digests.absorbing(session, channel.id, now):
            return False
        digest_id, folded = await digests.fold(session, item, now=now)
        if digest_id is None:  # another process is folding this channel right now
            return False
    log.warning(
        "channel over its rate: alerts folded into a digest",
        extra={"channel": channel.name, "digest_id": digest_id, "folded": folded},
    )
    return True
