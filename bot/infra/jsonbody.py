"""JSON from outside, parsed once with limits: depth, number size, text the databases can store."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_INT_DIGITS = 40  # far past any id or counter; Python refuses 4,300 digits with a traceback
# What the walk over the parsed value looks for, as it can be written in the raw text: a NUL
# (escaped; raw control characters are not JSON) and a UTF-16 surrogate (escaped, or in a str
# given directly). Text with neither parses to a value the walk would give back unchanged.
_NEEDS_WALK = re.compile(r"\\u0000|\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class MalformedJson(ValueError):
    """The bytes are not JSON this bot can take; the message says where and why."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedJson(f"a number of {len(text)} digits; at most {MAX_INT_DIGITS} are taken")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJson(f"the number {text[:40]} is out of range")
    return value


def _parse_constant(name: str) -> float:
    raise MalformedJson(f"{name} is not JSON; send a number or null")


def _is_unpaired(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _clean_text(text: str, where: str, found: set[str]) -> str:
    if _is_unpaired(text):
        raise MalformedJson(
            f"{where or 'the body'}: a lone UTF-16 surrogate (\\ud800-\\udfff) is not text; "
            "send each character as a surrogate pair or in UTF-8"
        )
    if "\x00" in text:
        found.add(where or "body")
        return text.replace("\x00", "")
    return text


def _walk(value: Any, where: str, depth: int, found: set[str]) -> Any:
    """Check depth and text everywhere; NUL characters are dropped and their places noted."""
    if depth > MAX_DEPTH:
        raise MalformedJson(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _clean_text(value, where, found)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = _clean_text(key, where, found)
            out[name] = _walk(item, f"{where}.{name}" if where else name, depth + 1, found)
        return out
    if isinstance(value, list):
        return [_walk(v, f"{where}[{i}]", depth + 1, found) for i, v in enumerate(value)]
    return value


def _depth_ok(raw: str) -> bool:
    """A quick bound on nesting before the parser recurses: count brackets, ignoring strings."""
    opened = raw.count("[") + raw.count("{")
    if opened <= MAX_DEPTH:
        return True
    depth = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse(raw: bytes | str) -> tuple[Any, list[str]]:
    """The parsed value and where NUL characters were removed; `MalformedJson` otherwise."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson(f"the body is not UTF-8 text (byte {exc.start})") from None
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    if not _depth_ok(raw):
        raise MalformedJson(f"nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            raw,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise MalformedJson(f"nested deeper than {MAX_DEPTH} levels") from None
    if not _NEEDS_WALK.search(raw):  # depth was bounded above; nothing to drop or refuse
        return value, []
    found: set[str] = set()
    value = _walk(value, "", 0, found)
    return value, sorted(found)
