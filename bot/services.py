"""The services one process runs, built once at start and handed to every transport."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from aiohttp import web

from adapters.factory import AdapterFactory
from bot.actions import ActionService
from bot.apikeys import KeyService
from bot.checks import IntegrationChecks
from bot.delivery import DeliveryWorker
from bot.ingest import IngestService
from bot.metrics import Metrics
from bot.notices import Notifier
from bot.secrets import Keyring
from bot.settings import Settings
from bot.sync import SyncEngine
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


SERVICES = web.AppKey("services", Services)
