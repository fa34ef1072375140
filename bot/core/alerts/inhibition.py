"""Inhibition, in Alertmanager's form: while an alert matching a rule's `source_matchers`
fires, a new alert matching its `target_matchers` that has the same values of the `equal`
labels is muted (an alert never inhibits itself). A muted alert is kept, counted and listed
like a silenced one (`muted_by: "inhibit:<rule id>"`, an audit row naming the source), and is
routed when no source fires for it any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import audit
from bot.core.alerts import muting
from bot.core.deps import Configures
from bot.core.errors import InvalidRequest, NotFound
from bot.core.specs.noise import InhibitRuleSpec
from domain import Alert, AlertState, By
from domain.matchers import NAME, Matcher, all_match, parse_all
from storage import alerts as alerts_repo
from storage.db import Database
from storage.schema import Event, InhibitRule, utcnow

log = logging.getLogger(__name__)
PREFIX = "inhibit:"
SOURCES_READ = 5000  # open alerts of a tenant read to find a firing source


@dataclass(frozen=True)
class Rule:
    """An inhibition rule as routing uses it."""

    id: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def inhibits(self, source: Alert, target: Alert) -> bool:
        return (
            source.id != target.id
            and all_match(self.source, source.labels)
            and all(source.labels.get(n, "") == target.labels.get(n, "") for n in self.equal)
        )


async def load(session: AsyncSession, tenant: str) -> list[Rule]:
    rows = await session.scalars(select(InhibitRule).where(InhibitRule.tenant_id == tenant))
    return [
        Rule(r.id, parse_all(r.source_matchers), parse_all(r.target_matchers), tuple(r.equal))
        for r in rows.all()
    ]


async def mark_source(session: AsyncSession, rules: list[Rule] | None, alert: Alert) -> None:
    """An alert matching a rule's source side is marked, so `inhibited` reads only those."""
    if alert.labels and any(all_match(r.source, alert.labels) for r in rules or ()):
        await session.execute(update(Event).where(Event.id == alert.id).values(inhibits=True))


async def mark_open_sources(session: AsyncSession, tenant: str, source: list[str]) -> int:
    """A new rule: the open alerts its source side matches are marked (once, when it is made)."""
    matchers = parse_all(source)
    rows = await session.execute(
        select(Event.id, Event.labels).where(
            Event.tenant_id == tenant,
            Event.state != AlertState.RESOLVED.value,
            Event.labels.is_not(None),
        )
    )
    ids = [event_id for event_id, labels in rows.all() if all_match(matchers, labels or {})]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await session.execute(update(Event).where(Event.id.in_(chunk)).values(inhibits=True))
    return len(ids)


async def inhibited(
    session: AsyncSession, rules: list[Rule] | None, alert: Alert
) -> tuple[Rule, Alert] | None:
    """The rule and the firing source that mute this alert, or None."""
    wanted = [r for r in rules or () if all_match(r.target, alert.labels)]
    if not wanted or not alert.labels:
        return None
    rows = await session.scalars(
        select(Event)
        .where(
            Event.tenant_id == alert.tenant,
            Event.inhibits.is_(True),
            Event.state != AlertState.RESOLVED.value,
            Event.id != alert.id,
        )
        .order_by(Event.first_seen)
        .limit(SOURCES_READ)
    )
    sources = [
        s for s in (await alerts_repo.get_many(session, [r.id for r in rows.all()])).values()
    ]
    for rule in wanted:
        for source in sources:
            if rule.inhibits(source, alert):
                return rule, source
    return None


async def mute(session: AsyncSession, alert: Alert, rule: Rule, source: Alert) -> None:
    data = {"rule": rule.id, "source": source.id, "source_title": source.title[:200]}
    await muting.mute_for(session, alert, f"{PREFIX}{rule.id}", data)


def _matchers(given: list[str] | str, field: str) -> list[str]:
    found = muting.matchers_of(given, field)
    if not found:
        raise InvalidRequest(f'{field}: at least one matcher, like ["alertname=\\"ClusterDown\\""]')
    return found


def document(row: InhibitRule) -> dict[str, Any]:
    return {
        "id": row.id,
        "source_matchers": list(row.source_matchers),
        "target_matchers": list(row.target_matchers),
        "equal": list(row.equal),
        "created_by": row.created_by,
    }


def checked(spec: InhibitRuleSpec) -> dict[str, list[str]]:
    """A rule's stored fields, checked, matchers in one spelling."""
    source = _matchers(spec.source_matchers, "source_matchers")
    target = _matchers(spec.target_matchers, "target_matchers")
    equal = spec.equal or []
    if not all(NAME.fullmatch(n) for n in equal):
        raise InvalidRequest("equal: a list of label names")
    return {"source_matchers": source, "target_matchers": target, "equal": list(equal)}


async def create(deps: Configures, tenant: str, spec: InhibitRuleSpec, by: By) -> dict[str, Any]:
    wanted = checked(spec)
    async with deps.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        row = InhibitRule(
            tenant_id=tenant, created_by=by.actor[:255], created_at=utcnow(), **wanted
        )
        session.add(row)
        await session.flush()
        await mark_open_sources(session, tenant, row.source_matchers)
        audit.record(session, tenant, by, "inhibit_rule.create", document(row))
        made = document(row)
    return made


async def listed(db: Database, tenant: str) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await session.scalars(
            select(InhibitRule)
            .where(InhibitRule.tenant_id == tenant)
            .order_by(InhibitRule.created_at)
        )
        return [document(r) for r in rows.all()]


async def remove(deps: Configures, tenant: str, rule_id: str, by: By) -> None:
    async with deps.configuring() as session:
        row = await session.scalar(
            select(InhibitRule).where(InhibitRule.tenant_id == tenant, InhibitRule.id == rule_id)
        )
        if row is None:
            raise NotFound(f"no inhibition rule {rule_id[:40]!r}")
        audit.record(session, tenant, by, "inhibit_rule.remove", document(row))
        await session.delete(row)
