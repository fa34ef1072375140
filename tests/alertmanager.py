"""The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`), started on loopback.

Tests that need it are skipped, with this reason, where the binary is not installed; `.ci/run`
installs it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

BINARIES = ("prometheus-alertmanager", "alertmanager")
CONFIG = """\
route:
  receiver: nowhere
receivers:
  - name: nowhere
"""


def binary() -> str | None:
    """The Alertmanager binary on PATH, under either name it is packaged with."""
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


@contextmanager
def alertmanager(folder: Path, port: int | None = None) -> Iterator[str]:
    """A fresh Alertmanager answering on 127.0.0.1 (on `port`, or a free one); its base URL."""
    program = binary()
    if program is None:
        pytest.skip("prometheus-alertmanager is not installed (apt-get install it, or run .ci/run)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(CONFIG)
    port = port or free_port()
    log = (folder / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [
            program,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (folder / "alertmanager.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Alertmanager did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def silences(url: str) -> list[dict[str, object]]:
    """Every silence Alertmanager holds, as its API v2 lists them."""
    return list(httpx.get(f"{url}/api/v2/silences", timeout=5).json())
