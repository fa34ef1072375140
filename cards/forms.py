"""Forms for adding an integration: a Teams form card and a Slack modal, from one field list.

Secret fields are never pre-filled; errors are shown on the field they are about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import NOTE_MAX

CREATE_VERB = "integration.create"
MODAL_CALLBACK = "integration_add"
NAME_FIELD = "name"
NOTE_CALLBACK = "alert_note"
NOTE_BLOCK = "note"
NOTE_INPUT = "text"
SILENCE_ACTION = "silence_similar"  # the card's button (Slack) and Action.Execute verb (Teams)
SILENCE_CALLBACK = "silence_similar"
SILENCE_FIELDS = ("matchers", "duration", "comment")
SILENCE_DEFAULT = "2h"


@dataclass(frozen=True)
class FormField:
    """One setting as a form shows it."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    hint: str = ""


def _fields(settings: tuple[FormField, ...]) -> tuple[FormField, ...]:
    return (
        FormField(NAME_FIELD, "Name for this integration", hint="e.g. PagerDuty - Platform"),
        *settings,
    )


def integration_form_card(
    kind: str,
    title: str,
    settings: tuple[FormField, ...],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Adaptive Card form; submitting it sends the `integration.create` verb."""
    values, errors = values or {}, errors or {}
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"Add a {title} integration",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
    ]
    if errors.get("_form"):
        body.append(
            {"type": "TextBlock", "text": errors["_form"], "color": "Attention", "wrap": True}
        )
    for field in _fields(settings):
        body += _input(field, values.get(field.name, ""), errors.get(field.name))
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Add integration",
                "verb": CREATE_VERB,
                "style": "positive",
                "data": {"integration_type": kind},
            }
        ],
    }


def integration_added_card(name: str, type_name: str) -> dict[str, Any]:
    """What a Teams form becomes once the integration is added: a line, and where to go next."""
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "wrap": True,
                "text": f"✅ Added {name} ({type_name}). Secrets are stored encrypted. "
                f"Check it with `integrations test {name}`.",
            }
        ],
    }


def _input(field: FormField, value: str, error: str | None) -> list[dict[str, Any]]:
    """One form field, and its error under it; a secret is never pre-filled."""
    item: dict[str, Any] = {
        "type": "Input.Text",
        "id": field.name,
        "label": field.label,
        "isRequired": field.required,
        "placeholder": field.hint or field.label,
    }
    if field.required:
        item["errorMessage"] = f"{field.label} is required"
    if field.secret:
        item["style"] = "Password"
    elif value:
        item["value"] = value
    shown = [item]
    if error:
        shown.append(
            {
                "type": "TextBlock",
                "text": error,
                "color": "Attention",
                "size": "Small",
                "wrap": True,
            }
        )
    return shown


def integration_modal(kind: str, title: str, settings: tuple[FormField, ...]) -> dict[str, Any]:
    """A Slack modal with one input per setting; the type travels in private_metadata."""
    blocks = []
    for field in _fields(settings):
        blocks.append(
            {
                "type": "input",
                "block_id": field.name,
                "optional": not field.required,
                "label": {"type": "plain_text", "text": field.label[:2000]},
                "hint": {
                    "type": "plain_text",
                    "text": (
                        "Stored encrypted; never shown again."
                        if field.secret
                        else field.hint or " "
                    )[:2000],
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "placeholder": {
                        "type": "plain_text",
                        "text": (field.hint or field.label)[:150],
                    },
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": kind,
        "title": {"type": "plain_text", "text": f"Add {title}"[:24]},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks[:100],
    }


def field_errors(message: str) -> dict[str, str]:
    """`name: required; settings: url: required (URL)` into errors by field name."""
    errors: dict[str, str] = {}
    for part in message.split("; "):
        part = part.removeprefix("settings: ")
        name, sep, text = part.partition(": ")
        if sep and name.replace("_", "").isalnum():
            errors[name] = text
        else:
            errors["_form"] = part
    return errors


def note_modal(alert_id: str, title: str, where: str) -> dict[str, Any]:
    """A Slack modal with one multiline input: a note on the alert. The alert and the channel
    whose card was clicked travel in private_metadata as `alert_id channel_id`."""
    return {
        "type": "modal",
        "callback_id": NOTE_CALLBACK,
        "private_metadata": f"{alert_id} {where}".strip(),
        "title": {"type": "plain_text", "text": "Add a note"},
        "submit": {"type": "plain_text", "text": "Save note"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": title[:2000] or alert_id}],
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": {"type": "plain_text", "text": "Note"},
                "hint": {
                    "type": "plain_text",
                    "text": "Kept with the alert and posted under each of its cards.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_INPUT,
                    "multiline": True,
                    "max_length": NOTE_MAX,
                },
            },
        ],
    }


def silence_modal(target: str, matchers: list[str], title: str, where: str) -> dict[str, Any]:
    """A Slack modal that makes a silence from a card: its matchers pre-filled with the alert's
    (or the group's) labels, a duration and a comment. `target` (an alert id or
    `group:<card id>`) and the channel travel in private_metadata."""

    def text_input(name: str, label: str, value: str, hint: str, optional: bool = False) -> Any:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": name}
        if value:
            element["initial_value"] = value[:3000]
        if name == "matchers":
            element["multiline"] = True
        return {
            "type": "input",
            "block_id": name,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "hint": {"type": "plain_text", "text": hint},
            "element": element,
        }

    return {
        "type": "modal",
        "callback_id": SILENCE_CALLBACK,
        "private_metadata": f"{target} {where}".strip(),
        "title": {"type": "plain_text", "text": "Silence similar alerts"},
        "submit": {"type": "plain_text", "text": "Silence"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": title[:2000] or target}],
            },
            text_input(
                "matchers",
                "Matchers",
                ", ".join(matchers),
                'Alertmanager\'s syntax: label="value", label=~"regex", label!="value".',
            ),
            text_input("duration", "For", SILENCE_DEFAULT, "30m, 2h, 1d, 1h30m"),
            text_input("comment", "Comment", "", "Why, for whoever wonders.", optional=True),
        ],
    }
