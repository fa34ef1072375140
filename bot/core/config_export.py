"""`chatops config export`: the whole configuration as one YAML document, secrets left out.

Names tie things together (a channel names its integration, a route its channel), never
database ids, and nothing carries a timestamp, so two exports of the same setup are identical
and a diff shows exactly what changed. Each secret appears as `${CHATOPS_SECRET_<NAME>}`, to be
given through the environment when the file is applied.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml
from sqlalchemy import select

from adapters.egress import has_userinfo
from adapters.registry import TYPES
from bot.core import config_heartbeats, config_noise, config_oncall
from bot.core.specs.routes import route_entry_of, route_info
from bot.infra.secrets import Keyring
from cards.redact import is_url
from storage import admin
from storage import config as config_repo
from storage.db import Database
from storage.schema import Channel, Integration, Route, Tenant

HEADER = """\
# ChatOps configuration, written by `chatops config export`.
# Integrations, channels, routes, preferences and admins, per tenant; names tie them together.
# Secrets are never written: each is ${CHATOPS_SECRET_<NAME>}, to be set in the environment
# when this file is applied.
"""


Owner = tuple[str, str]  # ("integration" or "channel", its name)


def _spelled(name: str) -> str:
    """A name as part of a variable: upper case, punctuation and spaces as `_`."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "X"


def variable_owners(owners: list[Owner], tenant: str = "default") -> dict[Owner, str]:
    """Each owner's part of its variables' names, distinct within the tenant.

    Names that spell the same (`ops hook`, `ops-hook`, `Ops.Hook`) are told apart: the first
    in sorted order keeps the plain spelling, the others add a short hash of their own name.
    A tenant other than `default` leads the name, so tenants never share a variable."""
    prefix = "" if tenant == "default" else f"{_spelled(tenant)}_"
    spelled: dict[Owner, str] = {}
    taken: set[str] = set()
    for kind, name in sorted(owners, key=lambda o: (o[1], o[0])):
        plain = _spelled(f"channel {name}") if kind == "channel" else _spelled(name)
        if plain in taken:
            plain = f"{plain}_{hashlib.sha256(f'{kind}:{name}'.encode()).hexdigest()[:8].upper()}"
        taken.add(plain)
        spelled[(kind, name)] = prefix + plain
    return spelled


def secret_variable(owner: str, setting: str) -> str:
    """The environment variable a secret is read from: its owner's part, then the setting."""
    return f"CHATOPS_SECRET_{owner}_{setting.upper()}"


def integration_entry(row: Integration, keyring: Keyring, owner: str) -> dict[str, Any]:
    """One integration: plain settings as they are, secrets (and a URL's `user:password@`,
    which is one) as variables."""
    secret_names = sorted(keyring.decrypt(row.credentials))
    known = {s.name: s for s in TYPES[row.type].settings} if row.type in TYPES else {}
    settings: dict[str, Any] = {}
    for name in sorted({*(row.config or {}), *secret_names}):
        plain = (row.config or {}).get(name)
        if (
            name in secret_names
            or (name in known and known[name].secret)
            or (isinstance(plain, str) and "://" in plain and has_userinfo(plain))
        ):
            settings[name] = "${" + secret_variable(owner, name) + "}"
        else:
            settings[name] = plain
    entry: dict[str, Any] = {"name": row.name, "type": row.type, "enabled": row.is_active}
    if row.description:
        entry["description"] = row.description
    entry["settings"] = settings
    entry["sync"] = {
        "enabled": row.sync_enabled,
        "interval_minutes": row.sync_interval,
        "direction": row.sync_direction,
    }
    return entry


def channel_entry(row: Channel, integrations: dict[str, str], owner: str) -> dict[str, Any]:
    """One channel, naming its integration; a target that is a URL (whoever holds it may
    post there) is a variable, like a secret setting."""
    entry: dict[str, Any] = {"name": row.name, "type": row.type}
    if row.integration_id:
        entry["integration"] = integrations.get(row.integration_id, row.integration_id)
    if row.target:
        entry["target"] = (
            "${" + secret_variable(owner, "target") + "}" if is_url(row.target) else row.target
        )
    entry["rate_per_minute"] = row.rate_per_minute
    if not row.is_active:
        entry["enabled"] = False
    if row.config:  # how to reach it (a Teams conversation's service URL), never a secret
        entry["config"] = dict(sorted(row.config.items()))
    return entry


def route_entry(row: Route, channels: dict[str, str]) -> dict[str, Any]:
    """One route, naming its channel; fields at their defaults are left out."""
    return route_entry_of(route_info(row), channels.get(row.channel_id, row.channel_id))


async def export_document(db: Database, keyring: Keyring, tenant: str | None) -> dict[str, Any]:
    """The configuration of every tenant (or one), as plain data in a stable order."""
    async with db.session() as session:
        ids = (
            [tenant]
            if tenant
            else list((await session.scalars(select(Tenant.id).order_by(Tenant.id))).all())
        )
        document: dict[str, Any] = {"version": 1}
        stored = await config_repo.stored_defaults(session)
        if stored and tenant is None:
            document["integration_defaults"] = {k: stored[k] for k in sorted(stored)}
        tenants: dict[str, Any] = {}
        for tid in ids:
            integrations = await admin.integrations(session, tid)
            channels = await admin.channels(session, tid)
            routes = await admin.routes(session, tid)
            names = {i.id: i.name for i in integrations}
            channel_names = {c.id: c.name for c in channels}
            entry: dict[str, Any] = {}
            admins = await config_repo.listed_admins(session, tid)
            if admins:
                entry["admins"] = [f"{p}:{u}" for p, u in admins]
            admin_channel = await config_repo.admin_channel(session, tid)
            if admin_channel in channel_names:
                entry["admin_channel"] = channel_names[admin_channel]
            prefs = await config_repo.preferences(session, tid)
            if prefs is not None:
                entry["preferences"] = prefs
            owners = variable_owners(
                [("integration", i.name) for i in integrations]
                + [("channel", c.name) for c in channels],
                tid,
            )
            entry["integrations"] = [
                integration_entry(i, keyring, owners[("integration", i.name)]) for i in integrations
            ]
            entry["channels"] = [
                channel_entry(c, names, owners[("channel", c.name)]) for c in channels
            ]
            await config_oncall.export(session, tid, entry)
            await config_noise.export(session, tid, entry)
            await config_heartbeats.export(session, tid, entry)
            entry["routes"] = [route_entry(r, channel_names) for r in routes]
            overrides = await config_repo.all_overrides(session, tid)
            if overrides:
                entry["user_overrides"] = overrides
            tenants[tid] = entry
        document["tenants"] = tenants
    return document


def to_yaml(document: dict[str, Any], header: str = HEADER) -> str:
    """The document as YAML with its header; keys keep the order they were built in."""
    body: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return header + body
