"""Tenants and who acts in them: admins, API keys, the instance's secrets, console sign-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, UtcDateTime, new_id, utcnow


class Tenant(Base):
    """A workspace or organisation; every other row belongs to one."""

    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    teams_tenant_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    admin_channel_id: Mapped[str | None] = mapped_column(String(32))  # where notices go first
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TenantAdmin(Base):
    """A person an admin made an admin of this tenant, on one chat platform."""

    __tablename__ = "tenant_admins"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    """A REST API key of one tenant: its name is the actor, its scope what it may do."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown, and used to find it
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the secret part, hex
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InstanceSecret(Base):
    """A value every process of one installation shares: the fingerprint of the encryption
    key the stored secrets were written with, the console's session signing key."""

    __tablename__ = "instance_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConsoleSignout(Base):
    """A console session ended on the server: its cookie is refused until it would expire."""

    __tablename__ = "console_signouts"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
