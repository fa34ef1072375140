"""The integration types as forms and commands name them: ids, names, the settings each needs
and which of them are secret."""

from __future__ import annotations

from adapters.kinds import Setting
from adapters.registry import TYPES, adapter_type
from cards.forms import FormField


def required_secrets(kind: str) -> list[Setting]:
    """The secret settings an integration of this type cannot do without."""
    return [s for s in adapter_type(kind).settings if s.secret and s.required]


def secret_settings(kind: str) -> list[tuple[str, str]]:
    """(name, label) of the secret settings of an integration type."""
    return [(s.name, s.label) for s in TYPES[kind].settings if s.secret]


def type_syncs(kind: str) -> bool:
    """Whether integrations of a type sync at all."""
    return adapter_type(kind).syncs


def type_name(kind: str) -> str | None:
    """The name an integration type is shown by, or None for a type that does not exist."""
    found = TYPES.get(kind)
    return found.name if found else None


def type_ids() -> list[str]:
    """Every integration type's id, sorted."""
    return sorted(TYPES)


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The settings of an integration type as form fields."""
    return tuple(
        FormField(s.name, s.label, s.secret, s.required, s.help) for s in TYPES[kind].settings
    )
