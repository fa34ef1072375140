"""What a core module needs of the process, said narrowly: the whole `Services` satisfies each
of these, but a module that reads alerts asks for a database and settings only, so it does not
depend on everything the process builds (and `services.py` may import it without a loop)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.factory import AdapterFactory
from bot.infra.secrets import Keyring
from bot.infra.settings import Settings
from storage.db import Database


class Reads(Protocol):
    """The database to read, and the settings."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...


class Configures(Protocol):
    """The database, and the session that writes configuration: its commit tells every
    process's caches (routing, channels) that configuration changed."""

    @property
    def db(self) -> Database: ...

    def configuring(self, *, begin: bool = True) -> AbstractAsyncContextManager[AsyncSession]: ...


class Wakes(Protocol):
    """What queues work for the delivery workers, and can tell them to look now."""

    def wake_workers(self) -> None: ...


class Queues(Configures, Protocol):
    """Configures, and wakes the workers for what it queued."""

    @property
    def ingest(self) -> Wakes: ...


class Reaches(Reads, Configures, Protocol):
    """Reads, and reaches people's chat platforms: the keyring and the adapters; writes
    people (who they are on chat is configuration: clicks look it up in the cache)."""

    @property
    def keyring(self) -> Keyring: ...

    @property
    def factory(self) -> AdapterFactory: ...
