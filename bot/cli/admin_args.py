"""The command line of the admin commands: integrations, channels, routes, keys, config and
audit, with their actions and options."""

from __future__ import annotations

from typing import Any

from bot.core.integrations import catalog
from domain import Scope


def add_admin_commands(sub: Any) -> None:
    """Register the admin subcommands on the top-level parser."""
    integ = sub.add_parser(
        "integrations", help="list, add, show, test, sync, logs, enable, disable, remove"
    )
    isub = integ.add_subparsers(dest="action", metavar="ACTION")
    isub.add_parser("list", help="every integration, secrets masked")
    add = isub.add_parser("add", help="add an integration; secret settings are prompted for")
    add.add_argument("type", choices=catalog.type_ids())
    add.add_argument("--name", required=True)
    add.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a non-secret setting; repeatable",
    )
    add.add_argument(
        "--secrets-stdin",
        action="store_true",
        help="read secret settings as NAME=VALUE lines from standard input",
    )
    for verb in ("show", "test", "enable", "disable", "remove"):
        p = isub.add_parser(verb, help=f"{verb} an integration by name or id")
        p.add_argument("name")
    isync = isub.add_parser("sync", help="run an integration's sync now and print what it did")
    isync.add_argument("name")
    isync.add_argument("--incremental", action="store_true", help="from the last cursor only")
    ilogs = isub.add_parser("logs", help="an integration's sync history, newest first")
    ilogs.add_argument("name")
    ilogs.add_argument("--limit", type=int, default=20)
    for p in (integ, *isub.choices.values()):
        p.add_argument("--tenant", default="default")

    chan = sub.add_parser("channels", help="destinations that routes send to")
    csub = chan.add_subparsers(dest="action", metavar="ACTION")
    csub.add_parser("list")
    cadd = csub.add_parser("add", help="a destination of an integration")
    cadd.add_argument("name")
    cadd.add_argument("--integration", required=True, help="integration name or id")
    cadd.add_argument("--target", default="", help="e.g. a webhook URL or a Slack channel id")
    cadd.add_argument("--rate-per-minute", type=int)
    crm = csub.add_parser("remove")
    crm.add_argument("name")
    for p in (chan, *csub.choices.values()):
        p.add_argument("--tenant", default="default")

    routes = sub.add_parser("routes", help="which alerts go to which channel")
    rsub = routes.add_subparsers(dest="action", metavar="ACTION")
    rsub.add_parser("list")
    radd = rsub.add_parser("add", help="send matching alerts to a channel")
    radd.add_argument("channel", help="channel name or id")
    radd.add_argument("--event", dest="event_glob", help="event-type glob (default *)")
    radd.add_argument("--min", dest="min_priority", help="minimum priority (default INFO)")
    radd.add_argument("--stakeholder", action="append", default=[])
    radd.add_argument("--source", dest="source_glob", help="source glob (default *)")
    radd.add_argument("--user", dest="user_id")
    radd.add_argument("--level", dest="escalation_level", type=int)
    radd.add_argument("--default", action="store_true", help="only for alerts no other route takes")
    radd.add_argument(
        "--actions",
        help="the verbs its cards offer, comma-separated (default: all), e.g. acknowledge,resolve",
    )
    rrm = rsub.add_parser("remove")
    rrm.add_argument("route_id")
    for p in (routes, *rsub.choices.values()):
        p.add_argument("--tenant", default="default")

    conf = sub.add_parser("config", help="the whole configuration as one YAML file")
    csub2 = conf.add_subparsers(dest="action", metavar="ACTION")
    export = csub2.add_parser("export", help="write integrations, channels, routes, preferences")
    export.add_argument(
        "--output", help="a file or s3://bucket/key to write (default: standard output)"
    )
    export.add_argument("--tenant", help="one tenant only (default: every tenant)")
    apply = csub2.add_parser("apply", help="make the database match a file; prints the plan")
    apply.add_argument("location", help="the file, or s3://bucket/key")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    apply.add_argument(
        "--prune",
        action="store_true",
        help="also delete what the file does not name (asks first on a terminal)",
    )
    apply.add_argument(
        "--yes", action="store_true", help="with --prune: delete without asking (for scripts)"
    )
    apply.add_argument("--tenant", help="apply one tenant of the file only")
    imported = csub2.add_parser(
        "import-alertmanager",
        help="turn an Alertmanager configuration into this bot's file; says what it left out",
    )
    imported.add_argument("location", help="alertmanager.yml, or s3://bucket/key")
    imported.add_argument("--output", help="the file to write (default: standard output)")
    imported.add_argument("--tenant", default="default", help="the tenant the file is for")

    keys = sub.add_parser("keys", help="encryption keys for stored secrets, and REST API keys")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    ksub.add_parser("generate", help="print a new key to put first in CHATOPS_SECRET_KEY")
    ksub.add_parser("rotate", help="re-encrypt every stored secret with the newest key")
    api = ksub.add_parser("api", help="REST API keys: one tenant each, shown once, stored hashed")
    asub = api.add_subparsers(dest="api_action", required=True, metavar="ACTION")
    create = asub.add_parser("create", help="make a key and print it (the only time it is shown)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", required=True, help="the actor its calls are audited as")
    create.add_argument("--scope", required=True, choices=[s.value for s in Scope])
    listing = asub.add_parser("list", help="keys with tenant, scope and prefix; never the secret")
    listing.add_argument("--tenant", help="one tenant's keys only")
    revoke = asub.add_parser("revoke", help="revoke a key by tenant and name, at once")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("--name", required=True)

    trail = sub.add_parser("audit", help="who changed or did what, newest first")
    trail.add_argument("--since", default="1d", help="a duration back (1d, 4h) or an ISO time")
    trail.add_argument("--tenant", help="one tenant only (default: every tenant)")
    trail.add_argument("--actor", help="one actor only (slack:U123, key:ci, cli:ana...)")
    trail.add_argument("--kind", help="a kind (integration.create) or its first word (route)")
    trail.add_argument("--limit", type=int, default=100, help="at most this many (1-500)")
    trail.set_defaults(action="list")
