"""Heartbeats from chat: `heartbeats` lists them with their state; `heartbeat pause <name>
[<duration>]` and `heartbeat resume <name>` (anyone who works alerts, audited); `heartbeat add
<name> <interval> [grace] [PRIORITY]` and `heartbeat remove <name>` (admins)."""

from __future__ import annotations

from bot.chat.grammar import CommandError, Context
from bot.core import heartbeats
from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.core.specs import parse
from bot.core.specs.noise import HeartbeatSpec
from cards.style import spoken_utc
from domain import Priority

USAGE = (
    "heartbeats | heartbeat add <name> <interval> [<grace>] [<PRIORITY>] | "
    "heartbeat pause <name> [<duration>] | heartbeat resume <name> | heartbeat remove <name>"
)
MARKS = {"up": "💚", "waiting": "⏳", "missed": "🔴", "paused": "⏸️"}


async def heartbeats_command(ctx: Context, args: list[str]) -> str:
    """Every heartbeat, its state and last ping."""
    found = await heartbeats.listed(ctx.services, ctx.tenant)
    if not found:
        return "No heartbeats. An admin adds one: `heartbeat add backup-job 15m 5m`."
    return "\n".join(_line(h) for h in found)


async def heartbeat_command(ctx: Context, args: list[str]) -> str:
    if not args:
        raise CommandError(f"Type `{USAGE}`.")
    verb, rest = args[0].lower(), args[1:]
    try:
        if verb in ("add", "remove") and not ctx.is_admin:
            raise CommandError("Only admins add or remove heartbeats.")
        if verb == "add":
            return await _add(ctx, rest)
        if verb == "remove" and len(rest) == 1:
            await heartbeats.remove(ctx.services, ctx.tenant, rest[0], ctx.by)
            return f"Heartbeat `{rest[0]}` removed."
        if verb == "pause" and len(rest) in (1, 2):
            paused = await heartbeats.pause(
                ctx.services, ctx.tenant, rest[0], ctx.by, rest[1] if len(rest) == 2 else None
            )
            ends = spoken_utc(paused["paused_until"])
            until = "until resumed" if len(rest) == 1 else f"until {ends}"
            return f"Heartbeat `{rest[0]}` paused {until}: no alert if it misses meanwhile."
        if verb == "resume" and len(rest) == 1:
            await heartbeats.resume(ctx.services, ctx.tenant, rest[0], ctx.by)
            return f"Heartbeat `{rest[0]}` watched again; its silence counts from now."
    except (InvalidRequest, NotFound, Conflict) as exc:
        raise CommandError(f"{exc}.") from None
    raise CommandError(f"Type `{USAGE}`.")


async def _add(ctx: Context, rest: list[str]) -> str:
    if not 2 <= len(rest) <= 4:
        raise CommandError("Type `heartbeat add <name> <interval> [<grace>] [<PRIORITY>]`.")
    body: dict[str, str] = {"name": rest[0], "interval": rest[1]}
    for extra in rest[2:]:
        body["priority" if extra.upper() in Priority.__members__ else "grace"] = extra
    try:
        spec = parse(HeartbeatSpec, body)
    except InvalidRequest as exc:
        raise CommandError(f"{exc}.") from None
    made, _secret = await heartbeats.create(ctx.services, ctx.tenant, spec, ctx.by)
    base = ctx.services.settings.public_url.rstrip("/")
    return (  # a chat message may be read by many: its secret ping URL is not shown here
        f"Heartbeat `{made['name']}` added: expected every {made['interval']} "
        f"(grace {made['grace']}, {made['priority']}). Ping it with an API key at "
        f"`{base}/hooks/heartbeats/{made['name']}`; for a URL that needs no key, add it "
        "over REST (`POST /api/v1/heartbeats` answers with its secret `ping_url`)."
    )


def _line(found: dict[str, object]) -> str:
    state = str(found["state"])
    last = found["last_ping_at"]
    seen = f"last ping {spoken_utc(str(last))}" if last else "never pinged"
    return (
        f"{MARKS.get(state, '')} `{found['name']}` {state}: every {found['interval']} "
        f"(grace {found['grace']}), {seen}"
    )
