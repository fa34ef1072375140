"""Deliveries that used up their tries: the console's overview of integrations and their
dead letters, and sending one again."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import audit
from bot.core.deps import Queues, Reaches
from bot.core.integrations.documents import integration_record
from bot.core.records import DeliveryRecord, SyncRecord, delivery_record, sync_record
from bot.core.specs.integrations import IntegrationRecord
from domain import By
from storage import admin, outbox
from storage.schema import (
    Delivery,
    utcnow,
)


@dataclass(frozen=True)
class Overview:
    """An integration as the console shows it: its record and its last syncs."""

    integration: IntegrationRecord
    syncs: list[SyncRecord]


async def overview(services: Reaches, tenant: str | None) -> list[Overview]:
    """Every integration (of one tenant, or all) with its three last syncs."""
    async with services.db.session() as session:
        rows = await admin.all_integrations(session, tenant)
        return [
            Overview(
                integration_record(row, services.keyring),
                [sync_record(s) for s in await admin.sync_logs(session, row.id, 3, 0)],
            )
            for row in rows
        ]


async def dead_letters(services: Queues, tenant: str | None) -> list[DeliveryRecord]:
    """Deliveries whose retries are spent, newest first."""
    async with services.db.session() as session:
        return [delivery_record(d) for d in await admin.dead_letters(session, tenant)]


async def retry_dead_letter(
    services: Queues, tenant: str | None, delivery_id: str, actor: str
) -> bool:
    """Queue a dead delivery again, audited; False when it is not dead (or not the tenant's)."""
    async with services.db.session() as session, session.begin():
        row = await session.get(Delivery, delivery_id)
        if row is None or (tenant is not None and row.tenant_id != tenant):
            return False
        count = await outbox.retry_dead(
            session,
            channel_id=None,
            delivery_id=delivery_id,
            now=utcnow(),
            note=f"retried by {actor}",
        )
        if count:
            audit.record(
                session,
                row.tenant_id,
                By(actor, "console"),
                "delivery.retry",
                {"delivery": delivery_id},
            )
    if count:
        services.ingest.wake_workers()
    return bool(count)
