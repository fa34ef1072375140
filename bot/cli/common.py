"""What every `chatops` subcommand shares: exit codes, the one-line usage error, the parser."""

from __future__ import annotations

import argparse
import getpass
from typing import NoReturn

from domain import By

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def cli_by() -> By:
    """Who a CLI change is audited as: `cli:<login>`."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        login = "unknown"
    return By(f"cli:{login}", "cli")


class UsageError(Exception):
    """Bad usage or input: exit 2 with this one line."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")
