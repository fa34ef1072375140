"""Alertmanager silences that follow snoozes: made with the snooze, expired when it ends.

Snoozing an alert that came from Alertmanager, in a tenant with an `alertmanager`
integration, silences the alert's labels there for the same time, so Alertmanager stops
notifying anyone about it (not only this bot). Unsnoozing or resolving expires the silence.
What cannot be done at once (Alertmanager down, the process gone between commit and call) is
done by `tend`, which the scheduler runs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import cast

from adapters.alertmanager import AlertmanagerAdapter
from adapters.base import AdapterError
from adapters.factory import AdapterFactory
from bot.infra.secrets import Keyring
from cards.style import alert_url
from domain import Alert, Verb
from storage import admin, snoozes
from storage.db import Database
from storage.schema import utcnow

log = logging.getLogger(__name__)
TYPE = "alertmanager"
TIMEOUT_SECONDS = 10.0
ENDING = (Verb.UNSNOOZE, Verb.RESOLVE, Verb.DISCARD)


class Silences:
    """Creates and expires the silences of snoozed Alertmanager alerts."""

    def __init__(
        self, db: Database, keyring: Keyring, factory: AdapterFactory, public_url: str
    ) -> None:
        self._db, self._keyring, self._factory = db, keyring, factory
        self._public_url = public_url

    async def _adapter(self, tenant: str) -> AlertmanagerAdapter | None:
        async with self._db.session() as session:
            row = await admin.active_of_type(session, tenant, TYPE)
            if row is None:
                return None
            values = self._keyring.with_secrets(row.config, row.credentials)
            key = row.id
        adapter = await self._factory.get(tenant, key, TYPE, values)
        inner = getattr(adapter, "inner", adapter)  # the factory's secret-scrubbing wrapper
        # the wrapper, typed as what it wraps: its errors never carry the credentials
        return (
            cast(AlertmanagerAdapter, adapter) if isinstance(inner, AlertmanagerAdapter) else None
        )

    async def follow(self, verb: Verb, alert: Alert, actor: str) -> str | None:
        """After `verb` was committed: silence, or expire the silence; a line saying what was
        done in Alertmanager, or None when there was nothing to do there."""
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                if verb is Verb.SNOOZE:
                    return await self._silence(alert, actor)
                if verb in ENDING:
                    return await self._expire(alert)
        except (AdapterError, TimeoutError) as exc:
            reason = str(exc) or "timed out"
            log.warning("alertmanager silence", extra={"alert_id": alert.id, "error": reason})
            return f"Alertmanager: {reason} (tried again within a minute)."
        return None

    async def _silence(self, alert: Alert, actor: str) -> str | None:
        labels = alert.metadata.get("labels")
        if alert.source != TYPE or not isinstance(labels, dict) or alert.snoozed_until is None:
            return None
        adapter = await self._adapter(alert.tenant)
        if adapter is None:
            return None
        async with self._db.session() as session:
            old = await snoozes.silence_of(session, alert.id)
        if old:
            await adapter.expire_silence(old)
        silence = await adapter.create_silence(
            {str(k): str(v) for k, v in labels.items()},
            starts_at=utcnow(),
            ends_at=alert.snoozed_until,
            created_by=f"ChatOps ({actor})",
            comment=(
                f"Snoozed in ChatOps by {actor}: "
                f"{alert_url(self._public_url or 'https://chatops.invalid', alert)}"
            ),
        )
        async with self._db.session() as session, session.begin():
            kept = await snoozes.set_silence(session, alert.id, silence, was=old)
        if not kept:  # changed meanwhile (unsnoozed, snoozed again): this one is not needed
            await adapter.expire_silence(silence)
            return None
        log.info("alertmanager silence created", extra={"alert_id": alert.id, "silence": silence})
        return f"Silenced in Alertmanager until the snooze ends (silence {silence})."

    async def _expire(self, alert: Alert) -> str | None:
        async with self._db.session() as session:
            silence = await snoozes.silence_of(session, alert.id)
        if not silence:
            return None
        adapter = await self._adapter(alert.tenant)
        if adapter is not None:
            await adapter.expire_silence(silence)
        async with self._db.session() as session, session.begin():
            await snoozes.set_silence(session, alert.id, None, was=silence)
        log.info("alertmanager silence expired", extra={"alert_id": alert.id, "silence": silence})
        return "Its Alertmanager silence is expired." if adapter is not None else None

    async def tend(self, now: datetime | None = None) -> int:
        """Expire the silences of alerts no longer snoozed, and create those that failed; how
        many were put right."""
        async with self._db.session() as session:
            work = await snoozes.silences_to_tend(session)
        done = 0
        for item in work:
            verb = Verb.SNOOZE if item.silence_id is None else Verb.UNSNOOZE
            said = await self.follow(verb, item.alert, item.alert.snoozed_by or "someone")
            done += int(said is not None and not said.startswith("Alertmanager:"))
        return done
