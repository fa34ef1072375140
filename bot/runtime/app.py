"""The app factory: one aiohttp application with the services and roles asked for."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import logging
from collections.abc import AsyncIterator, Callable

import httpx
from aiohttp import web

from adapters.egress import PinnedTransport
from adapters.factory import AdapterFactory
from bot.core.alerts.actions import ActionService, JobRetry
from bot.core.alerts.ingest import IngestService
from bot.core.alerts.notices import Notifier
from bot.core.alerts.silences import Silences
from bot.core.config_cache import ConfigCache
from bot.core.delivery.worker import DeliveryWorker, WorkerOptions
from bot.core.instance import check_key, console_session_key
from bot.core.integrations.admin import teams_credentials
from bot.core.keys import KeyService
from bot.core.services import Services
from bot.core.signal import Signal
from bot.core.watch.checks import IntegrationChecks
from bot.core.watch.sync import SyncEngine
from bot.http import audit as rest_audit
from bot.http import config as rest_config
from bot.http import (
    console,
    console_admin,
    console_alerts,
    console_heartbeats,
    console_noise,
    console_oncall,
    console_reports,
    hooks,
    openapi,
    ops,
    pages,
    provider_hooks,
)
from bot.http import events as rest_events
from bot.http import heartbeats as rest_heartbeats
from bot.http import integrations as rest_integrations
from bot.http import oncall as rest_oncall
from bot.http import reports as rest_reports
from bot.http import silences as rest_silences
from bot.http import users as rest_users
from bot.http.app_keys import SERVICES
from bot.http.auth import bearer_auth
from bot.http.errors import json_errors
from bot.infra.metrics import Metrics
from bot.infra.secrets import load_keyring
from bot.infra.settings import Settings
from bot.runtime import scheduling, serving
from bot.slack import transport as slack
from bot.teams import transport as teams
from domain import EventIn
from storage import outbox
from storage.db import Database
from storage.notify import CHANNEL as OUTBOX_CHANNEL
from storage.notify import CONFIG_CHANNEL, listen
from storage.schema import utcnow

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
ROLES = ("all", "web", "worker", "scheduler")


def build_services(settings: Settings, *, cache: ConfigCache | None = None) -> Services:
    """Build every service; nothing is started yet (`cache`: the configuration cache, when
    one is given)."""
    db = Database(settings.database_url)
    keyring = load_keyring(
        settings.secret_key.get_secret_value() if settings.secret_key else None, settings.data_dir
    )
    http = httpx.AsyncClient(
        transport=PinnedTransport(allow_private=settings.allow_private_targets),
        timeout=httpx.Timeout(settings.send_timeout_seconds),
        follow_redirects=False,
        headers={"User-Agent": "chatops-bot/0.1"},
    )
    metrics = Metrics()
    outbox_ready = Signal()
    # Built once, here, and handed to whatever needs them: nothing borrows them from another.
    cache = cache if cache is not None else ConfigCache()
    options = WorkerOptions(
        concurrency=settings.workers * 4,
        batch=settings.delivery_batch,
        lease_seconds=settings.lease_seconds,
        idle_poll=settings.poll_seconds,
        send_timeout=settings.send_timeout_seconds,
        public_url=settings.public_url,
        allow_private_targets=settings.allow_private_targets,
        slack_api_url=settings.slack_api_url,
        teams=teams_credentials(settings),
    )
    factory = AdapterFactory(http, options.build)
    ingest = IngestService(db, cache, wake=outbox_ready)

    async def on_dead(event: EventIn) -> object:
        return await ingest.submit(event)

    notifier = Notifier(ingest, settings.public_url)

    worker = DeliveryWorker(
        db,
        cache,
        keyring,
        http,
        metrics,
        options,
        factory,
        on_dead=on_dead,
        on_refused=notifier.credentials_refused,
    )
    outbox_ready.connect(worker.wake)
    jobs: dict[str, JobRetry] = {}  # what Retry on a failed job's card runs again
    actions = ActionService(
        db, ingest, cache, silences=Silences(db, keyring, factory, settings.public_url), jobs=jobs
    )
    timeout = settings.sync_timeout_seconds
    sync = SyncEngine(db, keyring, factory, actions, notifier, metrics, timeout=timeout)
    jobs["sync"] = sync.retry  # the sync engine applies synced states through the actions
    return Services(
        settings=settings,
        db=db,
        keyring=keyring,
        http=http,
        metrics=metrics,
        cache=cache,
        factory=factory,
        ingest=ingest,
        worker=worker,
        actions=actions,
        notifier=notifier,
        sync=sync,
        checks=IntegrationChecks(db, keyring, factory, notifier, metrics, timeout=timeout),
        keys=KeyService(db),
    )


def _version() -> str:
    try:
        return importlib.metadata.version("chatops-bot")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def create_app(
    settings: Settings, *, role: str = "all", services: Services | None = None
) -> web.Application:
    """The aiohttp application: HTTP surfaces for `web`, background work for `worker`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    services = services or build_services(settings)
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            serving.mark_requests,
            json_errors,
            bearer_auth(  # type: ignore[list-item]
                settings.api_token.get_secret_value() if settings.api_token else None,
                services.keys,
            ),
            serving.body_deadline(settings.request_body_seconds),
        ],
    )
    app[SERVICES] = services
    ops.register(app, services)
    if role in ("all", "web"):
        rest_events.register(app, services)
        rest_integrations.register(app, services)
        rest_users.register(app, services)
        rest_config.register(app, services)
        rest_audit.register(app, services)
        rest_oncall.register(app, services)
        rest_silences.register(app)
        rest_heartbeats.register(app)
        rest_reports.register(app)
        console.register(app, services)
        console_alerts.register(app)
        console_admin.register(app)
        console_oncall.register(app)
        console_noise.register(app)
        console_reports.register(app)
        console_heartbeats.register(app)
        hooks.register(app, services)
        pages.register(app, services)
        provider_hooks.register(app, services)
        transport = slack.register(app, services)
        teams.register(app, services)
        openapi.register(app, _version(), services.settings.public_url)
    else:
        transport = None
    app.cleanup_ctx.append(_lifecycle(services, role, transport))
    return app


