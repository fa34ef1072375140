"""Silences: label matchers that mute matching alerts for a while.

A muted alert is stored, counted and listed (its document says `muted_by`, the audit has a
`muted` row, `GET /api/v1/events?muted=true` lists it), but no card goes out and no policy
starts. When the silence ends (its time is over, or someone expires it), alerts it muted that
are still firing are routed as if they had just arrived. Matchers are Alertmanager's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import audit
from bot.core.deps import Configures
from bot.core.errors import InvalidRequest, NotFound
from bot.core.specs.noise import SilenceSpec
from domain import Alert, AlertState, By, grouping, parse_duration
from domain.matchers import Matcher, MatcherError, all_match, equal_to, parse_all
from storage import alerts as alerts_repo
from storage import groups as groups_repo
from storage.db import Database
from storage.schema import ActionAudit, Event, Silence, utcnow

log = logging.getLogger(__name__)
MAX_LENGTH = timedelta(days=365)
COMMENT_MAX = 1000
PREFIX = "silence:"


@dataclass(frozen=True)
class Muting:
    """A silence as routing sees it."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def mutes(self, alert: Alert, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and all_match(self.matchers, alert.labels)


async def load(session: AsyncSession, tenant: str, now: datetime) -> list[Muting]:
    """The tenant's silences that have not ended (some may start later)."""
    rows = await session.scalars(
        select(Silence).where(Silence.tenant_id == tenant, Silence.ends_at > now)
    )
    return [Muting(r.id, parse_all(r.matchers), r.starts_at, r.ends_at) for r in rows.all()]


def muting(silences: list[Muting] | None, alert: Alert, now: datetime) -> Muting | None:
    """The first silence that mutes the alert now, or None."""
    if not silences or not alert.labels:
        return None
    return next((s for s in silences if s.mutes(alert, now)), None)


async def mute(session: AsyncSession, alert: Alert, silence: Muting) -> None:
    """Keep the alert quiet while the silence lasts."""
    await mute_for(session, alert, f"{PREFIX}{silence.id}", {"silence": silence.id})


async def mute_for(
    session: AsyncSession, alert: Alert, reason: str, data: dict[str, Any] | None = None
) -> None:
    """Keep the alert, post nothing, and say why where people look: `reason` is what its
    document's `muted_by` says (`silence:<id>`, `inhibit:<rule>`, `interval:<name>`)."""
    await session.execute(update(Event).where(Event.id == alert.id).values(muted_by=reason[:64]))
    session.add(muted_row(alert, "muted", reason, data or {"reason": reason}))
    log.info("alert muted", extra={"alert_id": alert.id, "muted_by": reason})


