"""The chat grammar shared by Slack (`/chatops ...`) and Teams (`@ChatOps ...`).

A command is a handler in a table that `bot/chat/handlers.py` builds explicitly::

    async def status(ctx: Context, args: list[str]) -> str:
        return "All quiet."

    COMMANDS = table(Command("status", status, usage="status"), ...)
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.core.integrations.channels import Place
from bot.core.services import Services
from domain import By
from domain.acting import Actor

Handler = Callable[["Context", list[str]], Awaitable[str]]


@dataclass(frozen=True)
class Context:
    """Who typed the command, where, and whether they may change things."""

    services: Services
    actor: Actor
    tenant: str
    platform: str
    channel_id: str
    channel_name: str
    is_admin: bool
    integration_id: str | None = None  # the chat platform's own integration in this tenant
    open_form: Callable[[str], Awaitable[str]] | None = None  # shows the add-integration form
    # shows the report's chart for a window (7d, 30d) where the command was typed; what to say
    share_chart: Callable[[str], Awaitable[str]] | None = None

    @property
    def who(self) -> str:
        """The actor as audit rows and created_by columns name them: `platform:id`."""
        return f"{self.platform}:{self.actor.id}"

    @property
    def by(self) -> By:
        """Who the audit says made a change from this command."""
        return By(self.who, self.platform)

    @property
    def place(self) -> Place:
        """Where the command was typed, as the channel service knows places."""
        return Place(
            self.tenant, self.platform, self.channel_id, self.channel_name, self.integration_id
        )


@dataclass(frozen=True)
class Command:
    """A registered command: its handler, whether it changes things, and its usage line."""

    name: str
    handler: Handler
    usage: str
    admin: bool = False
    free_text: bool = False  # its last argument is the rest of the line, as typed (a note)


Table = Mapping[str, Command]


def table(*commands: Command) -> Table:
    """Commands by name, in the order help lists them."""
    return {c.name: c for c in commands}


WORD_MAX = 50  # every name, id, glob and setting a command takes fits the columns it lands in


class CommandError(Exception):
    """A mistake in what was typed; the message says how to type it."""


def split(text: str) -> list[str]:
    """Words of a command line; quotes group words."""
    try:
        return shlex.split(text.strip())
    except ValueError:
        return text.split()


def suggest(word: str, commands: Table) -> str:
    """The closest command name, to offer when someone mistypes."""
    close = difflib.get_close_matches(word, list(commands), n=1, cutoff=0.4)
    return close[0] if close else "help"


async def run(ctx: Context, text: str, commands: Table) -> str:
    """Parse and run a command line; every answer is text for the person who typed it."""
    text = text.replace("\x00", "")
    words = split(text)
    if not words:
        words = ["help"]
    free = commands.get(words[0].lower())
    if free is not None and free.free_text:  # `note <alert> <any text>`: not split into words
        words = text.strip().split(None, 2)
    checked = words[:2] if free is not None and free.free_text else words
    long = next((w for w in checked if len(w) > WORD_MAX), None)
    if long is not None:
        return (
            f"`{long[:20]}…` is {len(long)} characters long; names, ids and globs are at most "
            f"{WORD_MAX}. Try `help`."
        )
    name, args = words[0].lower(), words[1:]
    if name in ("ack", "acknowledge"):
        name = "ack"
    found = commands.get(name)
    if found is None:
        return (
            f"Unknown command `{name[:40]}`. Did you mean `{suggest(name, commands)}`? Try `help`."
        )
    needs_admin = found.admin or (
        name in WRITE_SUBCOMMANDS and args[:1] and args[0].lower() in WRITE_SUBCOMMANDS[name]
    )
    if needs_admin and not ctx.is_admin:
        return (
            "Sorry, only admins can change that. You can still read: try `status`, "
            "`routes` or `integrations list`."
        )
    try:
        return await found.handler(ctx, args)
    except CommandError as exc:
        return f"{exc} Usage: `{found.usage}`"


# Subcommands that change things, for commands whose reading forms anyone may use.
WRITE_SUBCOMMANDS: dict[str, set[str]] = {
    "integrations": {"add", "test", "enable", "disable", "remove", "sync"},
}


def help_text(commands: Table) -> str:
    """Every command with its usage."""
    lines = ["*ChatOps commands*"]
    lines += [f"• `{c.usage}`" for c in commands.values()]
    return "\n".join(lines)
