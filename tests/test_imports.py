"""The dependency rules of ARCHITECTURE.md and the layers of bot/, checked on every module.

Inside bot/ the folders are layers, each importing only those below it, and the vocabulary,
domain/, sits under everything (every package may import it; it imports the standard library)::

    cli → runtime → (http | slack | teams) → chat → core → infra → domain

http, slack and teams are siblings and never import each other; only core and runtime reach the
database, the adapters and the scheduler; no two files import each other, however indirectly.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "bot", "adapters", "storage", "cards", "scheduler")
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
# The layers of bot/, lowest first; a folder imports only from its own and lower ranks.
LAYERS: dict[str, int] = {
    "infra": 1,
    "core": 2,
    "chat": 3,
    "http": 4,
    "slack": 4,
    "teams": 4,
    "runtime": 5,
    "cli": 6,
    "__main__": 7,
}
STANDARD = frozenset(sys.stdlib_module_names) | {"__future__"}
REACHES_OUT = ("storage", "adapters", "scheduler", "sqlalchemy")  # only core and runtime


def imports_of(path: Path) -> list[str]:
    """Every module the file imports, anywhere in it; `from a import b` counts as `a.b`."""
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def modules() -> list[Path]:
    return [
        p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if "migrations" not in p.parts
    ]


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer a bot module belongs to: its first folder below bot/ (or __main__)."""
    parts = module.split(".")
    if parts[0] != "bot":
        return None
    if len(parts) == 1:
        return None  # the package itself: it holds nothing but its docstring
    return parts[1] if parts[1] in LAYERS else None


def violations(path: Path, rel: Path | None = None) -> list[str]:
    """Forbidden imports of the file at `path`, judged as if it lived at `rel` in the tree."""
    rel = rel or path.relative_to(ROOT)
    package = rel.parts[0]
    here = module_name(rel)
    mine = layer_of(here)
    found = []
    for name in imports_of(path):
        top = name.split(".")[0]
        if package != "bot" and top == "bot":
            found.append(f"{rel} imports {name}: outside bot/ only domain/ may be imported")
        if (top == "slack_bolt" or (top == "slack_sdk" and mine)) and mine != "slack":
            found.append(f"{rel} imports {top}: only bot/slack/ may")
        if top in ("botbuilder", "botframework") and mine != "teams":
            found.append(f"{rel} imports botbuilder: only bot/teams/ may")
        if package == "cards" and (top in THIRD_PARTY_IO or name in ("time", "socket")):
            found.append(f"{rel} imports {name}: cards/ is pure")
        if package == "domain" and top not in STANDARD and top not in ("domain", "pydantic"):
            found.append(f"{rel} imports {name}: domain/ uses the standard library only")
        if (
            package in ("adapters", "storage", "cards")
            and top in ("storage", "adapters", "scheduler")
            and top != package
            and not (package == "adapters" and top == "cards")
        ):
            found.append(f"{rel} imports {name}: against the dependency direction")
        if mine is not None:
            found += _layer_problems(rel, mine, name)
    return found


def _layer_problems(rel: Path, mine: str, name: str) -> list[str]:
    top = name.split(".")[0]
    if top in REACHES_OUT and mine not in ("core", "runtime"):
        return [f"{rel} imports {name}: only bot/core and bot/runtime reach {top}"]
    theirs = layer_of(name)
    if top != "bot" or theirs is None or theirs == mine or name == "bot":
        return []
    if LAYERS[theirs] > LAYERS[mine]:
        return [f"{rel} imports {name}: {mine} sits below {theirs}"]
    if LAYERS[theirs] == LAYERS[mine]:
        return [f"{rel} imports {name}: {mine} and {theirs} are siblings"]
    return []


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of this repository it imports (packages resolve to their files)."""
    known = {module_name(p.relative_to(ROOT)) for p in modules()}
    graph: dict[str, set[str]] = {}
    for path in modules():
        here = module_name(path.relative_to(ROOT))
        graph[here] = {
            n for n in imports_of(path) if n in known and n != here and not here.startswith(n + ".")
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_follows_the_dependency_rules() -> None:
    problems = [v for path in modules() for v in violations(path)]
    assert problems == []


def test_no_two_modules_import_each_other() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_an_indirect_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "rel,source,expected",
    [
        ("bot/http/probe.py", "import slack_bolt\n", "only bot/slack/ may"),
        ("cards/probe.py", "from bot.core.delivery import worker\n", "only domain/ may"),
        ("domain/probe.py", "import httpx\n", "domain/ uses the standard library only"),
        ("cards/probe.py", "import httpx\n", "cards/ is pure"),
        ("bot/http/probe.py", "from sqlalchemy import select\n", "only bot/core and bot/runtime"),
        ("bot/chat/probe.py", "from storage import events\n", "only bot/core and bot/runtime"),
        ("bot/slack/probe.py", "from bot.teams import guard\n", "slack and teams are siblings"),
        ("bot/core/probe.py", "from bot.http.errors import ApiError\n", "core sits below http"),
        ("bot/infra/probe.py", "from bot.core import services\n", "infra sits below core"),
    ],
)
def test_the_checker_catches_forbidden_imports(
    tmp_path: Path, rel: str, source: str, expected: str
) -> None:
    probe = tmp_path / "probe.py"  # judged as if it lived at `rel`, never written into the tree
    probe.write_text(source)
    assert any(expected in v for v in violations(probe, Path(rel)))
