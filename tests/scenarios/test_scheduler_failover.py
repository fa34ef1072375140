"""Two real scheduler processes on PostgreSQL: the leader is killed, the standby runs the next job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import free_port
from tests.pg import Cluster

ROOT = Path(__file__).resolve().parents[2]


def sql_value(cluster: Cluster, database: str, query: str) -> str:
    done = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "chatops",
            "-d",
            database,
            "-Atqc",
            query,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def old_alert(cluster: Cluster, database: str, alert_id: str) -> None:
    """An unacknowledged alert first seen long ago, with a route waiting at level 1."""
    cluster.sql(
        "INSERT INTO events (id, tenant_id, event_type, priority, priority_rank, title, body, "
        "source, dedup_key, open_key, state, occurrences, first_seen, last_seen, escalation_level,"
        " stakeholders, facts, metadata, created_at, updated_at) VALUES "
        f"('{alert_id}', 'default', 'db.down', 'HIGH', 4, '{alert_id}', '', 'api', '{alert_id}', "
        f"'{alert_id}', 'triggered', 1, now() - interval '2 hours', now(), 0, '[]', '{{}}', "
        "'{}', now(), now())",
        database,
    )


async def wait_for(check, within: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {within}s")


@pytest.mark.slow
async def test_the_standby_takes_over_when_the_leader_dies(
    pg_cluster: Cluster | None, tmp_path: Path
) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    database = "failover"
    pg_cluster.sql(f"CREATE DATABASE {database} TEMPLATE chatops_template")
    pg_cluster.sql(
        "INSERT INTO notification_channels (id, tenant_id, name, type, target, config, "
        "rate_per_minute, is_default, is_active, created_at) VALUES ('ch1', 'default', 'managers', "
        "'webhook', 'http://127.0.0.1:9/none', '{}', 60, false, true, now()); "
        "INSERT INTO routes (id, tenant_id, channel_id, event_glob, min_priority, stakeholders, "
        "source_glob, escalation_level, is_active, created_at) VALUES ('r1', 'default', 'ch1', "
        "'*', 'INFO', '[]', '*', 1, true, now())",
        database,
    )
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": pg_cluster.url(database),
        "CHATOPS_DATA_DIR": str(tmp_path),
        "CHATOPS_ESCALATE_AFTER_MINUTES": "1",
        "CHATOPS_ESCALATION_CHECK_SECONDS": "0.5",
        "CHATOPS_LOG_FORMAT": "json",
    }
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    for log in logs:
        with log.open("wb") as handle:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        "--role",
                        "scheduler",
                        "--port",
                        str(free_port()),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=handle,
                    stderr=handle,
                )
            )
        await asyncio.sleep(2.0)  # the first one started leads
    try:
        old_alert(pg_cluster, database, "first")
        await wait_for(
            lambda: (
                sql_value(
                    pg_cluster, database, "SELECT escalation_level FROM events WHERE id = 'first'"
                )
                == "1"
            ),
            20,
        )
        assert "this process leads the scheduler" in logs[0].read_text()
        assert "this process leads the scheduler" not in logs[1].read_text()
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=10)
        killed_at = time.monotonic()
        old_alert(pg_cluster, database, "second")
        await wait_for(
            lambda: (
                sql_value(
                    pg_cluster, database, "SELECT escalation_level FROM events WHERE id = 'second'"
                )
                == "1"
            ),
            30,
        )
        took_over = time.monotonic() - killed_at
        assert "this process leads the scheduler" in logs[1].read_text()
        print(f"\nstandby escalated the next alert {took_over:.1f} s after the leader was killed")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
