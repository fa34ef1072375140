"""Label matchers in Prometheus Alertmanager's syntax: `name="value"`, `name!="value"`,
`name=~"regex"`, `name!~"regex"`; one parser for routes, silences and inhibition, whether the
text comes from chat, REST or the configuration file.

As in Alertmanager: a regular expression must match the whole value (it is anchored); a label
an alert does not have has the empty value, so `env!="dev"` holds for an alert without `env`
and `env=""` holds only for one without it; several matchers must all hold. Values may be
quoted (`"a \\"quoted\\" word"`, with `\\\\`, `\\"` and `\\n` escapes) or bare
(`severity=critical`). A list may be written `{a="1", b=~"x|y"}` or as one string per matcher.

Standard library only (`re`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

OPERATORS = ("=~", "!~", "!=", "=")  # longest first, so `=~` is not read as `=`
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_VALUE = 1024
MAX_MATCHERS = 32


class MatcherError(ValueError):
    """A matcher that cannot be read; the message shows how to write one."""


@dataclass(frozen=True)
class Matcher:
    """One condition on one label."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def matcher(name: str, op: str, value: str) -> Matcher:
    """A matcher from its parts, its regular expression compiled (and checked) once."""
    if not NAME.fullmatch(name):
        raise MatcherError(f"{name[:40]!r} is not a label name (letters, digits and _)")
    if op not in OPERATORS:
        raise MatcherError(f"{op!r} is not an operator; use =, !=, =~ or !~")
    if len(value) > MAX_VALUE:
        raise MatcherError(f"{name}: a value is at most {MAX_VALUE} characters")
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise MatcherError(f"{name}{op}: not a regular expression ({exc})") from None
    return Matcher(name, op, value, regex)


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The quoted value starting at `at` (the opening quote), and where it ends."""
    out, i = [], at + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise MatcherError("a quoted value has no closing quote")


def _one(text: str, at: int) -> tuple[Matcher, int]:
    """The matcher starting at `at`, and where it ends (after the value)."""
    while at < len(text) and text[at].isspace():
        at += 1
    found = NAME.match(text, at)
    if found is None:
        raise MatcherError(
            f'expected a label name at {text[at : at + 20]!r}; e.g. severity="critical"'
        )
    name, at = found.group(), found.end()
    while at < len(text) and text[at].isspace():
        at += 1
    op = next((o for o in OPERATORS if text.startswith(o, at)), None)
    if op is None:
        raise MatcherError(f"{name}: expected =, !=, =~ or !~ after the name")
    at += len(op)
    while at < len(text) and text[at].isspace():
        at += 1
    if at < len(text) and text[at] == '"':
        value, at = _quoted(text, at)
    else:
        end = at
        while end < len(text) and text[end] not in ',}"' and not text[end].isspace():
            end += 1
        value, at = text[at:end], end
    return matcher(name, op, value), at


def parse(text: str) -> tuple[Matcher, ...]:
    """Matchers from one string: `severity="critical"`, or `{a="1", b=~"x"}`, or `a=1, b=2`."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise MatcherError("a list that opens with { closes with }")
        body = body[1:-1]
    found, at = [], 0
    while True:
        while at < len(body) and body[at].isspace():
            at += 1
        if at >= len(body):
            break
        one, at = _one(body, at)
        found.append(one)
        while at < len(body) and body[at].isspace():
            at += 1
        if at < len(body):
            if body[at] != ",":
                raise MatcherError(f"expected , between matchers at {body[at : at + 20]!r}")
            at += 1
    if len(found) > MAX_MATCHERS:
        raise MatcherError(f"at most {MAX_MATCHERS} matchers")
    return tuple(found)


def parse_all(items: Iterable[str]) -> tuple[Matcher, ...]:
    """Matchers from a list of strings (a route's `matchers`), each one or more of them."""
    found: list[Matcher] = []
    for n, item in enumerate(items):
        if not isinstance(item, str):
            raise MatcherError(f'[{n}]: a matcher is text, like severity="critical"')
        try:
            found.extend(parse(item))
        except MatcherError as exc:
            raise MatcherError(f"[{n}]: {exc}") from None
    if len(found) > MAX_MATCHERS:
        raise MatcherError(f"at most {MAX_MATCHERS} matchers")
    return tuple(found)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for these labels (none: always)."""
    return all(m.matches(labels) for m in matchers)


def equal_to(labels: Mapping[str, str]) -> list[str]:
    """Matchers that hold exactly for these label values: what "Silence similar…" starts from."""
    return [
        str(Matcher(name, "=", value)) for name, value in labels.items() if NAME.fullmatch(name)
    ]
