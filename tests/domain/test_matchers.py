"""Alertmanager's label matchers: the forms its documentation gives, and their meaning."""

from __future__ import annotations

import pytest

from domain.matchers import MatcherError, all_match, parse, parse_all

LABELS = {"alertname": "DiskFull", "severity": "critical", "team": "db", "env": "prod"}


@pytest.mark.parametrize(
    "text,holds",
    [
        ('severity="critical"', True),
        ("severity=critical", True),
        ('severity!="critical"', False),
        ('team=~"db|storage"', True),
        ('team=~"d"', False),  # anchored: the whole value must match
        ('team=~"d.*"', True),
        ('env!~"dev|test"', True),
        ('service!~"test-.*"', True),  # no such label: the empty value does not match test-.*
        ('service=""', True),  # no such label is the empty value
        ('service!=""', False),
        ('env!="dev"', True),
    ],
)
def test_each_operator_means_what_alertmanager_says(text: str, holds: bool) -> None:
    assert all_match(parse(text), LABELS) is holds


def test_lists_braces_commas_quotes_and_escapes() -> None:
    many = parse('{severity = "critical", team=~"db|storage" , note="say \\"hi\\"\\n"}')
    assert [str(m) for m in many] == [
        'severity="critical"',
        'team=~"db|storage"',
        'note="say \\"hi\\"\\n"',
    ]
    assert many[2].value == 'say "hi"\n'
    assert parse("a=1, b=2") == parse('{a="1",b="2"}')
    assert parse_all(['severity="critical"', "team=db"]) == parse('severity="critical",team=db')
    assert parse("") == ()


@pytest.mark.parametrize(
    "text,said",
    [
        ('9lives="x"', "expected a label name"),
        ("team", "expected =, !=, =~ or !~"),
        ('team=~"(unclosed"', "not a regular expression"),
        ('team="db" env="x"', "expected , between matchers"),
        ('team="db', "no closing quote"),
        ('{team="db"', "closes with }"),
    ],
)
def test_bad_matchers_say_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(MatcherError, match=said):
        parse(text)
    with pytest.raises(MatcherError, match=r"\[1\]"):
        parse_all(["ok=1", text])
