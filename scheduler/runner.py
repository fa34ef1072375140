"""APScheduler wiring: one instance per job, coalesced, with a misfire grace period."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import jobs

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}


def build(context: jobs.Context, *, escalation_seconds: float, retention_seconds: float) -> Any:
    """An AsyncIOScheduler with the bot's recurring jobs, not yet started."""
    jobs.bind(context)
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    scheduler.add_job(
        jobs.escalate_overdue, "interval", seconds=escalation_seconds, id="escalate_overdue"
    )
    scheduler.add_job(jobs.retain, "interval", seconds=retention_seconds, id="retain")
    return scheduler
