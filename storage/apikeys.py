"""API keys: stored by prefix and digest, returned without either secret part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import ApiKeyInfo, Scope
from storage.admin import Conflict
from storage.alerts import ensure_tenant
from storage.schema import ApiKey


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        scope=Scope(row.scope),
        prefix=row.prefix,
        created_by=row.created_by,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


async def create(
    session: AsyncSession,
    *,
    tenant: str,
    name: str,
    scope: Scope,
    prefix: str,
    digest: str,
    created_by: str,
) -> ApiKeyInfo:
    """Store a new key; Conflict when the tenant already has a key of that name."""
    await ensure_tenant(session, tenant)
    await session.execute(  # a revoked key's name may be used again
        delete(ApiKey).where(
            ApiKey.tenant_id == tenant, ApiKey.name == name, ApiKey.revoked_at.is_not(None)
        )
    )
    row = ApiKey(
        tenant_id=tenant,
        name=name,
        scope=scope.value,
        prefix=prefix,
        digest=digest,
        created_by=created_by,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"tenant {tenant!r} already has a key named {name!r}") from None
    return _info(row)


async def by_prefix(session: AsyncSession, prefix: str) -> tuple[ApiKeyInfo, str] | None:
    """The live key with this prefix and its digest, to compare with what was sent."""
    row = await session.scalar(
        select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    )
    return (_info(row), row.digest) if row is not None else None


async def listed(session: AsyncSession, tenant: str | None) -> list[ApiKeyInfo]:
    """Every key, or a tenant's, oldest first; revoked ones included."""
    query = select(ApiKey).order_by(ApiKey.created_at)
    if tenant is not None:
        query = query.where(ApiKey.tenant_id == tenant)
    return [_info(r) for r in (await session.scalars(query)).all()]


async def revoke(session: AsyncSession, tenant: str, name: str, now: datetime) -> bool:
    """Revoke a live key by tenant and name; False when there is none."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant, ApiKey.name == name, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
