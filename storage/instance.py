"""Values shared by every process of one installation, created once by whichever comes first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema import ConsoleSignout, InstanceSecret


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


async def sign_out(session: AsyncSession, session_id: str, until: datetime, now: datetime) -> None:
    """End a console session for good; ended ones past their expiry are forgotten."""
    await session.execute(delete(ConsoleSignout).where(ConsoleSignout.until < now))
    if await session.get(ConsoleSignout, session_id) is None:
        session.add(ConsoleSignout(session_id=session_id, until=until))


async def signed_out(session: AsyncSession, session_id: str) -> bool:
    """Whether a console session was ended on the server."""
    return await session.get(ConsoleSignout, session_id) is not None
