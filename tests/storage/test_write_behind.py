"""Rows written behind (outbox rows, a click's audit record): gathered into one statement, yet
seen by every later read of their table in the same transaction, whatever form the read takes,
and never written when the transaction rolls back."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from bot.core.services import Services
from domain import Alert, DeliveryKind, EventIn
from storage import alerts as alerts_repo
from storage import outbox
from storage.schema import ActionAudit, Delivery, Event, utcnow

NOWHERE = SimpleNamespace(id=None, type="webhook", integration_id=None, target="")


@pytest.fixture
def inserts(services: Services) -> Iterator[list[str]]:
    """The INSERT statements the database is sent, by table."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("INSERT INTO"):
            seen.append(statement.split()[2])

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def alert_of(services: Services, title: str) -> Alert:
    made = await services.ingest.submit(EventIn(title=title, dedup_key=title))
    async with services.db.session() as session:
        alert = await alerts_repo.get(session, str(made.id))
    assert alert is not None
    return alert


def queue(session: Any, alert: Alert) -> None:
    outbox.queue(
        session,
        alert,
        NOWHERE,
        DeliveryKind.UPDATE,
        utcnow(),
        max_attempts=1,
        retry_delay_seconds=1,
    )  # type: ignore[arg-type]


async def test_queued_rows_are_one_insert_seen_by_the_next_read_of_their_table(
    services: Services, inserts: list[str]
) -> None:
    alert = await alert_of(services, "disk full")
    inserts.clear()
    async with services.db.session() as session, session.begin():
        for _ in range(3):
            queue(session, alert)
            # reads of other tables do not write them yet
            assert await session.scalar(select(func.count()).select_from(Event)) == 1
        assert inserts == []
        orm = await session.scalar(select(func.count()).select_from(Delivery))
        assert orm == 3 and inserts == ["deliveries"]  # all three, in one statement
        queue(session, alert)
        raw = await session.scalar(text("SELECT count(*) FROM deliveries"))  # unknown: written
        assert raw == 4
        record = alerts_repo.audit_row(
            "default", "acknowledge", "slack:U1", "slack", {}, alert=alert
        )
        alerts_repo.add_audit(session, record)
        queue(session, alert)
        assert [a.verb for a in await alerts_repo.audit_of(session, alert.id)] == ["acknowledge"]
    assert inserts == ["deliveries", "deliveries", "action_audit", "deliveries"]  # last at commit
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 5


async def test_rows_written_behind_are_lost_with_their_transaction(
    services: Services, inserts: list[str]
) -> None:
    alert = await alert_of(services, "disk full")
    inserts.clear()
    with pytest.raises(RuntimeError):
        async with services.db.session() as session, session.begin():
            queue(session, alert)
            alerts_repo.add_audit(
                session, alerts_repo.audit_row("default", "resolve", "slack:U1", "slack", {})
            )
            raise RuntimeError("the click failed")
    async with services.db.session() as session, session.begin():
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert await session.scalar(select(func.count()).select_from(ActionAudit)) == 0
    assert inserts == []
