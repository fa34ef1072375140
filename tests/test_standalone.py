"""The repository stands alone: nothing in it reads a file from beside the checkout."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY, read_beside

SOURCE_DIRS = ("bot", "adapters", "storage", "cards", "scheduler", "tests", "bench", "deploy")
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def python_files() -> list[Path]:
    this = Path(__file__).resolve()
    return sorted(f for d in SOURCE_DIRS for f in (REPOSITORY / d).rglob("*.py") if f != this)


def test_no_source_climbs_out_of_the_repository() -> None:
    """`parents[N]` of a module stays inside the checkout; no literal names `../` or shared/."""
    offenders = []
    for path in python_files():
        text = path.read_text()
        for match in PARENTS.finditer(text):
            if not path.parents[int(match.group(1))].is_relative_to(REPOSITORY):
                offenders.append(f"{path.relative_to(REPOSITORY)}: {match.group(0)}")
        if re.search(r"""["'](\.\./)+shared\b|shared/fixtures""", text):
            offenders.append(f"{path.relative_to(REPOSITORY)}: a path outside the repository")
    assert offenders == []


def test_reads_beside_the_checkout_are_told_apart() -> None:
    """The audit hook conftest installs refuses a sibling of the clone, not the clone or /tmp."""
    repo, tmp = Path("/srv/work/clone"), Path("/tmp")
    assert read_beside(Path("/srv/work/shared/fixtures/a.json"), repo, tmp)
    assert not read_beside(Path("/srv/work/clone/tests/fixtures/a.json"), repo, tmp)
    assert not read_beside(Path("/usr/lib/python3/os.py"), repo, tmp)
    assert not read_beside(Path("/tmp/pytest-of-root/a.db"), Path("/tmp/clone"), tmp)
    # a clone two folders down the temp dir: its siblings are beside it, pytest's files not
    deep = Path("/tmp/ci/run/clone")
    assert read_beside(Path("/tmp/ci/run/shared/fixtures/a.json"), deep, tmp)
    assert not read_beside(Path("/tmp/pytest-of-root/a.db"), deep, tmp)
    assert not read_beside(Path("/tmp/ci/run/clone/tests/x.json"), deep, tmp)


def test_a_read_beside_this_checkout_fails() -> None:
    """Live: opening a file beside this very checkout raises (where there is a beside)."""
    beside = REPOSITORY.parent / "shared" / "fixtures" / "x.json"
    if read_beside(beside, REPOSITORY, Path(tempfile.gettempdir())):
        with pytest.raises(PermissionError, match="outside the repository"):
            beside.open()
    else:
        assert REPOSITORY.parent in (Path("/"), Path(tempfile.gettempdir()))


def test_every_fixture_used_is_in_the_repository_with_its_source() -> None:
    """Each file in tests/fixtures is named in SOURCES.md."""
    fixtures = REPOSITORY / "tests" / "fixtures"
    sources = (fixtures / "SOURCES.md").read_text()
    files = [p for p in fixtures.rglob("*.json")]
    assert files
    missing = [
        str(p.relative_to(fixtures)) for p in files if str(p.relative_to(fixtures)) not in sources
    ]
    assert missing == []
