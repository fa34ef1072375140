"""One spec of a route and of a channel: defaults once, the file's and REST's names, the file
entry written back, refusals in a person's words. The unit beside `bot/core/specs/`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.core.specs import refusal
from bot.core.specs.routes import ChannelSpec, RouteInfo, RouteSpec, route_entry_of


def refused(model: type[RouteSpec] | type[ChannelSpec], body: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(body)
    return refusal(exc.value, model, prefix="routes[0].")


def test_a_route_has_its_defaults_once_and_takes_the_files_names() -> None:
    spec = RouteSpec.model_validate({"channel": "ops"})
    assert (spec.event_glob, spec.source_glob, spec.min_priority) == ("*", "*", "INFO")
    assert (spec.escalation_level, spec.default, spec.continue_, spec.enabled) == (
        0,
        False,
        True,
        True,
    )
    named = RouteSpec.model_validate({"channel": "ops", "user": "U1", "continue": False})
    assert named.user_id == "U1" and named.continue_ is False  # the file's `user`, `continue`
    assert RouteSpec.model_validate({"user_id": "U1"}).user_id == "U1"  # REST's `user_id`


def test_refusals_name_the_place_in_a_persons_words() -> None:
    assert refused(RouteSpec, {"escalation_level": "1"}) == (
        "routes[0].escalation_level: expected a whole number, got text"
    )
    assert refused(RouteSpec, {"matchers": {"team": "db"}}) == (
        "routes[0].matchers: expected a list or text, got a mapping"
    )
    assert (
        refused(RouteSpec, {"default": 1})
        == "routes[0].default: expected true or false, got a number"
    )
    said = refused(ChannelSpec, {"name": "ops", "colour": "red"})
    assert said.startswith("routes[0].colour: not a field here (the fields: name, type, ")
    assert refused(RouteSpec, {"escalation_level": 11}).startswith(
        "routes[0].escalation_level: Input should be less than or equal to 10"
    )


def test_the_file_entry_leaves_out_what_is_at_its_default() -> None:
    stored = RouteInfo.model_construct(
        **RouteSpec.model_validate(
            {"channel": "c1", "min_priority": "HIGH", "user": "U1", "continue": False}
        ).model_dump(),
        id="r1",
        channel_id="c1",
        created_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert route_entry_of(stored, "ops") == {
        "channel": "ops",
        "min_priority": "HIGH",
        "user": "U1",
        "continue": False,
    }


def test_every_field_of_a_route_is_stored_and_read_back() -> None:
    """What makes adding a field to a route one change to the spec plus its column: a route
    made from a spec with every field away from its default reads back as that spec, and the
    REST document shows each field. A field the spec has and the row or the record forgets
    fails here."""
    from bot.core.documents import route_document
    from bot.core.integrations.specs import new_route
    from bot.core.specs.routes import COLUMN_OF, plain_fields, route_info
    from storage.schema import Channel, Route

    spec = RouteSpec.model_validate(
        {
            "channel": "ops",
            "event_glob": "deploy.*",
            "min_priority": "HIGH",
            "stakeholders": ["SRE"],
            "source_glob": "ci",
            "user": "U1",
            "escalation_level": 2,
            "default": True,
            "actions": ["acknowledge", "resolve"],
            "escalation_policy": "db",
            "matchers": ['team="db"'],
            "continue": False,
            "mute_time_intervals": ["nights"],
            "active_time_intervals": ["office"],
            "group_by": ["cluster"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
            "enabled": False,
        }
    )
    given = spec.model_dump()
    at_default = [
        n
        for n, f in RouteSpec.model_fields.items()
        if given[n] == f.get_default(call_default_factory=True)
    ]
    assert at_default == []  # every field is away from its default: none can pass by luck
    for name in plain_fields():  # each stored in its column
        assert hasattr(Route, COLUMN_OF.get(name, name)), name
    row = new_route("acme", spec, Channel(id="c1", name="ops"), "ana")
    row.id, row.created_at = "r1", datetime(2027, 1, 4, tzinfo=UTC)
    back = route_info(row).model_dump()
    assert {k: v for k, v in back.items() if k in given and k != "channel"} == {
        k: v for k, v in given.items() if k != "channel"
    }
    document = route_document(route_info(row))
    for name in RouteSpec.model_fields:
        if name not in ("channel", "group_wait", "group_interval", "repeat_interval"):
            shown = {"continue_": "continue", "enabled": "is_active"}.get(name, name)
            assert shown in document, name
