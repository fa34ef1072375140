"""Response reports: over a window, how many alerts, how fast they were acknowledged (MTTA)
and resolved (MTTR), median and 90th percentile, per priority, source, event type or
channel; and the noisiest alerts, by dedup key and by label. The REST API answers with it
(JSON or CSV), chat says it in a few lines."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.deps import Reads
from bot.core.errors import InvalidRequest
from domain import Priority, parse_duration
from storage import reports as reports_repo
from storage.schema import utcnow

GROUPS = ("priority", "source", "event_type", "channel")
MAX_WINDOW = timedelta(days=366)
NOISIEST = 10
WORK_START, WORK_END = 9, 18  # a person's working hours, in their own time zone
LABELS_SKIPPED = ("instance", "pod", "container", "job")  # too fine to name a noisy alert


@dataclass(frozen=True)
class Ask:
    since: datetime
    until: datetime
    group_by: str


def ask_of(since: str | None, group_by: str | None, now: datetime | None = None) -> Ask:
    """`since` is a duration back (`7d`, `30d`, `12h`; default 7d); `group_by` one of GROUPS."""
    now = now or utcnow()
    try:
        back = parse_duration(since or "7d")
    except ValueError as exc:
        raise InvalidRequest(f"since: {exc}") from None
    if not timedelta(minutes=1) <= back <= MAX_WINDOW:
        raise InvalidRequest("since: between 1m and 366d")
    chosen = (group_by or "priority").lower()
    if chosen not in GROUPS:
        raise InvalidRequest(f"group_by: one of {', '.join(GROUPS)}")
    return Ask(now - back, now, chosen)


def _spread(values: list[float]) -> dict[str, float | None]:
    """Median and 90th percentile (nearest rank), in seconds; None without values."""
    if not values:
        return {"median": None, "p90": None}
    ordered = sorted(values)
    rank = max(0, math.ceil(0.9 * len(ordered)) - 1)  # nearest rank
    return {"median": round(statistics.median(ordered), 1), "p90": round(ordered[rank], 1)}


async def response(services: Reads, tenant: str, ask: Ask) -> dict[str, Any]:
    """The report as the REST API returns it."""
    async with services.db.session() as session:
        rows = await reports_repo.timings(session, tenant, ask.since, ask.group_by)
        channels = (
            await reports_repo.channels_of(session, [k for k, _, _, _ in rows])
            if ask.group_by == "channel"
            else {}
        )
        keys = await reports_repo.noisiest_keys(session, tenant, ask.since, NOISIEST)
        labels = await reports_repo.noisiest_labels(
            session, tenant, ask.since, NOISIEST, LABELS_SKIPPED
        )
        pages = await reports_repo.pages_since(session, tenant, ask.since)
    buckets: dict[str, list[tuple[float | None, float | None]]] = defaultdict(list)
    weeks: dict[str, list[tuple[float | None, float | None]]] = defaultdict(list)
    for key, week, acked, resolved in rows:
        for bucket in channels.get(key, ["(none)"]) if ask.group_by == "channel" else [key]:
            buckets[bucket].append((acked, resolved))
        weeks[week].append((acked, resolved))
    order = {p.value: -p.rank for p in Priority}
    groups = [
        {
            "key": key,
            "alerts": len(members),
            "acknowledged": sum(a is not None for a, _ in members),
            "resolved": sum(r is not None for _, r in members),
            "mtta_seconds": _spread([a for a, _ in members if a is not None]),
            "mttr_seconds": _spread([r for _, r in members if r is not None]),
        }
        for key, members in sorted(buckets.items(), key=lambda kv: (order.get(kv[0], 0), kv[0]))
    ]
    return {
        "since": ask.since.isoformat(),
        "until": ask.until.isoformat(),
        "group_by": ask.group_by,
        "alerts": len(rows),
        "groups": groups,
        "weeks": [  # to compare weeks: each by the Monday (UTC) it starts on
            {
                "week": week,
                "alerts": len(members),
                "mtta_median_seconds": _spread([a for a, _ in members if a is not None])["median"],
                "mttr_median_seconds": _spread([r for _, r in members if r is not None])["median"],
            }
            for week, members in sorted(weeks.items())
        ],
        "noisiest": {
            "by_dedup_key": [  # occurrences: every time it fired, repeats included
                {"dedup_key": k, "title": t, "alerts": n, "occurrences": o} for k, t, n, o in keys
            ],
            "by_label": [{"label": f"{k}={v}", "alerts": n} for k, v, n in labels],
        },
        "after_hours_pages": _after_hours(pages),
    }


def after_hours(at: datetime, zone: str) -> bool:
    """Outside 09:00 to 18:00, Monday to Friday, in the person's own time zone."""
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = at
    return local.weekday() >= 5 or not WORK_START <= local.hour < WORK_END


def _after_hours(pages: list[tuple[str, str, datetime]]) -> list[dict[str, Any]]:
    """Pages per person, and how many of them came outside their working hours."""
    total: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for name, zone, at in pages:
        total[name] += 1
        late[name] += int(after_hours(at, zone))
    return [
        {"person": name, "pages": total[name], "after_hours": late[name]}
        for name in sorted(total, key=lambda n: (-late[n], n))
    ]


def as_csv(report: dict[str, Any]) -> str:
    """The report's groups as CSV, one row per group."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            report["group_by"],
            "alerts",
            "acknowledged",
            "resolved",
            "mtta_median_s",
            "mtta_p90_s",
            "mttr_median_s",
            "mttr_p90_s",
        ]
    )
    for g in report["groups"]:
        writer.writerow(
            [
                g["key"],
                g["alerts"],
                g["acknowledged"],
                g["resolved"],
                g["mtta_seconds"]["median"],
                g["mtta_seconds"]["p90"],
                g["mttr_seconds"]["median"],
                g["mttr_seconds"]["p90"],
            ]
        )
    return out.getvalue()


def spoken(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def as_text(report: dict[str, Any]) -> str:
    """A few lines for chat."""
    since = datetime.fromisoformat(report["since"]).strftime("%a %d %b")
    lines = [f"*Response since {since}*: {report['alerts']} alerts, by {report['group_by']}"]
    for g in report["groups"]:
        lines.append(
            f"• {g['key']}: {g['alerts']} alerts, MTTA {spoken(g['mtta_seconds']['median'])} "
            f"(p90 {spoken(g['mtta_seconds']['p90'])}), MTTR {spoken(g['mttr_seconds']['median'])}"
            f" (p90 {spoken(g['mttr_seconds']['p90'])})"
        )
    noisy = report["noisiest"]["by_dedup_key"][:3]
    if noisy:
        lines.append("Noisiest: " + "; ".join(f"{n['title'][:60]} ({n['alerts']})" for n in noisy))
    return "\n".join(lines)