def matchers_of(value: object, field: str) -> list[str]:
    """A list of matchers (or one string of them) from a request or a file, in one spelling;
    InvalidRequest names the field. Routes, silences and inhibition rules read theirs here."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise InvalidRequest(f'{field}: a list like ["severity=\\"critical\\"", "team=~\\"db\\""]')
    try:
        return [str(m) for m in parse_all(items)]
    except MatcherError as exc:
        said = f"{field}{exc}" if str(exc).startswith("[") else f"{field}: {exc}"
        raise InvalidRequest(said) from None


def muted_row(alert: Alert, verb: str, actor: str, data: dict[str, Any]) -> ActionAudit:
    """The audit row of an alert muted or unmuted (by a silence or an inhibition rule)."""
    names = {"muted": "ChatOps (muted)", "unmuted": "ChatOps (unmuted)"}
    return alerts_repo.audit_row(
        alert.tenant, verb, actor, "system", {"name": names[verb], **data}, alert=alert
    )


def document(row: Silence, now: datetime) -> dict[str, Any]:
    if row.expired_by or row.ends_at <= now:
        state = "expired"
    elif row.starts_at > now:
        state = "pending"
    else:
        state = "active"
    return {
        "id": row.id,
        "matchers": list(row.matchers),
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "comment": row.comment,
        "created_by": row.created_by,
        "state": state,
        "expired_by": row.expired_by,
    }


def _when(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{field}: an ISO time with its offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{field}: an ISO time with its offset") from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"{field}: give the offset (Z or +02:00)")
    return moment


def window_of(
    spec: SilenceSpec, now: datetime, *, ended_ok: bool = False
) -> tuple[list[str], datetime, datetime, str]:
    """(matchers, starts, ends, comment) of a silence, checked; InvalidRequest says what is
    off (`ended_ok`: a file may keep silences that have ended)."""
    found = parse_all(matchers_of(spec.matchers, "matchers"))
    if not found:
        raise InvalidRequest("matchers: at least one; a silence of everything is not allowed")
    if all(m.matches({}) for m in found):
        raise InvalidRequest(
            "matchers: at least one must need a label (this would mute everything)"
        )
    starts = _when(spec.starts_at, "starts_at") or now
    if abs(starts - now) > MAX_LENGTH and not ended_ok:
        raise InvalidRequest("starts_at: within a year of now")
    ends = _when(spec.ends_at, "ends_at")
    if ends is None:
        duration = spec.duration
        if duration is None:
            raise InvalidRequest("ends_at or duration (2h, 30m, 1d): when the silence ends")
        try:
            length = parse_duration(duration)
        except ValueError as exc:
            raise InvalidRequest(f"duration: {exc}") from None
        if length > MAX_LENGTH:
            raise InvalidRequest("duration: a silence lasts a year at most")
        ends = starts + length
    if not (starts < ends and ends - starts <= MAX_LENGTH) or (ends <= now and not ended_ok):
        raise InvalidRequest("a silence ends after it starts and after now, within a year")
    comment = spec.comment or ""
    if len(comment) > COMMENT_MAX:
        raise InvalidRequest(f"comment: text of at most {COMMENT_MAX} characters")
    return [str(m) for m in found], starts, ends, comment.strip()


async def create(deps: Configures, tenant: str, spec: SilenceSpec, by: By) -> dict[str, Any]:
    """A new silence, audited; it mutes alerts that arrive from its start (every process's
    routing hears of it when it commits)."""
    now = utcnow()
    matchers, starts, ends, comment = window_of(spec, now)
    async with deps.configuring() as session:
        await alerts_repo.ensure_tenant(session, tenant)
        row = Silence(
            tenant_id=tenant,
            matchers=matchers,
            starts_at=starts,
            ends_at=ends,
            comment=comment,
            created_by=by.actor[:255],
            created_at=now,
        )
        session.add(row)
        await session.flush()
        data = {"silence": row.id, "matchers": matchers, "until": ends.isoformat()}
        audit.record(session, tenant, by, "silence.create", data)
        made = document(row, now)
    return made


async def similar(db: Database, tenant: str, target: str) -> tuple[list[str], str] | None:
    """What "Silence similar…" starts from for an alert or a group's card (`group:<card id>`):
    matchers equal to its labels (the group's labels for a group), and what it is called.
    None when there is no such alert or card in the tenant."""
    async with db.session() as session:
        if target.startswith("group:"):
            group = await groups_repo.of_card(session, target[6:64])
            if group is None or group.tenant_id != tenant:
                return None
            return equal_to(group.labels or {}), grouping.title(group.labels or {})
        alert = await alerts_repo.get(session, target[:64])
        if alert is None or alert.tenant != tenant:
            return None
        return equal_to(alert.labels), alert.title


async def listed(db: Database, tenant: str, *, ended: bool = False) -> list[dict[str, Any]]:
    """The tenant's silences that have not ended (or every one, `ended`), soonest end first."""
    now = utcnow()
    query = select(Silence).where(Silence.tenant_id == tenant)
    if not ended:
        query = query.where(Silence.ends_at > now)
    async with db.session() as session:
        rows = await session.scalars(query.order_by(Silence.ends_at))
        return [document(r, now) for r in rows.all()]


async def expire(deps: Configures, tenant: str, silence_id: str, by: By) -> dict[str, Any]:
    """End a silence now (its muted alerts are told at the next tick), audited."""
    now = utcnow()
    async with deps.configuring() as session:
        row = await session.scalar(
            select(Silence).where(Silence.tenant_id == tenant, Silence.id.startswith(silence_id))
        )
        if row is None:
            raise NotFound(f"no silence {silence_id[:40]!r}")
        if row.ends_at > now:
            row.ends_at = max(now, row.starts_at)
            row.expired_by = by.actor[:255]
            audit.record(session, tenant, by, "silence.expire", {"silence": row.id})
        ended = document(row, now)
    return ended


async def ended_unreleased(session: AsyncSession, now: datetime, limit: int = 100) -> list[Silence]:
    """Silences whose time is over and whose muted alerts have not been told yet."""
    rows = await session.scalars(
        select(Silence)
        .where(Silence.ends_at <= now, Silence.released_at.is_(None))
        .order_by(Silence.ends_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def muted_open(session: AsyncSession, reason: str, limit: int = 200) -> list[Alert]:
    """Open alerts whose `muted_by` starts with `reason` (`silence:<id>`, `inhibit:`,
    `interval:`), oldest first: what a tick looks at again."""
    rows = await session.scalars(
        select(Event.id)
        .where(Event.muted_by.startswith(reason), Event.state != AlertState.RESOLVED.value)
        .order_by(Event.first_seen)
        .limit(limit)
    )
    return list((await alerts_repo.get_many(session, list(rows.all()))).values())


async def unmute(session: AsyncSession, alert: Alert) -> None:
    await session.execute(update(Event).where(Event.id == alert.id).values(muted_by=None))
