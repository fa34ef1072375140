"""Validity checks for cards: every Block Kit limit from Slack's published list, the 1.5 schema."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from tests.fixtures import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT


@cache
def limits() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "slack" / "block_kit_limits.json").read_text()))


def _limit(group: str, name: str) -> int:
    return int(limits()[group][name]["value"])


def _text_len(obj: dict[str, Any]) -> int:
    return len(obj.get("text", ""))


def blockkit_problems(message: dict[str, Any]) -> list[str]:
    """Every way this message (or Home tab view) breaks a Block Kit limit (empty when valid)."""
    problems: list[str] = []
    blocks = message.get("blocks", [])
    is_view = message.get("type") in ("home", "modal")
    most = (
        _limit("view_modal_or_home", "max_blocks") if is_view else _limit("message", "max_blocks")
    )
    if len(blocks) > most:
        problems.append(f"{len(blocks)} blocks")
    if message.get("type") == "modal":
        for part in ("title", "submit", "close"):
            if part in message and _text_len(message[part]) > _limit(
                "view_modal_or_home", f"{part}_chars"
            ):
                problems.append(f"modal {part} too long")
        if len(message.get("private_metadata", "")) > _limit(
            "view_modal_or_home", "private_metadata_chars"
        ):
            problems.append("private_metadata too long")
    if not is_view and not message.get("text"):
        problems.append("no fallback text")
    if len(message.get("text", "")) > _limit("message", "text_truncated_after_chars"):
        problems.append("fallback text too long")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append("duplicate block_id")
    for i, block in enumerate(blocks):
        where = f"block {i} ({block['type']})"
        if len(block.get("block_id", "")) > _limit("any_block", "block_id_chars"):
            problems.append(f"{where}: block_id")
        if block["type"] == "header":
            if block["text"]["type"] != "plain_text" or _text_len(block["text"]) > _limit(
                "header_block", "text_chars"
            ):
                problems.append(f"{where}: header text")
        elif block["type"] == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: neither text nor fields")
            if "text" in block and _text_len(block["text"]) > _limit("section_block", "text_chars"):
                problems.append(f"{where}: text {_text_len(block['text'])}")
            fields = block.get("fields", [])
            if len(fields) > _limit("section_block", "fields_max_items"):
                problems.append(f"{where}: {len(fields)} fields")
            for field in fields:
                if _text_len(field) > _limit("section_block", "field_text_chars"):
                    problems.append(f"{where}: field {_text_len(field)}")
            for obj in [block.get("text"), *fields]:
                if obj is not None and not obj.get("text"):
                    problems.append(f"{where}: empty text object")
        elif block["type"] == "context":
            if len(block["elements"]) > _limit("context_block", "elements_max"):
                problems.append(f"{where}: {len(block['elements'])} elements")
        elif block["type"] == "actions":
            elements = block["elements"]
            if not elements or len(elements) > _limit("actions_block", "elements_max"):
                problems.append(f"{where}: {len(elements)} elements")
            for element in elements:
                problems += _button_problems(where, element)
        elif block["type"] == "input":
            if not is_view:
                problems.append(f"{where}: input blocks belong in modals")
            if _text_len(block["label"]) > _limit("input_block", "label_chars"):
                problems.append(f"{where}: label")
            if "hint" in block and _text_len(block["hint"]) > _limit("input_block", "hint_chars"):
                problems.append(f"{where}: hint")
        elif block["type"] != "divider":
            problems.append(f"{where}: unexpected block type")
    return problems


def _select_problems(where: str, element: dict[str, Any]) -> list[str]:
    found = []
    options = element.get("options", [])
    if not options or len(options) > _limit("static_select", "options_max"):
        found.append(f"{where}: {len(options)} options")
    for option in options:
        if _text_len(option["text"]) > _limit("option_object", "text_chars"):
            found.append(f"{where}: option text")
        if len(option["value"]) > _limit("option_object", "value_chars"):
            found.append(f"{where}: option value")
    if len(element["action_id"]) > _limit("interactive_element", "action_id_chars"):
        found.append(f"{where}: action_id")
    return found


def _button_problems(where: str, element: dict[str, Any]) -> list[str]:
    if element["type"] == "static_select":
        return _select_problems(where, element)
    if element["type"] != "button":
        return [f"{where}: unexpected element {element['type']}"]
    found = []
    if _text_len(element["text"]) > _limit("button_element", "text_chars"):
        found.append(f"{where}: button text")
    if len(element.get("value", "")) > _limit("button_element", "value_chars"):
        found.append(f"{where}: button value")
    if len(element.get("url", "")) > _limit("button_element", "url_chars"):
        found.append(f"{where}: button url")
    if len(element["action_id"]) > _limit("interactive_element", "action_id_chars"):
        found.append(f"{where}: action_id")
    if (
        "style" in element
        and element["style"] not in limits()["button_element"]["style_enum"]["value"]
    ):
        found.append(f"{where}: style {element['style']}")
    return found


@cache
def _validator() -> jsonschema.Draft6Validator:
    schema = json.loads((FIXTURES / "teams" / "adaptive-card-schema-1.5.0.json").read_text())
    return jsonschema.Draft6Validator(schema)


def adaptive_problems(card: dict[str, Any]) -> list[str]:
    """Schema errors of an Adaptive Card against the official 1.5 schema."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in _validator().iter_errors(card)
    ]


def all_text(obj: Any) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in all_text(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in all_text(v)]
    return []
