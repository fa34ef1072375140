"""`chatops config import-alertmanager`: a Prometheus Alertmanager configuration as this bot's
configuration file, with everything that could not be carried over (or only nearly) said.

What is carried:

- the `route` tree, flattened into this bot's ordered routes: children before their parent,
  each with the matchers of its whole path (`match` and `match_re` read as matchers), `continue`
  (Alertmanager's default, false, stops later routes as a matched child stops its siblings), and
  the inherited `receiver`, `group_by`, `group_wait`, `group_interval` and `repeat_interval`; a
  route's own `mute_time_intervals` and `active_time_intervals` (not inherited, as there). The
  root route becomes the `default` route: it takes only what nothing else took;
- `time_intervals` (and the older top-level `mute_time_intervals`), `inhibit_rules`;
- receivers' Slack configs as channels the bot posts to with its own token, Microsoft Teams
  (`msteams_configs`, `msteamsv2_configs`), webhook, PagerDuty (`routing_key`), Opsgenie and
  e-mail configs as integrations whose secrets are `${CHATOPS_SECRET_*}` variables to be set when
  the file is applied (the import lists them; it never copies a secret into the file).

Pure: reads text, returns a document and notes; nothing is stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from bot.core.config_export import secret_variable, variable_owners
from bot.core.config_import_receivers import Destination, receivers_of
from bot.core.config_reading import ConfigError, parse
from domain import grouping, parse_duration, spoken_duration
from domain.intervals import IntervalError, interval_from
from domain.matchers import Matcher, MatcherError, parse_all

HEADER = """\
# ChatOps configuration, written by `chatops config import-alertmanager` from {source}.
# Routes are Alertmanager's tree flattened, children before their parent. Secrets are never
# written: each is ${{CHATOPS_SECRET_<NAME>}}, to be set in the environment when this file is
# applied. Review it, then: chatops config apply FILE --dry-run
"""
CARRIED_TOP = ("route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals")
ROUTE_FIELDS = (
    "receiver",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "match",
    "match_re",
    "matchers",
    "continue",
    "routes",
    "mute_time_intervals",
    "active_time_intervals",
)
INHERITED = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval")
GLOBALS_USED = (
    "smtp_smarthost",
    "smtp_from",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_require_tls",
    "opsgenie_api_key",
)


@dataclass
class Imported:
    """The bot's configuration document, what was not carried over, and the variables its
    secrets are read from (each with where its value is in the Alertmanager file)."""

    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    variables: list[tuple[str, str]] = field(default_factory=list)


def from_alertmanager(text: str | bytes, source: str, tenant: str = "default") -> Imported:
    """Convert; ConfigError when the file is not an Alertmanager configuration at all."""
    raw = parse(text, source)
    if not isinstance(raw.get("route"), dict):
        raise ConfigError(f"{source}: no `route` mapping; not an Alertmanager configuration")
    notes: list[str] = []
    settings = raw.get("global") if isinstance(raw.get("global"), dict) else {}
    for key in settings or {}:
        if key not in GLOBALS_USED:
            notes.append(f"global.{key}: not carried")
    for key in raw:
        if key == "global":
            continue
        if key == "templates":
            notes.append("templates: not carried; the bot's cards show every alert its own way")
        elif key not in CARRIED_TOP:
            notes.append(f"{key}: not carried (this bot has no such setting)")
    receivers = receivers_of(raw, notes)
    intervals = _intervals(raw, notes)
    known = {i["name"] for i in intervals}
    routes: list[dict[str, Any]] = []
    _walk(raw["route"], [], {}, "route", receivers, known, routes, notes, root=True)
    used = {r["channel"] for r in routes}
    destinations = [d for ds in receivers.values() for d in ds if d.channel["name"] in used]
    for name, ds in receivers.items():
        if ds and not any(d.channel["name"] in used for d in ds):
            notes.append(f"receivers[{name}]: no route sends to it; left out")
    integrations = [d.integration for d in destinations if d.integration is not None]
    owners = variable_owners([("integration", i["name"]) for i in integrations], tenant)
    variables: list[tuple[str, str]] = []
    for d in destinations:
        if d.integration is None:
            continue
        owner = owners[("integration", d.integration["name"])]
        for setting, where in d.secrets.items():
            variable = secret_variable(owner, setting)
            d.integration["settings"][setting] = f"${{{variable}}}"
            variables.append((variable, where))
    section: dict[str, Any] = {}
    if integrations:
        section["integrations"] = integrations
    section["channels"] = [d.channel for d in destinations]
    if intervals:
        section["time_intervals"] = intervals
    rules = _inhibit_rules(raw, notes)
    if rules:
        section["inhibit_rules"] = rules
    section["routes"] = routes
    return Imported({"version": 1, "tenants": {tenant: section}}, notes, variables)


def _walk(
    node: Any,
    above: list[str],
    inherited: dict[str, Any],
    where: str,
    receivers: dict[str, list[Destination]],
    intervals: set[str],
    out: list[dict[str, Any]],
    notes: list[str],
    *,
    root: bool = False,
) -> None:
    """One node of the tree: its children's routes first, then its own (the fallback)."""
    if not isinstance(node, dict):
        notes.append(f"{where}: not a mapping; left out")
        return
    for key in node:
        if key not in ROUTE_FIELDS:
            notes.append(f"{where}.{key}: not carried")
    options = {**inherited, **{k: node[k] for k in INHERITED if node.get(k) is not None}}
    own = _matchers(node, where, notes)
    if own is None:
        return
    matchers = [*above, *own]
    goes_on = node.get("continue") is True
    children = node.get("routes") or []
    if not isinstance(children, list):
        notes.append(f"{where}.routes: not a list; left out")
        children = []
    for n, child in enumerate(children):
        _walk(child, matchers, options, f"{where}.routes[{n}]", receivers, intervals, out, notes)
    if (
        goes_on
        and not root
        and any(isinstance(c, dict) and c.get("continue") is not True for c in children)
    ):
        notes.append(
            f"{where}: continue: true, but an alert one of its child routes takes goes to no "
            "later route here (this bot's routes are one list; a matching route without "
            "continue stops the rest)"
        )
    receiver = options.get("receiver")
    destinations = receivers.get(str(receiver), []) if receiver is not None else []
    if receiver is None:
        notes.append(f"{where}: no receiver; left out")
        return
    if not destinations:
        if str(receiver) in receivers:
            notes.append(
                f"{where}: receiver {receiver} sends nowhere this bot can; alerts it takes here "
                "go on to later routes instead of being dropped"
            )
        else:
            notes.append(f"{where}: receiver {receiver} is not defined; left out")
        return
    continuing = [
        c
        for c in children
        if isinstance(c, dict)
        and c.get("continue") is True
        and c.get("receiver", receiver) != receiver
    ]
    if continuing and not root:
        notes.append(
            f"{where}: a child route with continue: true does not keep its alerts from this "
            "route's own receiver here, as it does in Alertmanager"
        )
    named = _interval_names(node, where, intervals, notes)
    group = _grouping(options, where, notes)
    for n, destination in enumerate(destinations):
        route: dict[str, Any] = {"channel": destination.channel["name"]}
        if matchers:
            route["matchers"] = list(matchers)
        if root:
            route["default"] = True
        last = n == len(destinations) - 1
        if not root and not (goes_on if last else True):
            route["continue"] = False
        route.update(copy.deepcopy(named))  # no list shared by two routes: YAML would alias it
        route.update(copy.deepcopy(group))
        out.append(route)


