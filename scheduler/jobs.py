"""Scheduler jobs: module-level functions, their work done by the context given at start."""

from __future__ import annotations

from typing import Protocol


class Context(Protocol):
    """What the jobs call; the application passes it in when the scheduler starts."""

    async def escalate_overdue(self) -> int:
        """Escalate alerts nobody acknowledged in time; return how many."""
        ...

    async def retain(self) -> int:
        """Delete records past their retention; return how many."""
        ...


_context: list[Context] = []


def bind(context: Context) -> None:
    """Give the jobs what they work with."""
    _context[:] = [context]


async def escalate_overdue() -> None:
    """Escalation timers: the next level hears of alerts nobody acknowledged."""
    await _context[0].escalate_overdue()


async def retain() -> None:
    """Retention of audit data and resolved alerts."""
    await _context[0].retain()
