"""One card per template and state, for both platforms, pinned as files a reader can review.

Set UPDATE_SNAPSHOTS=1 to rewrite them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cards.adaptive import alert_card
from cards.blockkit import alert_blocks
from tests.cards.checks import adaptive_problems, blockkit_problems
from tests.cards.samples import NOW, PUBLIC, TEMPLATES, in_state

SNAPSHOTS = Path(__file__).with_name("snapshots")
STATES = ("triggered", "acknowledged", "escalated", "snoozed", "resolved")
CASES = [(name, state) for name in TEMPLATES for state in STATES]


def check_snapshot(path: Path, rendered: object) -> None:
    text = json.dumps(rendered, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text)
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"{path.name} was missing and has been written; review and commit it")
    assert text == path.read_text(), f"{path.name} changed; rerun with UPDATE_SNAPSHOTS=1 if meant"


@pytest.mark.parametrize("name,state", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_blockkit_snapshot(name: str, state: str) -> None:
    message = alert_blocks(in_state(TEMPLATES[name], state), NOW, public_url=PUBLIC)
    assert blockkit_problems(message) == []
    check_snapshot(SNAPSHOTS / f"{name}.{state}.blockkit.json", message)


@pytest.mark.parametrize("name,state", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_adaptive_snapshot(name: str, state: str) -> None:
    card = alert_card(in_state(TEMPLATES[name], state), NOW, public_url=PUBLIC)
    assert adaptive_problems(card) == []
    check_snapshot(SNAPSHOTS / f"{name}.{state}.adaptive.json", card)
