"""Reading a configuration file: YAML loaded safely (no tags, no aliases, not too deep, not
too big), `${CHATOPS_SECRET_*}` variables filled from the environment or kept as stored, and
each section's fields checked for their type before anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.errors import ConfigError as ConfigError
from bot.core.specs import refusal
from bot.infra.settings import PREFIX, Settings

MAX_BYTES = 1024 * 1024  # a configuration file of more than this is refused unread


VARIABLE = re.compile(r"\$\{(CHATOPS_SECRET_[A-Z0-9_]+)\}")


M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 64  # nested mappings and lists: a configuration needs a handful


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML without aliases, and nested at most MAX_DEPTH deep.

    An alias repeats a node by reference, so a file of a few hundred bytes can stand for
    billions of nodes (a "billion laughs"); a configuration never needs one. Both are refused
    while the file is composed, before anything walks the tree.
    """

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ConfigError(
                f"line {mark.line + 1}, column {mark.column + 1}: YAML aliases (*name) are "
                "not accepted in a configuration file; write the value out"
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse(text: str | bytes, source: str) -> dict[str, Any]:
    """The YAML document of a configuration file; ConfigError for anything that is not one.

    The error never quotes the file: it may not be a configuration at all (a password file
    given by mistake), and its lines could be secrets."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} bytes; a configuration file is at most 1 MB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(f"{source}: YAML syntax error at {where}: {exc.problem}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{source}: not YAML") from None
    except (ValueError, RecursionError) as exc:  # a number too long to read, say
        raise ConfigError(f"{source}: cannot be read ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with `version` and `tenants`")
    return document


# The bot's own settings are never read into a configuration, whoever applies it: a file
# naming the encryption key would otherwise copy it into a setting anyone can read back.
RESERVED = frozenset(PREFIX + name.upper() for name in Settings.model_fields)


OPERATOR_ONLY = (
    "variables are read from the environment only when the operator applies a file "
    "(`chatops config apply` or the operator's API token); send the value itself, or leave "
    "the variable where a value is already stored to keep it"
)


class _Keep:
    """A variable a tenant's key left in place: the stored value stays as it is."""


KEEP = _Keep()


@dataclass(frozen=True)
class Variables:
    """Where `${CHATOPS_SECRET_X}` comes from: the operator's environment, or nowhere.

    `env` is None when a tenant's key applies the file: then a variable may only stand for a
    value already stored (it is kept), and nothing is read from the bot's environment. Either
    way a variable fills only a secret (a secret setting, a capability URL), never a plain
    field anyone can read back, and never names one of the bot's own settings.
    """

    env: Mapping[str, str] | None

    def fill(self, value: Any, place: str, *, secret: bool, stored: bool = False) -> Any:
        """`value` with its variables filled, or KEEP; ConfigError when it may not be."""
        if not isinstance(value, str) or "${" not in value:
            return value
        names = VARIABLE.findall(value)
        if not names:
            raise ConfigError(f"{place}: a variable is ${{CHATOPS_SECRET_<NAME>}} (A-Z, 0-9, _)")
        for name in names:
            if name in RESERVED:
                raise ConfigError(
                    f"{place}: {name} is one of the bot's own settings and is never read "
                    "into a configuration"
                )
        if not secret:
            raise ConfigError(
                f"{place}: a variable (${{{names[0]}}}) fills only a secret setting; "
                "write this value itself"
            )
        if self.env is None:
            if stored and VARIABLE.fullmatch(value):
                return KEEP
            raise ConfigError(f"{place}: ${{{names[0]}}}: {OPERATOR_ONLY}")
        env = self.env

        def given(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{place}: {name} is not set in the environment")
            return env[name]

        return VARIABLE.sub(given, value)


@dataclass(frozen=True)
class Field:
    """A key of a section: its type, as words for errors, and whether it must be there."""

    kinds: tuple[type, ...]
    words: str
    required: bool = False


TEXT = Field((str,), "text")


NEEDED_TEXT = Field((str,), "text", required=True)


FLAG = Field((bool,), "true or false")


WHOLE = Field((int,), "a whole number")


TEXTS = Field((list,), "a list of text")


MAPPING = Field((dict,), "a mapping")


ANY_LIST = Field((list,), "a list")


SECTIONS: dict[str, dict[str, Field]] = {
    "top": {
        "version": Field((int,), "1", required=True),
        "integration_defaults": MAPPING,
        "tenants": Field((dict,), "a mapping of tenant names", required=True),
    },
    "tenant": {
        "admins": TEXTS,
        "admin_channel": TEXT,
        "preferences": MAPPING,
        "integrations": ANY_LIST,
        "channels": ANY_LIST,
        "routes": ANY_LIST,
        "user_overrides": MAPPING,
        "people": ANY_LIST,
        "schedules": ANY_LIST,
        "escalation_policies": ANY_LIST,
        "inhibit_rules": ANY_LIST,
        "time_intervals": ANY_LIST,
        "silences": ANY_LIST,
        "heartbeats": ANY_LIST,
    },
    # integrations: bot.core.specs.integrations.IntegrationSpec, as REST and the CLI
    # channels: bot.core.specs.routes.ChannelSpec, as REST and the CLI
    # routes: bot.core.specs.routes.RouteSpec, the one spec REST, chat and the CLI use too
    # user_overrides: bot.core.specs.users.OverrideSpec, as REST and chat
}


def checked(value: Any, section: str, place: str) -> dict[str, Any]:
    """`value` as a mapping of the section's keys, each of its type; ConfigError otherwise."""
    if not isinstance(value, dict):
        raise ConfigError(f"{place}: expected a mapping, got {_kind_of(value)}")
    fields = SECTIONS[section]
    for key, item in value.items():
        spec = fields.get(str(key))
        if spec is None:
            raise ConfigError(f"{place}.{key}: unknown key (known: {', '.join(fields)})")
        wrong = isinstance(item, bool) and bool not in spec.kinds
        if wrong or not isinstance(item, spec.kinds):
            raise ConfigError(f"{place}.{key}: expected {spec.words}, got {_kind_of(item)}")
        if spec is TEXTS and isinstance(item, list) and not all(isinstance(x, str) for x in item):
            raise ConfigError(f"{place}.{key}: expected a list of text")
    for key, spec in fields.items():
        if spec.required and key not in value:
            raise ConfigError(f"{place}.{key}: required")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text"}.get(
        type(value), "a list" if isinstance(value, list) else "a mapping"
    )


def parsed(raw: object, spec: type[M], where: str) -> M:
    """A file entry read into its spec; ConfigError names the place of what is wrong."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a mapping, not {type(raw).__name__}")
    try:
        return spec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(refusal(exc, spec, prefix=f"{where}.")) from None
