"""`make bench`: print the project's performance figures.

python -m bench [--events N] [--concurrency C] [--clicks N]
                [--only cards|clients|slack|storm|memory|scheduling|console|config|paging|noise|
                        reports|sqlite|postgres]

Latency: from each request's start to the sink's receipt; "CPU ms": the bot processes' own
CPU (user + system) per event, from the first request to the last delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cards import run_cards  # noqa: E402
from bench.clients import run_clients  # noqa: E402
from bench.config_apply import run_config_apply  # noqa: E402
from bench.console import run_console  # noqa: E402
from bench.memory import run_memory  # noqa: E402
from bench.noise import run_noise  # noqa: E402
from bench.paging import run_paging  # noqa: E402
from bench.pipeline import bare_floor, run_pipeline  # noqa: E402
from bench.reports import run_reports  # noqa: E402
from bench.scheduling import run_scheduling  # noqa: E402
from bench.slack_ack import run_slack_ack  # noqa: E402
from bench.storm import run_spread, run_storm  # noqa: E402
from tests.pg import Cluster, find_bindir  # noqa: E402

FLOOR: dict[str, float] = {}  # the bare aiohttp handler's requests a second, this run


def _row(name: str, result: dict[str, float]) -> str:
    share = result["ingest_per_s"] / FLOOR["aiohttp"] * 100 if FLOOR else float("nan")
    return (
        f"{name:<14} {int(result['events']):>7} {result['ingest_per_s']:>10.0f} "
        f"{share:>8.1f}% {result['delivered_per_s']:>12.0f} {result['p50_ms']:>9.1f} "
        f"{result['p99_ms']:>9.1f} {result['cpu_ms']:>8.2f} {result['drain']:>6.2f}x"
    )


@contextmanager
def postgres(label: str) -> Iterator[Cluster | None]:
    """A throw-away PostgreSQL cluster, or None (and a line saying so) without the binaries."""
    bindir = find_bindir()
    if bindir is None:
        print(f"{label:<14} skipped: PostgreSQL server binaries not found")
        yield None
        return
    cluster = Cluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def migrated(cluster: Cluster, name: str) -> str:
    """A new database on the cluster with the schema applied; its URL."""
    from storage.db import Database

    cluster.sql(f"CREATE DATABASE {name}")

    async def migrate() -> None:
        db = Database(cluster.url(name))
        await db.upgrade()
        await db.dispose()

    asyncio.run(migrate())
    return cluster.url(name)


def bench_postgres(events: int, concurrency: int) -> None:
    """The same runs on a throw-away PostgreSQL cluster."""
    with postgres("postgres") as cluster:
        if cluster is None:
            return
        migrated(cluster, "template_bench")
        for name, count, parallel, rate in (
            ("postgres", events, concurrency, None),
            ("postgres@20/s", 300, 8, 20.0),
        ):
            database = "bench_paced" if rate else "bench_saturated"
            cluster.sql(f"CREATE DATABASE {database} TEMPLATE template_bench")
            result = asyncio.run(run_pipeline(cluster.url(database), count, parallel, rate))
            print(_row(name, result), flush=True)
        # Scale-out: the same load over two processes on one database, doing both, or split.
        for name, roles in (("postgres x2", ("all", "all")), ("web+worker", ("web", "worker"))):
            database = f"bench_{name.replace(' ', '_').replace('+', '_')}"
            cluster.sql(f"CREATE DATABASE {database} TEMPLATE template_bench")
            two = asyncio.run(run_pipeline(cluster.url(database), events, concurrency, roles=roles))
            print(
                _row(name, two)
                + f"   ({' + '.join(roles)}; CPU is both; {two['duplicates']:.0f} duplicate "
                f"sends, longest lock wait {two['longest_lock_ms']:.0f} ms in "
                f"{two['lock_samples']:.0f} samples of pg_stat_activity)",
                flush=True,
            )


def bench_slack_ack(clicks: int, concurrency: int) -> None:
    """Signed acknowledge clicks, `concurrency` at a time, beside a bare Bolt app."""
    print(
        f"slack acknowledge: {clicks} signed block_actions clicks, one alert each (its card "
        f"posted in a Slack channel), {concurrency} at a time; bare = a Bolt app whose listener "
        "only acks"
    )

    def report(name: str, database_url: str) -> None:
        result = run_slack_ack(database_url, clicks, concurrency)
        ours, bare = result["ours"], result["bare"]
        print(
            f"  {name:<9} ours {ours['per_s']:.0f} clicks/s (p50 {ours['p50_ms']:.1f} ms, "
            f"p99 {ours['p99_ms']:.1f} ms), all committed and cards updated at "
            f"{ours['committed_per_s']:.0f}/s, "
            f"CPU {ours['cpu_ms']:.2f} ms/click | bare Bolt {bare['per_s']:.0f}/s "
            f"(p50 {bare['p50_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms), "
            f"CPU {bare['cpu_ms']:.2f} ms/click | ratio {ours['per_s'] / bare['per_s']:.2f} "
            f"of bare's rate, p99 {ours['p99_ms'] / bare['p99_ms']:.2f}x",
            flush=True,
        )

    path = Path(tempfile.mkdtemp(prefix="chatops-bench-db-")) / "ack.db"
    report("sqlite", f"sqlite+aiosqlite:///{path}")
    with postgres("  postgres") as cluster:
        if cluster is not None:
            report("postgres", migrated(cluster, "bench_ack"))


def bench_scheduling(integrations: int, seconds: float) -> None:
    """The scheduler with `integrations` no-op syncs, on SQLite and on PostgreSQL."""
    print(
        f"scheduling: {integrations} integrations syncing every minute (no-op provider), "
        f"watched for {seconds:.0f} s; CPU is the bot process's (not the database server's)"
    )

    def report(name: str, result: dict[str, float]) -> None:
        print(
            f"  {name:<10} jobs derived in {result['schedule_s']:.1f} s; "
            f"{result['runs']:.0f} runs; "
            f"lag p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"max {result['max_ms']:.1f} ms; CPU {result['cpu_per_1000']:.2f} s per 1,000 runs; "
            f"peak RSS {result['rss_mb']:.0f} MB",
            flush=True,
        )

    report("sqlite", asyncio.run(run_scheduling(integrations, seconds)))
    with postgres("  postgres") as cluster:
        if cluster is not None:
            cluster.sql("CREATE DATABASE bench_scheduling")
            url = cluster.url("bench_scheduling")
            report("postgres", asyncio.run(run_scheduling(integrations, seconds, url)))


def bench_paging() -> None:
    """1,000 open alerts each running an escalation policy: the scheduler's tick."""
    print(
        "paging: 1,000 open alerts, each running an escalation policy; the scheduler's tick "
        "(CPU of the bot process; floor = the same due query through the raw driver)"
    )

    def report(name: str, result: dict[str, float]) -> None:
        print(
            f"  {name:<9} tick with none due: {result['idle_cpu_ms']:.2f} ms CPU "
            f"({result['idle_wall_ms']:.2f} ms wall; floor {result['floor_cpu_ms']:.2f} ms); "
            f"all {result['due_moved']:.0f} due at once: {result['due_cpu_ms']:.0f} ms CPU, "
            f"{result['due_wall_ms']:.0f} ms wall, {result['pages']:.0f} pages queued "
            f"({result['due_cpu_ms'] / max(result['due_moved'], 1):.2f} ms CPU per step)",
            flush=True,
        )

    report("sqlite", asyncio.run(run_paging()))
    with postgres("  postgres") as cluster:
        if cluster is not None:
            report("postgres", asyncio.run(run_paging(migrated(cluster, "bench_paging"))))


