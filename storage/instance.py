"""Values shared by every process of one installation, created once by whichever comes first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema import InstanceSecret


async def get(session: AsyncSession, name: str) -> str | None:
    """The stored value, or None."""
    return await session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == name))


async def get_or_create(session: AsyncSession, name: str, value: str) -> str:
    """The stored value; `value` stored first when there is none (the first process wins a race)."""
    stored = await get(session, name)
    if stored is not None:
        return stored
    try:
        async with session.begin_nested():
            session.add(InstanceSecret(name=name, value=value))
    except IntegrityError:
        stored = await get(session, name)
        assert stored is not None
        return stored
    return value


async def put(session: AsyncSession, name: str, value: str) -> None:
    """Store `value` under `name`, replacing what was there."""
    row = await session.get(InstanceSecret, name)
    if row is None:
        session.add(InstanceSecret(name=name, value=value))
    else:
        row.value = value
