"""Tenants as the chat platforms know them: workspaces and Entra tenants bound, the bot's own
integration in each, and who is an admin."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.core import audit
from bot.core.services import Services
from domain import By
from storage import admin
from storage import alerts as alerts_repo
from storage import config as config_repo
from storage import tenants as tenants_repo

log = logging.getLogger(__name__)

BINDING_SECONDS = 3600.0


async def slack_tenant(
    services: Services, team_id: str, own_team: Callable[[], Awaitable[str | None]] | None
) -> str | None:
    """Our tenant for a Slack workspace. A workspace not bound yet becomes `default` when it is
    the bot token's own (`own_team` says which that is); installed ones are bound at install."""

    async def bound() -> str | None:
        async with services.db.session() as session:
            return await tenants_repo.by_slack_team(session, team_id)

    # Every click and command asks this. A binding is never undone, so a found one is kept
    # until configuration changes; a workspace not bound is asked again each time.
    key = ("slack_team", team_id)
    tenant = await services.cache.get(key, bound, ttl=BINDING_SECONDS)
    if tenant is None:
        services.cache.forget(key)
    if tenant or own_team is None:
        return tenant
    if team_id != await own_team():
        return None
    async with services.db.session() as session, session.begin():
        await alerts_repo.ensure_tenant(session, "default")
        await tenants_repo.bind_slack(session, "default", team_id)
    services.cache.forget(key)
    return "default"


class TenantNotAllowed(Exception):
    """A Teams activity from an Entra tenant this bot does not serve."""


async def _teams_choice(services: Services, session: Any, entra: str) -> str | None:
    """The one rule of who is let in from Teams: our tenant for an Entra tenant, or None.

    `CHATOPS_TEAMS_TENANT_ID` is `default`; `CHATOPS_TEAMS_TENANTS` names others, each a
    tenant of its own; without a home tenant set, the Entra tenant bound to `default` (or
    the first to arrive while `default` has none) is `default`; the rest are refused."""
    settings = services.settings
    if entra == settings.teams_tenant_id:
        return "default"
    if entra in settings.teams_allowed:
        return settings.teams_allowed[entra]
    if settings.teams_tenant_id:
        return None
    if await tenants_repo.by_teams_tenant(session, entra) == "default":
        return "default"
    return "default" if await tenants_repo.teams_unbound(session, "default") else None


async def teams_tenant_allowed(services: Services, teams_tenant_id: str) -> bool:
    """Whether activities from this Entra tenant are let in; reads, binds nothing (the
    activity's token is not verified yet when this is asked)."""
    async with services.db.session() as session:
        return await _teams_choice(services, session, teams_tenant_id) is not None


async def teams_tenant(services: Services, teams_tenant_id: str) -> str:
    """Our tenant for a Teams (Entra) tenant, bound on first use; TenantNotAllowed for one
    this bot does not serve (see `_teams_choice`)."""
    async with services.db.session() as session, session.begin():
        ours = await _teams_choice(services, session, teams_tenant_id)
        if ours is None:
            raise TenantNotAllowed(
                f"Entra tenant {teams_tenant_id[:64]!r} is not served here "
                "(CHATOPS_TEAMS_TENANT_ID, or CHATOPS_TEAMS_TENANTS to let it in)"
            )
        await alerts_repo.ensure_tenant(session, ours)
        bound = await tenants_repo.bind_teams(session, ours, teams_tenant_id)
        if bound and ours == "default" and not services.settings.teams_tenant_id:
            log.warning(
                "the first Entra tenant to send an activity is now tenant default; "
                "set CHATOPS_TEAMS_TENANT_ID to choose it yourself",
                extra={"entra_tenant": teams_tenant_id},
            )
        return ours


