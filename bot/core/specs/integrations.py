"""What a person asks for when they add or change an integration, and the record core answers
with: every plain setting, each secret masked (core decrypts nothing for a reader)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.core.specs import DateTime, Strict

MAX_SYNC_INTERVAL = 7 * 24 * 60  # minutes: a week
# the configuration file writes the sync settings as one mapping, `sync: {enabled, ...}`
FILE_SYNC = {
    "enabled": "sync_enabled",
    "interval_minutes": "sync_interval",
    "direction": "sync_direction",
}
# set over REST only: the configuration file neither writes nor reads them
API_ONLY = (
    "credentials_expire_at",
    "allowed_shard_types",
    "searchable_entities",
    "search_enabled",
    "search_filters",
)


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
    is_active: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("is_active", "enabled"),
        description="false: nothing is sent through it (`enabled` is another name for it)",
    )
    sync_enabled: bool | None = None
    sync_interval: int | None = Field(
        default=None, description=f"minutes between syncs, 1 to {MAX_SYNC_INTERVAL}"
    )
    sync_direction: Literal["inbound", "outbound", "both"] | None = None
    credentials_expire_at: DateTime | None = None
    allowed_shard_types: list[str] | None = None
    searchable_entities: list[str] | None = None
    search_enabled: bool | None = None
    search_filters: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _file_sync(cls, data: Any) -> Any:
        """The file's `sync: {enabled, interval_minutes, direction}`, read as the fields."""
        if not isinstance(data, dict) or "sync" not in data:
            return data
        data = dict(data)
        sync = data.pop("sync")
        fields = ", ".join(FILE_SYNC)
        if not isinstance(sync, dict):
            raise PydanticCustomError("sync", "sync: a mapping of {fields}", {"fields": fields})
        for key, value in sync.items():
            if key not in FILE_SYNC:
                raise PydanticCustomError(
                    "sync",
                    "sync.{key}: not a field here (the fields: {fields})",
                    {"key": str(key), "fields": fields},
                )
            data[FILE_SYNC[key]] = value
        return data


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
    sync_direction: str | None
    credentials_expire_at: datetime | None
    created_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
