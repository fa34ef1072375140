"""Adding an integration from a chat form: the fields from the registry, the submit validated."""

from __future__ import annotations

from typing import Any

from adapters.registry import TYPES
from bot.core.errors import InvalidRequest
from bot.core.integrations import admin as integration_service
from bot.core.services import Services
from cards.forms import NAME_FIELD, FormField, field_errors
from storage.schema import Integration


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The settings of an integration type as form fields."""
    return tuple(
        FormField(s.name, s.label, s.secret, s.required, s.help) for s in TYPES[kind].settings
    )


async def submit(
    services: Services, tenant: str, kind: str, values: dict[str, Any], actor: str
) -> tuple[Integration | None, dict[str, str]]:
    """Create the integration, or return the errors by field; secrets are never echoed."""
    if kind not in TYPES:
        return None, {"_form": f"Unknown integration type {kind!r}."}
    names = {s.name for s in TYPES[kind].settings}
    settings = {k: str(v).strip() for k, v in values.items() if k in names and str(v).strip()}
    body = {"type": kind, "name": str(values.get(NAME_FIELD, "")).strip(), "settings": settings}
    try:
        row = await integration_service.create(services, tenant, body, actor)
    except InvalidRequest as exc:
        return None, field_errors(str(exc))
    services.ingest.cache.invalidate()
    return row, {}