def bench_noise() -> None:
    """10,000 alerts in 100 groups through routing, grouping, inhibition and 50 silences."""
    print(
        "noise: 10,000 alerts over 100 clusters into a route grouping by cluster, with matchers, "
        "an inhibition rule and 50 active silences (CPU of the bot's own code per alert; floor = "
        "the same alerts through a plain route, claimed without grouping)"
    )

    def report(name: str, r: dict[str, float]) -> None:
        print(
            f"  {name:<9} routing {r['route_ms']:.2f} ms + grouping {r['fold_ms']:.2f} ms = "
            f"{r['route_ms'] + r['fold_ms']:.2f} ms CPU per alert (floor "
            f"{r['floor_route_ms']:.2f} + {r['floor_claim_ms']:.2f} ms); {r['queued']:.0f} cards "
            f"queued into {r['groups']:.0f} groups, {r['muted']:.0f} muted",
            flush=True,
        )

    report("sqlite", asyncio.run(run_noise()))
    with postgres("  postgres") as cluster:
        if cluster is not None:
            report("postgres", asyncio.run(run_noise(migrated(cluster, "bench_noise"))))


def bench_reports() -> None:
    """The response report over 100,000 alerts."""
    print(
        "reports: the response report (30 days by priority) over 100,000 alerts of one tenant "
        "(median of 5; floor = the same rows read through the raw driver, nothing computed)"
    )

    def report(name: str, r: dict[str, float]) -> None:
        print(
            f"  {name:<9} {r['alerts']:.0f} alerts: {r['wall_s'] * 1000:.0f} ms wall, "
            f"{r['cpu_s'] * 1000:.0f} ms CPU (floor {r['floor_s'] * 1000:.0f} ms)",
            flush=True,
        )

    report("sqlite", asyncio.run(run_reports()))
    with postgres("  postgres") as cluster:
        if cluster is not None:
            report("postgres", asyncio.run(run_reports(migrated(cluster, "bench_reports"))))


