"""The noise sections of the configuration file: `time_intervals`, `inhibit_rules` and
`silences`, in the REST
API's shapes. An inhibition rule is known by what it says (its matchers and `equal`); a silence
by its matchers and times. Only silences that have not ended are exported; `--prune` expires
(never deletes) a silence the file no longer has, so the audit keeps it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import inhibition, muting, windows
from bot.core.config_oncall import Applier
from bot.core.config_reading import parsed
from bot.core.errors import ConfigError, InvalidRequest
from bot.core.specs.noise import InhibitRuleSpec, SilenceSpec, TimeIntervalSpec
from storage.schema import InhibitRule, Silence, TimeInterval, utcnow

RULE_FIELDS = ("source_matchers", "target_matchers", "equal")
SILENCE_FIELDS = ("matchers", "starts_at", "ends_at", "comment")


def _rule_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(tuple(entry[f]) for f in RULE_FIELDS)


def _silence_entry(row: Silence) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "matchers": list(row.matchers),
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
    }
    if row.comment:
        entry["comment"] = row.comment
    return entry


def _silence_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        tuple(entry["matchers"]),
        datetime.fromisoformat(entry["starts_at"]),
        datetime.fromisoformat(entry["ends_at"]),
    )


async def export(session: AsyncSession, tenant: str, entry: dict[str, Any]) -> None:
    """Add the tenant's time intervals, inhibition rules and silences not ended to its
    export entry."""
    intervals = (
        await session.scalars(
            select(TimeInterval).where(TimeInterval.tenant_id == tenant).order_by(TimeInterval.name)
        )
    ).all()
    if intervals:
        entry["time_intervals"] = [windows.document(i) for i in intervals]
    rules = (
        await session.scalars(
            select(InhibitRule)
            .where(InhibitRule.tenant_id == tenant)
            .order_by(InhibitRule.created_at, InhibitRule.id)
        )
    ).all()
    if rules:
        entry["inhibit_rules"] = [{f: list(getattr(r, f)) for f in RULE_FIELDS} for r in rules]
    silences = (
        await session.scalars(
            select(Silence)
            .where(Silence.tenant_id == tenant, Silence.ends_at > utcnow())
            .order_by(Silence.ends_at, Silence.id)
        )
    ).all()
    if silences:
        entry["silences"] = [_silence_entry(s) for s in silences]


async def time_intervals(applier: Applier, tenant: str, entries: list[Any], place: str) -> None:
    session = applier.session
    rows = {
        r.name: r
        for r in (
            await session.scalars(select(TimeInterval).where(TimeInterval.tenant_id == tenant))
        ).all()
    }
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.time_intervals[{n}]"
        interval = parsed(raw, TimeIntervalSpec, where)
        try:
            wanted = windows.checked(interval)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if wanted["name"] in seen:
            raise ConfigError(f"{where}: {wanted['name']!r} appears twice")
        seen.add(wanted["name"])
        what = f'time interval "{wanted["name"]}" in {tenant}'
        row = rows.get(wanted["name"])
        if row is None:
            session.add(
                TimeInterval(
                    tenant_id=tenant, created_by=applier.actor, created_at=utcnow(), **wanted
                )
            )
            applier.record(tenant, "+", what)
        elif row.time_intervals != wanted["time_intervals"]:
            row.time_intervals = wanted["time_intervals"]
            applier.record(tenant, "~", what, ["time_intervals: changed"])
    if applier.prune:
        for name, row in rows.items():
            if name not in seen:
                await session.delete(row)
                applier.record(tenant, "-", f'time interval "{name}" in {tenant}')
    await session.flush()


async def inhibit_rules(applier: Applier, tenant: str, entries: list[Any], place: str) -> None:
    session = applier.session
    rows = (await session.scalars(select(InhibitRule).where(InhibitRule.tenant_id == tenant))).all()
    have = {_rule_key({f: getattr(r, f) for f in RULE_FIELDS}): r for r in rows}
    seen: set[tuple[Any, ...]] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.inhibit_rules[{n}]"
        rule = parsed(raw, InhibitRuleSpec, where)
        try:
            wanted = inhibition.checked(rule)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}.{exc}") from None
        key = _rule_key(wanted)
        if key in seen:
            raise ConfigError(f"{where}: the same rule as an earlier one")
        seen.add(key)
        if key not in have:
            session.add(
                InhibitRule(
                    tenant_id=tenant, created_by=applier.actor, created_at=utcnow(), **wanted
                )
            )
            await inhibition.mark_open_sources(session, tenant, wanted["source_matchers"])
            applier.record(
                tenant, "+", f"inhibition rule {', '.join(wanted['source_matchers'])} in {tenant}"
            )
    if applier.prune:
        for key, row in have.items():
            if key not in seen:
                await session.delete(row)
                applier.record(
                    tenant, "-", f"inhibition rule {', '.join(row.source_matchers)} in {tenant}"
                )
    await session.flush()


async def silences(applier: Applier, tenant: str, entries: list[Any], place: str) -> None:
    session = applier.session
    now = utcnow()
    rows = (
        await session.scalars(
            select(Silence).where(Silence.tenant_id == tenant, Silence.ends_at > now)
        )
    ).all()
    have = {_silence_key(_silence_entry(r)): r for r in rows}
    seen: set[tuple[Any, ...]] = set()
    for n, raw in enumerate(entries):
        where = f"{place}.silences[{n}]"
        silence = parsed(raw, SilenceSpec, where)
        try:
            matchers, starts, ends, comment = muting.window_of(silence, now, ended_ok=True)
        except InvalidRequest as exc:
            raise ConfigError(f"{where}.{exc}") from None
        if ends <= now:
            continue  # ended since the file was written: nothing to do
        key = (tuple(matchers), starts, ends)
        seen.add(key)
        if key not in have:
            session.add(
                Silence(
                    tenant_id=tenant,
                    matchers=matchers,
                    starts_at=starts,
                    ends_at=ends,
                    comment=comment,
                    created_by=applier.actor,
                    created_at=now,
                )
            )
            applier.record(tenant, "+", f"silence {', '.join(matchers)} in {tenant}")
    if applier.prune:
        for key, row in have.items():
            if key not in seen:
                row.ends_at, row.expired_by = max(now, row.starts_at), applier.actor
                applier.record(tenant, "-", f"silence {', '.join(row.matchers)} in {tenant}")
    await session.flush()
