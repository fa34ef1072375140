"""The `heartbeats` section of the configuration file, in the REST API's shape, known by name.
A heartbeat made from the file has a secret ping URL like any other, but the file never holds
it: ping with a key, or make the URL over REST."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.config_oncall import Applier
from bot.core.errors import ConfigError
from domain.heartbeats import FIELDS, HeartbeatError, document, spec_from
from storage.schema import Heartbeat, utcnow


def _spec_of(row: Heartbeat) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": row.name,
        "interval": f"{int(row.interval_seconds)}s",
        "grace": f"{int(row.grace_seconds)}s",
        "priority": row.priority,
    }
    if row.watchdog:
        entry["watchdog"] = row.watchdog
    return document(spec_from(entry))


async def export(session: AsyncSession, tenant: str, entry: dict[str, Any]) -> None:
    rows = (
        await session.scalars(
            select(Heartbeat).where(Heartbeat.tenant_id == tenant).order_by(Heartbeat.name)
        )
    ).all()
    if rows:
        entry["heartbeats"] = [_spec_of(r) for r in rows]


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
            session.add(
                Heartbeat(
                    tenant_id=tenant,
                    name=spec.name,
                    interval_seconds=spec.interval.total_seconds(),
                    grace_seconds=spec.grace.total_seconds(),
                    priority=spec.priority.value,
                    watchdog=spec.watchdog,
                    token_hash=hashlib.sha256(secrets.token_bytes(24)).hexdigest(),
                    created_by=applier.actor,
                    created_at=utcnow(),
                )
            )
            applier.record(tenant, "+", what)
            continue
        have, want = _spec_of(row), document(spec)
        lines = [
            f"{k}: {have.get(k)} → {want.get(k)}"
            for k in want.keys() | have.keys()
            if have.get(k) != want.get(k)
        ]
        if lines:
            row.interval_seconds = spec.interval.total_seconds()
            row.grace_seconds = spec.grace.total_seconds()
            row.priority, row.watchdog = spec.priority.value, spec.watchdog
            applier.record(tenant, "~", what, sorted(lines))
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'heartbeat "{name}" in {tenant}')
    await session.flush()
