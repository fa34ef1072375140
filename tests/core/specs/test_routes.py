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