async def chat_integration(
    services: Services, tenant: str, platform: str, *, create_as: str | None = None
) -> str | None:
    """The id of the tenant's own Slack or Teams integration; made when `create_as` names who."""
    async with services.db.session() as session, session.begin():
        if create_as is not None:
            await alerts_repo.ensure_tenant(session, tenant)
        row = await admin.chat_integration(session, tenant, platform, create_as=create_as)
        return row.id if row else None


async def keep_bot_token(
    services: Services, tenant: str, platform: str, secrets: dict[str, Any], create_as: str
) -> str:
    """Store a bot token as the tenant's chat integration, encrypted; its id."""
    credentials = services.keyring.encrypt(secrets)
    async with services.db.session() as session, session.begin():
        await alerts_repo.ensure_tenant(session, tenant)
        row = await admin.chat_integration(session, tenant, platform, create_as=create_as)
        assert row is not None
        changed = row.credentials is None or services.keyring.decrypt(row.credentials) != secrets
        row.credentials = credentials
        if changed:  # the token the settings give, kept the first time and when it changes
            by = By(create_as, platform)
            audit.record(session, tenant, by, "integration.token", {"integration": row.name})
        return row.id


@dataclass(frozen=True)
class SlackBot:
    """What Bolt needs to answer a workspace's requests."""

    team_name: str | None
    secrets: dict[str, Any]


async def slack_installed(
    services: Services, team_id: str, team_name: str, secrets: dict[str, Any]
) -> str:
    """A workspace installed the app: bind it (the first to `default`) and keep its token."""
    credentials = services.keyring.encrypt(secrets)
    async with services.configuring() as session:
        tenant = await tenants_repo.by_slack_team(session, team_id)
        if tenant is None:
            await alerts_repo.ensure_tenant(session, "default")
            if await tenants_repo.bind_slack(session, "default", team_id):
                tenant = "default"
            else:
                tenant = f"slack-{team_id}"
                await alerts_repo.ensure_tenant(session, tenant)
                await tenants_repo.bind_slack(session, tenant, team_id, name=team_name or team_id)
        row = await admin.chat_integration(session, tenant, "slack", create_as="slack install")
        assert row is not None
        row.config = {"team_id": team_id, "team_name": team_name}
        row.credentials = credentials
        row.is_active = True
        row.connection_status = "connected"
        row.connection_error = None
        audit.record(
            session,
            tenant,
            By(f"slack:install:{team_id}", "slack"),
            "integration.install",
            {"integration": row.name, "workspace": team_name or team_id},
        )
    return tenant


async def slack_bot(services: Services, team_id: str) -> SlackBot | None:
    """The installed bot of a workspace, its token decrypted, or None."""
    async with services.db.session() as session:
        row = await tenants_repo.slack_bot(session, team_id)
    if row is None:
        return None
    return SlackBot((row.config or {}).get("team_name"), services.keyring.decrypt(row.credentials))


async def is_listed_admin(services: Services, tenant: str, platform: str, user_id: str) -> bool:
    """Whether an admin of this tenant listed this person as an admin."""
    async with services.db.session() as session:
        return await config_repo.is_listed_admin(session, tenant, platform, user_id)


async def listed_admins(services: Services, tenant: str) -> list[tuple[str, str]]:
    """(platform, user id) of every listed admin."""
    async with services.db.session() as session:
        return await config_repo.listed_admins(session, tenant)


async def change_admin(
    services: Services, tenant: str, platform: str, user_id: str, *, add: bool, actor: str
) -> None:
    """List or unlist an admin, audited."""
    async with services.db.session() as session, session.begin():
        listed = await config_repo.is_listed_admin(session, tenant, platform, user_id)
        if add and not listed:
            await tenants_repo.add_admin(session, tenant, platform, user_id, actor)
        elif not add and listed:
            await tenants_repo.remove_admin(session, tenant, platform, user_id)
        session.add(
            alerts_repo.audit_row(
                tenant,
                f"admins.{'add' if add else 'remove'}",
                actor,
                platform,
                {"user": user_id},
            )
        )
