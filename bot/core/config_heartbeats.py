"""The `heartbeats` section of the configuration file, in the REST API's shape, known by name.
A heartbeat made from the file has a secret ping URL like any other, but the file never holds
it: ping with a key, or make the URL over REST."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import differences
from bot.core.config_oncall import Applier
from bot.core.errors import ConfigError
from bot.core.heartbeats import apply_spec, new_row, spec_of
from domain.heartbeats import FIELDS, HeartbeatError, document, spec_from
from storage.schema import Heartbeat, utcnow


async def export(session: AsyncSession, tenant: str, entry: dict[str, Any]) -> None:
    rows = (
        await session.scalars(
            select(Heartbeat).where(Heartbeat.tenant_id == tenant).order_by(Heartbeat.name)
        )
    ).all()
    if rows:
        entry["heartbeats"] = [document(spec_of(r)) for r in rows]


async def heartbeats(applier: Applier, tenant: str, entries: Any, place: str) -> None:
    session = applier.session
    if not isinstance(entries, list):
        raise ConfigError(f"{place}.heartbeats: a list")
    rows = {
        r.name: r
        for r in (
            await session.scalars(select(Heartbeat).where(Heartbeat.tenant_id == tenant))
        ).all()
    }
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.heartbeats[{n}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: a mapping with {', '.join(FIELDS)}")
        try:
            spec = spec_from(raw)
        except HeartbeatError as exc:
            raise ConfigError(f"{where}.{exc}") from None
        if spec.name in seen:
            raise ConfigError(f"{where}: {spec.name!r} appears twice")
        seen.add(spec.name)
        what = f'heartbeat "{spec.name}" in {tenant}'
        row = rows.get(spec.name)
        if row is None:
            session.add(new_row(tenant, spec, applier.actor, utcnow())[0])  # its URL: over REST
            applier.record(tenant, "+", what)
            continue
        lines = differences(document(spec_of(row)), document(spec))
        if lines:
            apply_spec(row, spec)
            applier.record(tenant, "~", what, lines)
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'heartbeat "{name}" in {tenant}')
    await session.flush()
