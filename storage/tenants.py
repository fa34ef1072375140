"""Tenants and what binds them: a Slack workspace, a Teams (Entra) tenant, the listed admins."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.admin import CHAT_INTEGRATIONS
from storage.schema import Integration, Tenant, TenantAdmin


async def by_slack_team(session: AsyncSession, team_id: str) -> str | None:
    """The tenant a Slack workspace is bound to."""
    found = await session.scalar(select(Tenant.id).where(Tenant.slack_team_id == team_id))
    return str(found) if found else None


async def by_teams_tenant(session: AsyncSession, teams_tenant: str) -> str | None:
    """The tenant a Teams (Entra) tenant is bound to."""
    found = await session.scalar(select(Tenant.id).where(Tenant.teams_tenant_id == teams_tenant))
    return str(found) if found else None


async def bind_slack(
    session: AsyncSession, tenant: str, team_id: str, *, name: str | None = None
) -> bool:
    """Bind a workspace to a tenant not bound to one yet; whether it was."""
    values: dict[str, str] = {"slack_team_id": team_id}
    if name:
        values["name"] = name
    result = await session.execute(
        update(Tenant).where(Tenant.id == tenant, Tenant.slack_team_id.is_(None)).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def teams_unbound(session: AsyncSession, tenant: str) -> bool:
    """Whether a tenant has no Teams tenant bound (or does not exist yet)."""
    bound = await session.scalar(select(Tenant.teams_tenant_id).where(Tenant.id == tenant))
    return bound is None


async def bind_teams(session: AsyncSession, tenant: str, teams_tenant: str) -> bool:
    """Bind a Teams tenant to a tenant not bound to one yet; whether it was."""
    result = await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant, Tenant.teams_tenant_id.is_(None))
        .values(teams_tenant_id=teams_tenant)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def slack_bot(session: AsyncSession, team_id: str) -> Integration | None:
    """The active Slack integration of the tenant a workspace is bound to."""
    query = (
        select(Integration)
        .join(Tenant, Tenant.id == Integration.tenant_id)
        .where(
            Tenant.slack_team_id == team_id,
            Integration.type == "slack",
            Integration.name == CHAT_INTEGRATIONS["slack"],
            Integration.is_active.is_(True),
        )
    )
    return (await session.scalars(query)).first()


async def add_admin(
    session: AsyncSession, tenant: str, platform: str, user_id: str, added_by: str
) -> None:
    """List a person as an admin of the tenant."""
    session.add(
        TenantAdmin(tenant_id=tenant, platform=platform, user_id=user_id, added_by=added_by)
    )


async def remove_admin(session: AsyncSession, tenant: str, platform: str, user_id: str) -> None:
    """Take a person off the tenant's admin list."""
    await session.execute(
        delete(TenantAdmin).where(
            TenantAdmin.tenant_id == tenant,
            TenantAdmin.platform == platform,
            TenantAdmin.user_id == user_id,
        )
    )
