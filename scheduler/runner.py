"""APScheduler wiring: one instance per job, coalesced, with a misfire grace period.

Fixed jobs run the escalation timers and policies, the end of snoozes, retention, health and
credential checks, the outbox sweeper and the refresh that derives one sync job per integration
from the database.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import jobs

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
SYNC_PREFIX = "sync:"


@dataclass(frozen=True)
class Intervals:
    """How often the fixed jobs run, in seconds."""

    escalation: float
    retention: float
    health: float = 900.0
    credentials: float = 3600.0
    sweep: float = 60.0
    refresh: float = 30.0
    snoozes: float = 15.0
    paging: float = 5.0


@dataclass(frozen=True)
class SyncJob:
    """One integration's sync: its id, every how many minutes, and a stamp of its settings."""

    integration_id: str
    minutes: int
    stamp: str


def build(context: jobs.Context, intervals: Intervals) -> Any:
    """An AsyncIOScheduler with the bot's fixed jobs, not yet started."""
    jobs.bind(context)
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    fixed = (
        (jobs.escalate_overdue, intervals.escalation, "escalate_overdue"),
        (jobs.tend_snoozes, intervals.snoozes, "tend_snoozes"),
        (jobs.tend_escalations, intervals.paging, "tend_escalations"),
        (jobs.retain, intervals.retention, "retain"),
        (jobs.check_health, intervals.health, "check_health"),
        (jobs.check_credentials, intervals.credentials, "check_credentials"),
        (jobs.sweep_outbox, intervals.sweep, "sweep_outbox"),
        (jobs.apply_webhooks, intervals.sweep, "apply_webhooks"),
        (jobs.refresh, intervals.refresh, "refresh"),
    )
    for func, seconds, job_id in fixed:
        scheduler.add_job(func, "interval", seconds=seconds, id=job_id)
    return scheduler


def first_run(integration_id: str, minutes: int, now: datetime) -> datetime:
    """When a newly scheduled sync first runs: spread over its interval by its id.

    Ten thousand integrations added at once do not all sync in the same second.
    """
    period = max(1, minutes) * 60
    offset = zlib.crc32(integration_id.encode()) % period
    return now + timedelta(seconds=offset)


def reconcile(scheduler: Any, wanted: Iterable[SyncJob], now: datetime) -> tuple[int, int, int]:
    """Make the sync jobs match `wanted`: (added, changed, removed)."""
    want = {f"{SYNC_PREFIX}{job.integration_id}": job for job in wanted}
    have = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(SYNC_PREFIX)}
    added = changed = 0
    for job_id, job in want.items():
        current = have.get(job_id)
        if current is not None and current.name == job.stamp:
            continue
        if current is not None:
            scheduler.remove_job(job_id)
            changed += 1
        else:
            added += 1
        scheduler.add_job(
            jobs.sync_integration,
            "interval",
            minutes=max(1, job.minutes),
            start_date=first_run(job.integration_id, job.minutes, now),
            args=[job.integration_id],
            id=job_id,
            name=job.stamp,
        )
    removed = 0
    for job_id in set(have) - set(want):
        scheduler.remove_job(job_id)
        removed += 1
    return added, changed, removed
