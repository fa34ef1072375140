"""`chatops config export|apply|import-alertmanager`: configuration as code from the command
line (a local file or s3://)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.core.errors import InvalidRequest
from bot.core.services import Services


async def run(args: argparse.Namespace, services: Services) -> int:
    from bot.core import config_files
    from bot.core.config_export import export_document, to_yaml
    from bot.core.config_reading import ConfigError

    endpoint = services.settings.s3_endpoint_url
    try:
        if args.action == "apply":
            return await apply_file(
                services, args.location, args.prune, args.tenant, args.dry_run, args.yes
            )
        if args.action == "import-alertmanager":
            return await _import_alertmanager(args, endpoint)
        text = to_yaml(await export_document(services.db, services.keyring, args.tenant))
        if args.output:
            await config_files.write(args.output, text, endpoint)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except ConfigError as exc:
        raise InvalidRequest(str(exc)) from None
    return 0


async def _import_alertmanager(args: argparse.Namespace, endpoint: str | None) -> int:
    """`config import-alertmanager`: the file on standard output (or --output), and on
    standard error the variables to set and what was not carried over."""
    from bot.core import config_files
    from bot.core.config_export import to_yaml
    from bot.core.config_import import HEADER, from_alertmanager, report

    raw = await config_files.read(args.location, endpoint)
    imported = from_alertmanager(raw, args.location, args.tenant)
    name = args.location.rsplit("/", 1)[-1]
    text = to_yaml(imported.document, HEADER.format(source=name))
    if args.output:
        await config_files.write(args.output, text, endpoint)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    sys.stderr.write(report(imported))
    return 0


async def apply_file(
    services: Services,
    location: str,
    prune: bool,
    tenant: str | None,
    dry_run: bool,
    yes: bool = False,
) -> int:
    """Read, check and apply a configuration file, printing the plan; ConfigError if it
    cannot be applied (then nothing changed). A prune that deletes anything is shown first
    and asked about on a terminal, and needs `yes` otherwise."""
    from bot.core import config_apply, config_files, config_reading

    raw = await config_files.read(location, services.settings.s3_endpoint_url)
    document = config_reading.parse(raw, location)

    async def run(dry: bool) -> config_apply.Outcome:
        return await config_apply.apply(
            services,
            document,
            source=location,
            prune=prune,
            tenant=tenant,
            dry_run=dry,
            env=os.environ,  # the operator's own environment fills the file's variables
        )

    if prune and not dry_run and not yes:
        plan = await run(True)
        deletions = [c for c in plan.changes if c.op == "-"]
        if deletions:
            if not sys.stdin.isatty():
                raise InvalidRequest(
                    f"--prune would delete {len(deletions)} thing(s) (see them with "
                    "--dry-run); add --yes to apply without a terminal to ask on"
                )
            for line in plan.lines():
                print(line)
            question = f"Apply, deleting {len(deletions)} of these? [y/N] "
            answer = (await asyncio.to_thread(input, question)).strip().lower()
            if answer not in ("y", "yes"):
                print("nothing changed", file=sys.stderr)
                return 1
    outcome = await run(dry_run)
    for line in outcome.lines():
        print(line)
    if outcome.changes:
        done = "would be made (dry run)" if dry_run else "made"
        print(f"{len(outcome.changes)} change(s) {done}", file=sys.stderr)
    return 0
