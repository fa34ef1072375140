"""Scheduler jobs: module-level functions taking ids only, their work done by the context."""

from __future__ import annotations

from typing import Protocol


class Context(Protocol):
    """What the jobs call; the application passes it in when the scheduler starts."""

    async def escalate_overdue(self) -> int:
        """Escalate alerts nobody acknowledged in time; return how many."""
        ...

    async def tend_escalations(self) -> int:
        """Move escalation policies on: next steps, reminders; return how many moved."""
        ...

    async def retain(self) -> int:
        """Delete records past their retention; return how many."""
        ...

    async def tend_snoozes(self) -> int:
        """End snoozes that are due and put their Alertmanager silences right; how many."""
        ...

    async def sync_integration(self, integration_id: str) -> None:
        """Run one integration's sync (its outcome is recorded, never raised)."""
        ...

    async def check_health(self) -> int:
        """Health-check every active integration; return how many answered healthy."""
        ...

    async def check_credentials(self) -> int:
        """Mark lapsed credentials expired and tell the admins; return how many."""
        ...

    async def sweep_outbox(self) -> int:
        """Wake the workers for deliveries overdue or whose lease ran out; return how many."""
        ...

    async def refresh(self) -> None:
        """Derive the per-integration jobs from the database again."""
        ...

    async def apply_webhooks(self) -> int:
        """Apply provider webhooks recorded but never applied; return how many."""
        ...


_context: list[Context] = []


def bind(context: Context) -> None:
    """Give the jobs what they work with."""
    _context[:] = [context]


async def escalate_overdue() -> None:
    """Escalation timers: the next level hears of alerts nobody acknowledged."""
    await _context[0].escalate_overdue()


async def tend_escalations() -> None:
    """Escalation policies: the next step pages when its wait is over."""
    await _context[0].tend_escalations()


async def tend_snoozes() -> None:
    """Snoozes that end: their alerts come back; silences follow."""
    await _context[0].tend_snoozes()


async def retain() -> None:
    """Retention of audit data and resolved alerts."""
    await _context[0].retain()


async def sync_integration(integration_id: str) -> None:
    """An integration's sync, at its interval."""
    await _context[0].sync_integration(integration_id)


async def check_health() -> None:
    """Health checks of every active integration."""
    await _context[0].check_health()


async def check_credentials() -> None:
    """Credential-expiry checks."""
    await _context[0].check_credentials()


async def apply_webhooks() -> None:
    """Provider webhooks whose process died before applying them."""
    await _context[0].apply_webhooks()


async def sweep_outbox() -> None:
    """The outbox sweeper."""
    await _context[0].sweep_outbox()


async def refresh() -> None:
    """Jobs derived from the database: added, changed and removed integrations."""
    await _context[0].refresh()
