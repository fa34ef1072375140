"""What a person asks for when they add or change an integration, and the record core answers
with: every plain setting, each secret masked (core decrypts nothing for a reader)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bot.core.specs import DateTime, Strict

MAX_SYNC_INTERVAL = 7 * 24 * 60  # minutes: a week


class IntegrationChange(Strict):
    """The fields to change; a field left out stays as it is, and settings left out (secrets
    too) keep their values."""

    model_config = ConfigDict(populate_by_name=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    settings: dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("settings", "config"),
        description="the type's settings (`config` is another name for it)",
    )
    is_active: bool | None = None
    sync_enabled: bool | None = None
    sync_interval: int | None = Field(
        default=None, description=f"minutes between syncs, 1 to {MAX_SYNC_INTERVAL}"
    )
    credentials_expire_at: DateTime | None = None
    allowed_shard_types: list[str] | None = None
    searchable_entities: list[str] | None = None
    search_enabled: bool | None = None
    search_filters: dict[str, Any] | None = None


class IntegrationSpec(IntegrationChange):
    """A new integration of a type (`GET /api/v1/integration-types`) with its settings;
    secrets among them are encrypted and never shown again."""

    type: str = Field(description="an integration type id (GET /api/v1/integration-types)")
    name: str = Field(min_length=1, max_length=255)


class IntegrationRecord(BaseModel):
    """A stored integration as every transport reads it: its settings with secrets masked
    (a URL that is itself a secret by its host), never the row or a secret."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    name: str
    type: str
    description: str | None
    settings: dict[str, Any]
    is_active: bool
    status: str | None
    audience: str | None
    capabilities: list[str]
    connection_status: str | None
    connection_error: str | None
    last_connection_test_at: datetime | None
    last_connection_test_result: str | None
    last_sync_at: datetime | None
    last_error: str | None
    sync_enabled: bool
    sync_interval: int | None
    credentials_expire_at: datetime | None
    created_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
