"""Adding an integration from a chat form: the fields from the registry, the submit validated."""

from __future__ import annotations

from typing import Any

from bot.core.errors import InvalidRequest
from bot.core.integrations import admin as integration_service
from bot.core.integrations import catalog
from bot.core.services import Services
from bot.core.specs import parse
from bot.core.specs.integrations import IntegrationSpec
from cards.forms import NAME_FIELD, FormField, field_errors
from domain import By


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The settings of an integration type as form fields."""
    return catalog.form_fields(kind)


async def submit(
    services: Services, tenant: str, kind: str, values: dict[str, Any], actor: str
) -> tuple[str | None, dict[str, str]]:
    """Create the integration and return its name, or the errors by field; secrets are never
    echoed."""
    if catalog.type_name(kind) is None:
        return None, {"_form": f"Unknown integration type {kind!r}."}
    names = {f.name for f in form_fields(kind)}
    settings = {k: str(v).strip() for k, v in values.items() if k in names and str(v).strip()}
    given = {"type": kind, "name": str(values.get(NAME_FIELD, "")).strip(), "settings": settings}
    try:
        by = By(actor, actor.partition(":")[0])
        row = await integration_service.create(services, tenant, parse(IntegrationSpec, given), by)
    except InvalidRequest as exc:
        return None, field_errors(str(exc))
    return row.name, {}


def type_name(kind: str) -> str | None:
    """The name an integration type is shown by, or None when there is no such type."""
    return catalog.type_name(kind)
