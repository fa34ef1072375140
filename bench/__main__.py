"""`make bench`: print the project's performance figures.

python -m bench [--events N] [--concurrency C] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cards import run_cards  # noqa: E402
from bench.pipeline import run_pipeline  # noqa: E402
from bench.slack_ack import run_slack_ack  # noqa: E402
from tests.pg import Cluster, find_bindir  # noqa: E402


def _row(name: str, result: dict[str, float]) -> str:
    return (
        f"{name:<12} {int(result['events']):>7} {result['ingest_per_s']:>12.0f} "
        f"{result['delivered_per_s']:>14.0f} {result['p50_ms']:>9.1f} {result['p99_ms']:>9.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only", choices=["cards", "slack", "sqlite", "postgres"])
    parser.add_argument("--cards", type=int, default=10_000)
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
    if args.only in (None, "slack"):
        ack = run_slack_ack()
        ours, bare = ack["ours"], ack["bare"]
        print(
            f"slack acknowledge, 300 signed clicks one after another (SQLite): "
            f"ours HTTP p50 {ours['http_p50_ms']:.2f} ms, click-to-committed "
            f"{ours['per_click_committed_ms']:.2f} ms; bare Bolt ack-only HTTP p50 "
            f"{bare['http_p50_ms']:.2f} ms ({bare['per_click_committed_ms']:.2f} ms per click); "
            f"ratio {ours['per_click_committed_ms'] / bare['per_click_committed_ms']:.2f}x",
            flush=True,
        )
        if args.only == "slack":
            return 0
    print(
        f"ingest-to-delivered: {args.events} events over REST, {args.concurrency} at a time, "
        "webhook sink on loopback, CPUs:",
        os.cpu_count(),
    )
    print(
        f"{'database':<12} {'events':>7} {'ingest/s':>12} {'delivered/s':>14} "
        f"{'p50 ms':>9} {'p99 ms':>9}"
    )
    if args.only in (None, "sqlite"):
        path = Path(tempfile.mkdtemp(prefix="chatops-bench-db-")) / "bench.db"
        result = asyncio.run(
            run_pipeline(f"sqlite+aiosqlite:///{path}", args.events, args.concurrency)
        )
        print(_row("sqlite", result), flush=True)
    if args.only in (None, "postgres"):
        bindir = find_bindir()
        if bindir is None:
            print("postgres     skipped: PostgreSQL server binaries not found")
        else:
            cluster = Cluster(bindir)
            cluster.start()
            try:
                cluster.sql("CREATE DATABASE bench")
                url = cluster.url("bench")
                from storage.db import Database

                async def migrate() -> None:
                    db = Database(url)
                    await db.upgrade()
                    await db.dispose()

                asyncio.run(migrate())
                result = asyncio.run(run_pipeline(url, args.events, args.concurrency))
                print(_row("postgres", result), flush=True)
            finally:
                cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
