"""What the delivery workers write down: the dead-letter alert, the target, the payload summary."""

from __future__ import annotations

from cards.redact import mask_target
from domain import ChannelInfo, DeliveryKind, EventIn, OutboxItem, Outgoing, Priority


def dead_letter_event(
    item: OutboxItem, error: str, channel: ChannelInfo | None, *, folded: int = 0
) -> EventIn:
    """The HIGH alert that tells the tenant's admins a delivery spent its retry budget; for a
    digest, how many alerts it held that nobody saw."""
    name = channel.name if channel else item.channel_type
    many = item.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP)
    card = "digest" if item.kind is DeliveryKind.DIGEST else "group's card"
    what = (
        f"A {card} of {folded} alert(s) to {name} failed" if many else f"Delivery to {name} failed"
    )
    return EventIn(
        title=f"{what} after {item.attempts} attempts",
        tenant=item.tenant,
        event_type="delivery.dead_letter",
        priority=Priority.HIGH,
        body=error,
        source="chatops",
        dedup_key=f"dead-letter-{item.channel_id or item.channel_type}",
        facts={
            "channel": name,
            "attempts": str(item.attempts),
            "delivery": item.id,
            **({f"alerts in the {card}": str(folded)} if many else {}),
        },
        metadata={
            "failed_channel_id": item.channel_id,
            "delivery_id": item.id,
            "failed_event_id": item.event_id,
        },
    )


def target_of(channel: ChannelInfo) -> str:
    """Where it went, a URL by its host only: webhook URLs carry their secret in path or query."""
    url = channel.target or str(channel.settings.get("url", ""))
    return mask_target(url) if url else channel.type


def summary(message: Outgoing) -> dict[str, object]:
    """What the audit keeps of a sent message; the cards add their JSON here."""
    data: dict[str, object] = {"kind": message.kind.value}
    if message.alert is not None:
        data.update(
            alert_id=message.alert.id,
            state=message.alert.state.value,
            title=message.alert.title[:200],
            occurrences=message.alert.occurrences,
        )
    if message.digest is not None:
        data.update(count=message.digest.count, by_priority=message.digest.by_priority)
    return data
