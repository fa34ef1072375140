"""The README's first steps, run as written: a newcomer's first five minutes cannot drift from
the program.

The shell blocks of "Send your first alert to a webhook" run in order in one bash, in a copy of
the checkout in a temporary folder (its `.venv` and the console's renderer are the checkout's
own, so `make run` installs nothing), with only CHATOPS_PORT chosen by the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from tests.conftest import REPOSITORY
from tests.helpers import free_port

SECTION = "## Send your first alert to a webhook"
COPIED = ("Makefile", "pyproject.toml", "README.md")


def shell_blocks(readme: str, heading: str) -> list[str]:
    """The ```sh blocks of one section, in order."""
    start = readme.index(heading)
    end = readme.find("\n## ", start + len(heading))
    section = readme[start : end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def test_send_your_first_alert_runs_as_written(tmp_path: Path) -> None:
    # The copy shares the checkout's .venv: `make run` must find it installed (as `make test`
    # leaves it), or it would reinstall the venv from the copy.
    installed = REPOSITORY / ".venv" / "bin" / ".runtime"
    assert installed.exists() and installed.stat().st_mtime >= (
        (REPOSITORY / "pyproject.toml").stat().st_mtime
    ), "run the suite with `make test`, which installs .venv first"
    readme = (REPOSITORY / "README.md").read_text()
    blocks = shell_blocks(readme, SECTION)
    assert len(blocks) == 2, "the section's shell blocks changed: check this test still runs them"
    clone = tmp_path / "chatops"
    clone.mkdir()
    for name in COPIED:
        shutil.copy2(REPOSITORY / name, clone / name)
    (clone / ".venv").symlink_to(REPOSITORY / ".venv")
    (clone / "web").mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(REPOSITORY / "web" / name, clone / "web" / name)
    if (REPOSITORY / "web" / "node_modules").exists():
        (clone / "web" / "node_modules").symlink_to(REPOSITORY / "web" / "node_modules")
    script = "set -e\n" + "\n".join(blocks)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CHATOPS_PORT": str(free_port()),
    }
    # Files, not pipes: the bot `make run &` leaves running holds them open after bash ends.
    with (tmp_path / "out").open("w") as out_file, (tmp_path / "err").open("w") as err_file:
        proc = subprocess.Popen(
            ["bash", "-c", script],
            cwd=clone,
            env=env,
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,  # the bot `make run &` starts is stopped with the group
        )
        try:
            proc.wait(timeout=120)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert proc.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    shown = json.loads(out.strip().splitlines()[-1])  # the last block: the alert just sent
    assert shown["title"] == "Disk 97% on db-1" and shown["dedup_key"] == "db-1-disk"
    assert [d["channel_type"] for d in shown["deliveries"]] == ["webhook"], shown["deliveries"]
    assert shown["deliveries"][0]["attempts"] >= 1  # tried (example.com may not resolve here)
    assert "Traceback" not in err


def test_every_setting_is_in_the_readme_table() -> None:
    from bot.infra.settings import PREFIX, Settings

    readme = (REPOSITORY / "README.md").read_text()
    table = readme[readme.index("| variable | meaning | default |") :]
    table = table[: table.index("\n\n")]
    missing = [
        PREFIX + name.upper()
        for name in Settings.model_fields
        if f"`{PREFIX}{name.upper()}`" not in table
    ]
    assert missing == [], f"settings missing from the README's table: {missing}"
    assert all(line.startswith("|") for line in table.splitlines())  # one table, unbroken