def bench_memory() -> None:
    found = asyncio.run(run_memory(100_000, 1000))
    seeded, seconds = found["seeded"]
    line = ", ".join(
        f"after {what} {found[key][0]:.0f} MB"
        for what, key in (
            ("start", "started"),
            ("the console's list", "console"),
            ("a storm of 1,000", "storm"),
            ("1,000 clicks", "clicks"),
        )
    )
    print(
        f"memory: {seeded:,} open alerts (written in {seconds:.0f} s), SQLite; the bot's RSS "
        f"{line}; peak {found['clicks'][1]:.0f} MB | the same bot on an empty database: "
        f"{found['floor'][0]:.0f} MB",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--only",
        choices=[
            "cards",
            "clients",
            "slack",
            "storm",
            "memory",
            "scheduling",
            "console",
            "config",
            "paging",
            "noise",
            "reports",
            "sqlite",
            "postgres",
        ],
    )
    parser.add_argument("--integrations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--clicks", type=int, default=1000)
    args = parser.parse_args()
    if args.only in (None, "cards"):
        cards = run_cards(args.cards)
        print(
            f"cards: {cards['cards']} alerts rendered per platform; "
            f"Block Kit {cards['blockkit']:.0f}/s, Adaptive Card {cards['adaptive']:.0f}/s",
            flush=True,
        )
        if args.only == "cards":
            return 0
    if args.only in (None, "clients"):
        sends = run_clients()
        print(
            "webhook client: CPU per POST to a loopback server (client and server), 16 at a "
            "time: aiohttp to checked addresses "
            + ", ".join(f"{v:.0f}" for v in sends["ours"])
            + " us | httpx through the pinned transport "
            + ", ".join(f"{v:.0f}" for v in sends["httpx"])
            + " us | bare aiohttp, nothing checked "
            + ", ".join(f"{v:.0f}" for v in sends["floor"])
            + " us",
            flush=True,
        )
        if args.only == "clients":
            return 0
    if args.only in (None, "slack"):
        bench_slack_ack(args.clicks, args.concurrency)
        if args.only == "slack":
            return 0
    if args.only in (None, "storm"):
        for count in (100, 1000):
            storm = asyncio.run(run_storm(count))
            print(
                f"storm: {count} alerts in one Alertmanager webhook to one Slack channel "
                f"(fake Slack, 1 message/s, 429 beyond): all visible {storm['visible_s']:.1f} s "
                f"after the webhook was answered; {storm['calls']:.0f} chat.* calls, "
                f"{storm['rate_limited']:.0f} x 429",
                flush=True,
            )
        spread = asyncio.run(run_spread(10_000, 20))
        print(
            f"storm over many channels: {spread['alerts']:.0f} alerts in {spread['channels']:.0f} "
            f"Alertmanager webhooks (one per team, sent at once), each team routed to its own "
            f"Slack channel (fake Slack, 1 message/s per channel): webhooks answered in "
            f"{spread['answered_s']:.1f} s, all visible {spread['from_sent_s']:.1f} s after "
            f"sending; {spread['calls']:.0f} chat.* calls, {spread['rate_limited']:.0f} x 429",
            flush=True,
        )
        if args.only == "storm":
            return 0
    if args.only in (None, "memory"):
        bench_memory()
        if args.only == "memory":
            return 0
    if args.only in (None, "paging"):
        bench_paging()
        if args.only == "paging":
            return 0
    if args.only in (None, "noise"):
        bench_noise()
        if args.only == "noise":
            return 0
    if args.only in (None, "reports"):
        bench_reports()
        if args.only == "reports":
            return 0
    if args.only in (None, "console"):
        console = asyncio.run(run_console())
        print("console: 1,000 open alerts on SQLite, signed in, 100 requests each")
        for name, figures in console.items():
            print(
                f"  {name:<12} p50 {figures['p50_ms']:.1f} ms, p90 {figures['p90_ms']:.1f} ms, "
                f"{figures['kb']:.0f} KB"
                + ("  (bare aiohttp, same body)" if name == "floor" else ""),
                flush=True,
            )
        if args.only == "console":
            return 0
    if args.only in (None, "config"):
        config = run_config_apply()
        print(
            f"config apply: {config['changes']:.0f} changes ({config['kb']:.0f} KB file, 100 "
            f"integrations and channels, 400 routes) on SQLite, each step a new process: "
            f"plan {config['plan_s']:.2f} s, apply {config['apply_s']:.2f} s, no-op re-apply "
            f"{config['again_s']:.2f} s; floor (chatops --help) {config['floor_s']:.2f} s",
            flush=True,
        )
        if args.only == "config":
            return 0
    if args.only in (None, "scheduling"):
        bench_scheduling(args.integrations, args.seconds)
        if args.only == "scheduling":
            return 0
    print(
        f"ingest-to-delivered: {args.events} events over REST, {args.concurrency} at a time "
        "(saturated), and 300 events at 20 a second (paced); webhook sink on loopback; "
        f"CPUs: {os.cpu_count()}"
    )
    FLOOR["aiohttp"] = asyncio.run(bare_floor(max(args.events, 4000), args.concurrency))
    print(
        f"floor: a bare aiohttp handler answering 202, same client, same concurrency: "
        f"{FLOOR['aiohttp']:.0f} requests/s",
        flush=True,
    )
    print(
        f"{'database':<14} {'events':>7} {'ingest/s':>10} {'of floor':>9} {'delivered/s':>12} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'CPU ms':>8} {'drain':>7}"
    )
    print("(drain: from the first event sent to the last delivered, in times the sending took)")
    if args.only in (None, "sqlite"):
        for name, events, concurrency, rate in (
            ("sqlite", args.events, args.concurrency, None),
            ("sqlite@20/s", 300, 8, 20.0),
        ):
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='chatops-bench-db-')}/bench.db"
            result = asyncio.run(run_pipeline(url, events, concurrency, rate))
            print(_row(name, result), flush=True)
    if args.only in (None, "postgres"):
        bench_postgres(args.events, args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