def _matchers(node: dict[str, Any], where: str, notes: list[str]) -> list[str] | None:
    """The node's own matchers in one spelling: `match`, `match_re` and `matchers`; None when
    one cannot be read (the route and its children are then left out, and said)."""
    found: list[Matcher] = []
    try:
        for key, op in (("match", "="), ("match_re", "=~")):
            pairs = node.get(key) or {}
            if not isinstance(pairs, dict):
                raise MatcherError(f"{key}: a mapping of label names to values")
            found.extend(parse_all([str(Matcher(str(k), op, str(v))) for k, v in pairs.items()]))
        listed = node.get("matchers") or []
        if not isinstance(listed, list):
            raise MatcherError("matchers: a list")
        found.extend(parse_all([str(m) for m in listed]))
    except MatcherError as exc:
        notes.append(f"{where}: {exc}; this route and those under it left out")
        return None
    return [str(m) for m in found]


def _grouping(options: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any]:
    """The inherited grouping, intervals only where they differ from the defaults."""
    by = options.get("group_by")
    if not by:
        return {}
    fields = {
        "group_by": [str(n) for n in by] if isinstance(by, list) else by,
        **{f: str(options[f]) for f in grouping.FIELDS[1:] if options.get(f) is not None},
    }
    try:
        grouping.grouping_from(fields)
    except grouping.GroupingError as exc:
        notes.append(f"{where}: {exc}; grouping left out")
        return {}
    kept: dict[str, Any] = {"group_by": fields["group_by"]}
    for name in grouping.FIELDS[1:]:
        value = options.get(name)
        if value is not None and parse_duration(str(value)) != grouping.DEFAULTS[name]:
            kept[name] = spoken_duration(parse_duration(str(value)))
    return kept


