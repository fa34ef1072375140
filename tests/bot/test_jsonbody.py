"""JSON from outside: what is dropped is said, what cannot be stored is refused, and a body with
neither comes back as the standard parser reads it (the walk over it is skipped)."""

from __future__ import annotations

import json

import pytest

from bot.infra import jsonbody


def test_a_nul_is_dropped_and_its_place_said_in_keys_and_values() -> None:
    value, found = jsonbody.parse(b'{"title": "db\\u0000 down", "fa\\u0000cts": {"k": "v"}}')
    assert value == {"title": "db down", "facts": {"k": "v"}}
    assert found == ["body", "title"]


@pytest.mark.parametrize("raw", [b'{"a": "\\ud800"}', b'{"a": ["\\uDFFF"]}', '{"a": "\ud800"}'])
def test_a_lone_surrogate_is_refused_however_it_is_written(raw: bytes | str) -> None:
    with pytest.raises(jsonbody.MalformedJson, match="lone UTF-16 surrogate"):
        jsonbody.parse(raw)


def test_a_surrogate_pair_and_an_escaped_backslash_are_text() -> None:
    value, found = jsonbody.parse(b'{"a": "\\uD83D\\uDE00", "b": "C:\\\\u0000"}')
    assert value == {"a": "\U0001f600", "b": "C:\\u0000"} and found == []


def test_a_plain_body_reads_as_the_standard_parser_reads_it() -> None:
    raw = json.dumps({"event_type": "x", "facts": {"n": 1, "f": 1.5, "l": [None, True, "é"]}})
    assert jsonbody.parse(raw.encode()) == (json.loads(raw), [])


def test_depth_and_huge_numbers_are_refused_on_the_quick_path_too() -> None:
    with pytest.raises(jsonbody.MalformedJson, match="nested deeper than 64"):
        jsonbody.parse("[" * 65 + "1" + "]" * 65)
    with pytest.raises(jsonbody.MalformedJson, match="digits"):
        jsonbody.parse('{"n": ' + "9" * 41 + "}")