def _lifecycle(services: Services, role: str, transport: slack.SlackTransport | None):  # type: ignore[no-untyped-def]
    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        keys = 0
        if await _prepare_database(services):
            await check_key(services.db, services.keyring)
            services.session_key = await console_session_key(services.db)
            keys = sum(1 for k in await services.keys.listed(None) if k.revoked_at is None)
        _report_configuration(services.settings, keys)
        gc.freeze()  # what start-up built lives as long as the process: full collections skip it
        if transport is not None:
            await transport.start()

        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        heard: dict[str, Callable[[], None]] = {CONFIG_CHANNEL: services.cache.invalidate}
        if role in ("all", "worker"):
            if services.db.is_sqlite:
                await _take_back_leases(services)
            tasks.append(asyncio.create_task(services.worker.run(stop), name="delivery"))
            heard[OUTBOX_CHANNEL] = services.worker.wake
        if not services.db.is_sqlite:  # every role routes or sends: each hears changes
            tasks.append(asyncio.create_task(listen(services.db.url, heard, stop)))
        if role in ("all", "scheduler"):
            tasks.append(asyncio.create_task(scheduling.run(services, stop), name="scheduler"))
        try:
            yield
        finally:
            if transport is not None:
                await transport.stop()
            stop.set()
            services.worker.wake()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.actions.settle()
            await services.notifier.close()
            await services.factory.close()
            await services.http.aclose()
            await services.db.dispose()

    return lifecycle


async def _take_back_leases(services: Services) -> None:
    """On SQLite one process owns every lease: what its dead predecessor held is due now.

    On PostgreSQL other live workers may hold leases, so rows wait out their lease there.
    """
    async with services.db.session() as session, session.begin():
        taken = await outbox.take_back_leases(session, utcnow())
    if taken:
        log.warning("took back deliveries leased before a restart", extra={"count": taken})


async def _prepare_database(services: Services) -> bool:
    """Migrate SQLite; on PostgreSQL say what is pending. True when the schema is current."""
    pending = await services.db.pending_migrations()
    if not pending:
        return True
    if services.db.is_sqlite:
        log.info("applying migrations to the SQLite database", extra={"pending": pending})
        await services.db.upgrade()
        return True
    log.warning("database migrations pending; run `chatops db upgrade`", extra={"pending": pending})
    return False


def _report_configuration(settings: Settings, keys: int) -> None:
    missing = []
    if not settings.api_token and not keys:
        missing.append(
            "REST API and hooks need a key: set CHATOPS_API_TOKEN, or make a tenant's key "
            "with `chatops keys api create`"
        )
    elif not settings.api_token:
        log.info("REST API and hooks take the %d tenant key(s); no operator token is set", keys)
    if not (
        (settings.slack_bot_token or settings.slack_client_id)
        and (settings.slack_signing_secret or settings.slack_app_token)
    ):
        missing.append(
            "Slack not configured (CHATOPS_SLACK_BOT_TOKEN, CHATOPS_SLACK_SIGNING_SECRET)"
        )
    if not settings.teams_app_id and settings.teams_local:
        missing.append("Teams in unauthenticated local mode (CHATOPS_TEAMS_LOCAL=true)")
    elif not settings.teams_app_id:
        missing.append(
            "Teams not configured (CHATOPS_TEAMS_APP_ID; CHATOPS_TEAMS_LOCAL=true for the "
            "Bot Framework Emulator on loopback): /api/messages answers 401"
        )
    for line in missing:
        log.warning("not configured: %s", line)
