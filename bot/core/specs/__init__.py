"""The specs a person's request becomes, whichever surface it came by (REST, chat, the CLI,
the configuration file), and the records core answers with (never a database row).

Each spec holds its fields, their limits and their defaults once; REST parses its bodies with
them (so the published document shows them), chat and the CLI build them from what was typed,
and the file's entries are read into them. A refusal is said the same way on every surface
(`refusal`). Rules that need the vocabulary or the database (a matcher's syntax, a time zone,
a name that must exist) stay with the core function that takes the spec.

- `routes`: a route and a channel (`RouteSpec`, `ChannelSpec`; `RouteInfo`, `ChannelRecord`)
- `integrations`: an integration (`IntegrationSpec`, `IntegrationChange`; `IntegrationRecord`)
- `oncall`: a person, a schedule, an escalation policy
- `noise`: a silence, an inhibition rule, a time interval, a heartbeat
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.errors import InvalidRequest

Duration = Annotated[str, Field(description="a duration: 90s, 15m, 4h, 1d", examples=["15m"])]
DateTime = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601 with offset")
]
Matchers = Annotated[
    list[str] | str,
    Field(description='label matchers, Alertmanager\'s syntax: team="db", severity=~"crit.*"'),
]
PriorityName = Annotated[
    str,
    Field(
        description="CRITICAL, HIGH, MEDIUM, LOW or INFO (any case)",
        examples=["HIGH"],
        max_length=16,
    ),
]


class Strict(BaseModel):
    """A spec that refuses fields it does not know, and takes JSON's types as they are
    (`"5"` is not a number, `1` is not `true`)."""

    model_config = ConfigDict(strict=True, extra="forbid")


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], given: object, prefix: str = "") -> M:
    """`given` read into `model`, or InvalidRequest in a person's words (see `refusal`)."""
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise InvalidRequest(refusal(exc, model, prefix)) from None


def refusal(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """What a model refused, a line per field (`prefix` before each place), in the words the
    configuration file has always used: `rate_per_minute: expected a whole number, got text`.
    A field that may take several shapes gets one line (`expected a list or text`); a field
    the model does not know is named with the fields it does."""
    expected: dict[str, list[str]] = {}
    said: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        # a union's member is in the location (`matchers.list[str]`): the field is what counts
        field = ".".join(str(p) for p in err["loc"] if not _type_tag(p))
        where = prefix + field if field else prefix.rstrip(".") or "body"
        if err["type"] == "extra_forbidden":
            known = ", ".join(f.alias or n for n, f in model.model_fields.items())
            said.setdefault(where, f"not a field here (the fields: {known})")
        elif err["type"] in EXPECTED:
            wanted = expected.setdefault(where, [])
            if EXPECTED[err["type"]] not in wanted:
                wanted.append(EXPECTED[err["type"]])
            said.setdefault(where, f"got {kind_of(err.get('input'))}")
        else:
            said.setdefault(where, err["msg"])
    lines = []
    for where, message in list(said.items())[:5]:
        if where in expected:
            message = f"expected {' or '.join(expected[where])}, {message}"
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


EXPECTED = {  # pydantic's type errors, as a person would say the type
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "float_type": "a number",
}


def kind_of(value: object) -> str:
    """What a person calls the type of a value they sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _type_tag(part: object) -> bool:
    return isinstance(part, str) and (
        "[" in part or part in ("str", "int", "bool", "float", "dict", "list", "function-after")
    )
