"""`chatops config apply` on a large file: plan, apply and a no-op re-apply, as separate
processes, beside the floor of starting the program at all (`chatops --help`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def document(size: int) -> str:
    """`size` integrations and channels and 4 * `size` routes in one tenant."""
    integrations = [
        {
            "name": f"hook-{i}",
            "type": "webhook",
            "enabled": True,
            "settings": {"url": f"https://hooks.example.com/bench/{i}"},
            "sync": {"enabled": False, "interval_minutes": 60, "direction": "both"},
        }
        for i in range(size)
    ]
    channels = [
        {"name": f"ch-{i}", "type": "webhook", "integration": f"hook-{i}", "rate_per_minute": 60}
        for i in range(size)
    ]
    routes = [
        {"channel": f"ch-{i % size}", "event_glob": f"svc{i}.*", "min_priority": "HIGH"}
        for i in range(4 * size)
    ]
    tenant = {"integrations": integrations, "channels": channels, "routes": routes}
    return str(yaml.safe_dump({"version": 1, "tenants": {"default": tenant}}, sort_keys=False))


def _seconds(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started, done.stdout


def run_config_apply(size: int = 100) -> dict[str, float]:
    """Wall seconds of each step, and how many changes the apply made."""
    folder = Path(tempfile.mkdtemp(prefix="chatops-bench-config-"))
    path = folder / "chatops.yml"
    path.write_text(document(size))
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'config.db'}",
        "CHATOPS_DATA_DIR": str(folder / "var"),
    }
    floor, _ = _seconds(["--help"], env)
    _seconds(["db", "upgrade"], env)
    plan, lines = _seconds(["config", "apply", str(path), "--dry-run"], env)
    apply, _ = _seconds(["config", "apply", str(path)], env)
    again, said = _seconds(["config", "apply", str(path)], env)
    assert said.strip() == "no changes", said
    return {
        "floor_s": floor,
        "plan_s": plan,
        "apply_s": apply,
        "again_s": again,
        "changes": len(lines.splitlines()),
        "kb": path.stat().st_size / 1024,
    }