def _interval_names(
    node: dict[str, Any], where: str, known: set[str], notes: list[str]
) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for key in ("mute_time_intervals", "active_time_intervals"):
        names = [str(n) for n in node.get(key) or []]
        missing = [n for n in names if n not in known]
        for name in missing:
            notes.append(f"{where}.{key}: {name} was not carried; left out of this route")
        if kept := [n for n in names if n in known]:
            named[key] = kept
    return named


def _intervals(raw: dict[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    found = []
    for key in ("time_intervals", "mute_time_intervals"):
        for n, entry in enumerate(raw.get(key) or []):
            where = f"{key}[{n}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                notes.append(f"{where}: no name; left out")
                continue
            try:
                interval_from(entry.get("time_intervals"))
            except IntervalError as exc:
                notes.append(f"{where} ({entry['name']}): {exc}; left out")
                continue
            found.append({"name": entry["name"], "time_intervals": entry["time_intervals"]})
    return found


def _inhibit_rules(raw: dict[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    rules = []
    for n, rule in enumerate(raw.get("inhibit_rules") or []):
        where = f"inhibit_rules[{n}]"
        if not isinstance(rule, dict):
            notes.append(f"{where}: not a mapping; left out")
            continue
        sides: dict[str, list[str]] = {}
        for side in ("source", "target"):
            got = _matchers(
                {
                    "match": rule.get(f"{side}_match"),
                    "match_re": rule.get(f"{side}_match_re"),
                    "matchers": rule.get(f"{side}_matchers"),
                },
                f"{where}.{side}",
                notes,
            )
            if got is None:
                break
            sides[side] = got
        if len(sides) < 2:
            continue
        if not sides["source"] or not sides["target"]:
            notes.append(f"{where}: a side without matchers would mute everything; left out")
            continue
        rules.append(
            {
                "source_matchers": sides["source"],
                "target_matchers": sides["target"],
                "equal": [str(e) for e in rule.get("equal") or []],
            }
        )
    return rules


def report(imported: Imported) -> str:
    """What the person importing reads: the variables to set, then what was not carried."""
    lines = []
    if imported.variables:
        lines.append("Set these when you apply the file (values from the Alertmanager file):")
        lines.extend(f"  {variable}  ({where})" for variable, where in imported.variables)
    if imported.notes:
        lines.append("Not carried over, or not exactly:")
        lines.extend(f"  - {note}" for note in imported.notes)
    routes = imported.document["tenants"]
    count = sum(len(t.get("routes", [])) for t in routes.values())
    lines.append(f"{count} route(s) written. Check with: chatops config apply FILE --dry-run")
    return "\n".join(lines) + "\n"
