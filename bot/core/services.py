"""The services one process runs, built once at start and handed to every transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import sqlalchemy.event
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.factory import AdapterFactory
from bot.core.alerts.actions import ActionService
from bot.core.alerts.ingest import IngestService
from bot.core.alerts.notices import Notifier
from bot.core.config_cache import ConfigCache
from bot.core.delivery.worker import DeliveryWorker
from bot.core.keys import KeyService
from bot.core.watch.checks import IntegrationChecks
from bot.core.watch.sync import SyncEngine
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring
from bot.infra.settings import Settings
from storage.db import Database
from storage.notify import notify_config

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything handlers and jobs call; no module-level globals."""

    settings: Settings
    db: Database
    keyring: Keyring
    http: httpx.AsyncClient
    metrics: Metrics
    # configuration read on every request (routing, workspace bindings), kept briefly
    cache: ConfigCache
    factory: AdapterFactory
    ingest: IngestService
    worker: DeliveryWorker
    actions: ActionService
    notifier: Notifier
    sync: SyncEngine
    checks: IntegrationChecks
    keys: KeyService

    announcing: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    # signs console sessions; its own random key, shared through the database (bot.core.instance)
    session_key: bytes = field(default=b"", repr=False)

    @contextlib.asynccontextmanager
    async def configuring(self, *, begin: bool = True) -> AsyncIterator[AsyncSession]:
        """A session that changes configuration (integrations, channels, routes, silences,
        someone's choices...). When it commits, routing reads configuration anew: here at once
        and, on PostgreSQL, in every other process as soon as it hears (NOTIFY). Every write of
        configuration goes through here, so none can forget to tell; a rollback tells nobody.

        `begin`: the transaction is begun here and committed when the block ends; without it
        the caller begins, commits or rolls back (a dry run) itself."""
        async with self.db.session() as session:
            sqlalchemy.event.listen(
                session.sync_session, "after_commit", lambda _s: self._config_changed()
            )
            if begin:
                async with session.begin():
                    yield session
            else:
                yield session

    def _config_changed(self) -> None:
        self.cache.invalidate()
        if not self.db.is_sqlite:
            task = asyncio.get_running_loop().create_task(self._announce())
            self.announcing.add(task)
            task.add_done_callback(self.announcing.discard)

    async def _announce(self) -> None:
        try:
            async with self.db.session() as session, session.begin():
                await notify_config(session)
        except Exception as exc:  # the others' caches still expire within seconds
            log.warning("could not announce a configuration change", extra={"error": str(exc)})

    async def announced(self) -> None:
        """Wait until every configuration change has been announced (before a CLI exits)."""
        while self.announcing:
            await asyncio.gather(*self.announcing, return_exceptions=True)
