"""The dependency rules of ARCHITECTURE.md, checked on every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "storage", "cards", "scheduler")
THIRD_PARTY_IO = {
    "aiohttp",
    "httpx",
    "sqlalchemy",
    "slack_bolt",
    "slack_sdk",
    "botbuilder",
    "apscheduler",
    "asyncpg",
    "aiosqlite",
    "alembic",
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def modules() -> list[Path]:
    return [
        p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if "migrations" not in p.parts
    ]


def violations(path: Path, rel: Path | None = None) -> list[str]:
    """Forbidden imports of the file at `path`, judged as if it lived at `rel` in the tree."""
    rel = rel or path.relative_to(ROOT)
    package = rel.parts[0]
    found = []
    for name in imports_of(path):
        top = name.split(".")[0]
        if package != "bot" and top == "bot" and not name.startswith("bot.model"):
            found.append(f"{rel} imports {name}: outside bot/ only bot.model may be imported")
        if top == "slack_bolt" and not (package == "bot" and rel.name.startswith("slack")):
            found.append(f"{rel} imports slack_bolt: only bot/slack*.py may")
        if top in ("botbuilder", "botframework") and not (
            package == "bot" and rel.name.startswith("teams")
        ):
            found.append(f"{rel} imports botbuilder: only bot/teams*.py may")
        if package == "cards" and (top in THIRD_PARTY_IO or name in ("time", "socket")):
            found.append(f"{rel} imports {name}: cards/ is pure")
        if rel.as_posix() == "bot/model.py" and top not in (
            "__future__",
            "enum",
            "dataclasses",
            "datetime",
            "typing",
        ):
            found.append(f"{rel} imports {name}: bot/model.py uses the standard library only")
        if (
            package in ("adapters", "storage", "cards")
            and top in ("storage", "adapters", "scheduler")
            and top != package
            and not (package == "adapters" and top == "cards")
        ):
            found.append(f"{rel} imports {name}: against the dependency direction")
    return found


def test_every_module_follows_the_dependency_rules() -> None:
    problems = [v for path in modules() for v in violations(path)]
    assert problems == []


@pytest.mark.parametrize(
    "source,expected",
    [
        ("import slack_bolt\n", "only bot/slack*.py may"),
        ("from bot.delivery import DeliveryWorker\n", "only bot.model may be imported"),
        ("import httpx\n", "cards/ is pure"),
    ],
)
def test_the_checker_catches_forbidden_imports(tmp_path: Path, source: str, expected: str) -> None:
    fake = tmp_path / "probe.py"  # judged as cards/probe.py, never written into the tree
    fake.write_text(source)
    assert any(expected in v for v in violations(fake, Path("cards") / "probe.py"))
