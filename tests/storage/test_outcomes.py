"""A send's outcome is written only by the worker still holding the row's lease, also when the
outcomes of a batch of sends are written together as their transaction commits."""

from __future__ import annotations

from datetime import timedelta

from bot.core.services import Services
from domain import EventIn
from storage import outbox, outcomes
from storage.schema import Delivery, table_of, utcnow

DELIVERIES = table_of(Delivery)


async def queued(services: Services, count: int) -> list[str]:
    """`count` alerts, each with one delivery waiting to be sent."""
    ids = []
    for n in range(count):
        alert = (await services.ingest.submit(EventIn(title=f"disk {n}", dedup_key=f"d{n}"))).id
        async with services.db.session() as session, session.begin():
            row = Delivery(
                tenant_id="default",
                event_id=alert,
                channel_type="webhook",
                priority="HIGH",
                event_type="generic",
                next_attempt_at=utcnow() - timedelta(seconds=1),
            )
            session.add(row)
            await session.flush()
            ids.append(row.id)
    return ids


async def test_sends_recorded_at_commit_keep_only_the_rows_still_held(
    services: Services,
) -> None:
    ids = await queued(services, 3)
    now = utcnow()
    async with services.db.session() as session, session.begin():
        first = await outbox.claim(session, now=now, lease=30, limit=3)  # worker A
    assert sorted(i.id for i in first) == sorted(ids)
    # A's lease on the first row runs out and worker B claims it again
    later = now + timedelta(seconds=31)
    async with services.db.session() as session, session.begin():
        await session.execute(
            DELIVERIES.update()
            .where(Delivery.id != first[0].id)
            .values(next_attempt_at=later + timedelta(hours=1))
        )
        second = await outbox.claim(session, now=later, lease=30, limit=3)
    assert [i.id for i in second] == [first[0].id]

    async with services.db.session() as session, session.begin():
        from_a = [
            outcomes.mark_sent_at_commit(session, item, outcomes.Sent(200, f"A{n}", None, "a"))
            for n, item in enumerate(first)
        ]
        sent = outcomes.Sent(201, "B", {"by": "B"}, "b")
        from_b = outcomes.mark_sent_at_commit(session, second[0], sent)
        assert not any(k.kept for k in from_a) and not from_b.kept  # known at commit only
    assert [k.kept for k in from_a] == [False, True, True]  # A lost the first row to B
    assert from_b.kept
    async with services.db.session() as session:
        fetched = {
            d.id: (d.status, d.message_ref, d.status_code, d.lease_until)
            for d in (await session.execute(DELIVERIES.select())).all()
        }
    assert fetched[first[0].id] == ("sent", "B", 201, None)
    assert [fetched[i.id][:3] for i in first[1:]] == [("sent", "A1", 200), ("sent", "A2", 200)]
