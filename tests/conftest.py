"""Fixtures: a database per test on SQLite and PostgreSQL, settings, a running app on loopback."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.services import Services
from bot.infra.settings import Settings
from bot.runtime.app import build_services, create_app
from storage.db import Database
from tests.fakes.pagerduty import FakePagerDuty
from tests.pg import Cluster, find_bindir

API_TOKEN = "test-token-0123456789"
REPOSITORY = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.gettempdir())  # computed before the hook: gettempdir itself opens files


def read_beside(path: Path, repository: Path, tmp: Path) -> bool:
    """Whether `path` lies next to the checkout (a sibling folder like shared/), not in it."""
    outside = repository.parent
    if outside in (Path(outside.anchor), tmp) or not path.is_relative_to(outside):
        return False
    # Temporary files are the tests' own, unless the clone itself lives deep in the temp dir:
    # then a sibling of the clone is beside it whatever the temp dir is.
    temporary = path.is_relative_to(tmp) and not outside.is_relative_to(tmp)
    return not (path.is_relative_to(repository) or temporary)


def _refuse_reads_beside_the_repository(event: str, args: tuple[object, ...]) -> None:
    """Fail any open of a file next to the checkout: a clone must test with nothing beside it."""
    if event == "open" and isinstance(args[0], str | Path):
        path = Path(args[0]).absolute()
        if read_beside(path, REPOSITORY, TMP):
            raise PermissionError(f"the test suite read {path}, outside the repository")


sys.addaudithook(_refuse_reads_beside_the_repository)
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    """One PostgreSQL cluster for the session, with a migrated template database."""
    bindir = find_bindir()
    if bindir is None or (shutil.which("psql") is None and not (bindir / "psql").exists()):
        yield None
        return
    cluster = Cluster(bindir)
    cluster.start()
    try:
        cluster.sql("CREATE DATABASE chatops_template")
        db = Database(cluster.url("chatops_template"))

        async def migrate() -> None:
            await db.upgrade()
            await db.dispose()

        asyncio.run(migrate())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated-on-start database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'chatops.db'}"
    cluster: Cluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    name = f"t{next(_counter)}"
    cluster.sql(f"CREATE DATABASE {name} TEMPLATE chatops_template")
    return cluster.url(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test bot: its own database and data dir, private targets allowed."""
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        api_token=API_TOKEN,  # type: ignore[arg-type]
        allow_private_targets=True,
        teams_local=True,
        public_url="http://chatops.test",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The bot's services in-process, on the test's migrated database, without a server."""
    built = build_services(settings)
    await built.db.upgrade()
    yield built
    await built.http.aclose()
    await built.db.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """The whole app, served on a loopback port, with a client that sends the API token."""
    app = create_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        test_client.session.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield test_client


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    fake = await FakePagerDuty().start()
    yield fake
    await fake.stop()
