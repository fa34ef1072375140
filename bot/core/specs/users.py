"""What a person asks for when they change how alerts reach one user: an override of an
integration type's defaults, as REST, chat (`/chatops settings`) and the configuration file's
`user_overrides` give it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.core.errors import InvalidRequest
from bot.core.specs import Strict


class OverrideSpec(Strict):
    """A user's override of an integration type's defaults; fields left out keep theirs."""

    integration_type: str | None = Field(
        default=None, description="SLACK, TEAMS, WEBHOOK, ... (REST's POST; the path's on PUT)"
    )
    enabled: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=1000)
    retry_count: int | None = Field(default=None, ge=0, le=1000)
    retry_delay_seconds: int | None = Field(default=None, ge=0, le=1000)
    config: dict[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        """The fields given (but the type), at least one."""
        values = self.model_dump(exclude={"integration_type"}, exclude_none=True)
        if not values:
            raise InvalidRequest(
                "give at least one of enabled, priority, retry_count, retry_delay_seconds, config"
            )
        return values
