"""The services one process runs, built once at start and handed to every transport."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from aiohttp import web

from adapters.factory import AdapterFactory
from bot.core.alerts.actions import ActionService
from bot.core.alerts.ingest import IngestService
from bot.core.alerts.notices import Notifier
from bot.core.config_cache import ConfigCache
from bot.core.delivery.worker import DeliveryWorker
from bot.core.integrations.checks import IntegrationChecks
from bot.core.integrations.sync import SyncEngine
from bot.core.keys import KeyService
from bot.infra.metrics import Metrics
from bot.infra.secrets import Keyring
from bot.infra.settings import Settings
from storage.db import Database


@dataclass
class Services:
    """Everything handlers and jobs call; no module-level globals."""

    settings: Settings
    db: Database
    keyring: Keyring
    http: httpx.AsyncClient
    metrics: Metrics
    ingest: IngestService
    worker: DeliveryWorker
    actions: ActionService
    factory: AdapterFactory
    notifier: Notifier
    sync: SyncEngine
    checks: IntegrationChecks
    keys: KeyService

    @property
    def cache(self) -> ConfigCache:
        """Configuration read on every request (routing, workspace bindings), kept briefly."""
        return self.ingest.cache

    def config_changed(self) -> None:
        """Integrations, channels, routes or someone's choices changed: routing reads them anew.

        Other processes see the change when their routing cache expires (seconds)."""
        self.cache.invalidate()


SERVICES = web.AppKey("services", Services)
