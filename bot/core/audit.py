"""The audit trail of configuration: every change written in the transaction that makes it.

Every audit row, of configuration or of an alert, is made by one builder
(`storage.alerts.audit_row`): an alert's carries its states before and after. This module
writes the changes of configuration (integrations, channels, routes, admins, preferences,
overrides, API keys, people, silences...) and reads every row back, newest first, for the
API, the CLI and the console.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import By, parse_duration
from storage import alerts as alerts_repo
from storage.db import Database
from storage.schema import ActionAudit

MAX_LISTED = 500


def shown(value: Any) -> str:
    """A field's value as a change line shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def differences(
    old: Mapping[str, Any], new: Mapping[str, Any], secret: frozenset[str] = frozenset()
) -> list[str]:
    """`name: old → new` for each changed field; a secret only says it changed."""
    lines = []
    for name in dict.fromkeys([*old, *new]):
        if old.get(name) == new.get(name):
            continue
        if name in secret or name.split(".")[-1] in secret:
            lines.append(f"{name}: changed")
        else:
            lines.append(f"{name}: {shown(old.get(name))} → {shown(new.get(name))}")
    return lines


def since_of(text: str | None, now: datetime) -> datetime | None:
    """`since` as a duration back from now (`1d`) or an ISO time; ValueError otherwise."""
    if not text:
        return None
    if text[0].isdigit() and text[-1].isalpha():
        return now - parse_duration(text)
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def record(session: AsyncSession, tenant: str, by: By, verb: str, data: dict[str, Any]) -> None:
    """Add the audit row of a change to the session: it commits (or not) with the change."""
    session.add(alerts_repo.audit_row(tenant, verb, by.actor, by.platform, data))


@dataclass(frozen=True)
class AuditEntry:
    """One line of the trail, as the API, the CLI and the console show it."""

    at: datetime
    tenant: str
    actor: str
    platform: str
    verb: str
    alert_id: str | None
    outcome: str
    data: dict[str, Any]

    def document(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "tenant": self.tenant,
            "actor": self.actor,
            "platform": self.platform,
            "kind": self.verb,
            "alert_id": self.alert_id,
            "outcome": self.outcome,
            "data": self.data,
        }


async def trail(
    db: Database,
    tenant: str | None,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The trail of one tenant (None: every tenant), newest first.

    `kind` is a verb (`integration.create`) or its first word (`integration`)."""
    query = select(ActionAudit).order_by(ActionAudit.at.desc(), ActionAudit.id.desc())
    if tenant is not None:
        query = query.where(ActionAudit.tenant_id == tenant)
    if since is not None:
        query = query.where(ActionAudit.at >= since)
    if actor:
        query = query.where(ActionAudit.actor == actor)
    if kind:
        query = query.where(or_(ActionAudit.verb == kind, ActionAudit.verb.like(f"{kind}.%")))
    async with db.session() as session:
        rows = (await session.scalars(query.limit(min(max(limit, 1), MAX_LISTED)))).all()
    return [
        AuditEntry(r.at, r.tenant_id, r.actor, r.platform, r.verb, r.event_id, r.outcome, r.data)
        for r in rows
    ]
