"""Add note on Slack: the card's button opens a modal; submitting it adds the note to the
alert, by the person who did, or shows on the field why not."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.alerts import queries
from bot.slack.silencing import Workspace
from cards.forms import NOTE_BLOCK, NOTE_INPUT, note_modal
from domain import Verb
from domain.acting import Actor, Ask

log = logging.getLogger(__name__)


async def open_modal(
    slack: Workspace,
    client: AsyncWebClient,
    body: dict[str, Any],
    alert_id: str,
    where: str | None,
    actor: Actor,
) -> None:
    """Add note: the modal opens at once (Slack's trigger lasts three seconds)."""
    alert = await queries.get(slack.services, alert_id)
    if alert is None or alert.tenant != actor.tenant:
        return await slack._tell(client, where, actor.id, f"No alert {alert_id!r} here.")
    try:
        await client.views_open(
            trigger_id=str(body.get("trigger_id")),
            view=note_modal(alert.id, alert.title, where or ""),
        )
    except SlackApiError as exc:
        log.warning("views.open failed", extra={"error": str(exc.response.get("error"))})


async def on_submit(
    slack: Workspace, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
) -> None:
    """The note modal: the note is saved, or the modal shows why not on its field."""
    user = body.get("user") or {}
    tenant = await slack.tenant_for((body.get("team") or {}).get("id") or user.get("team_id"))
    state = (view.get("state") or {}).get("values") or {}
    text = str(((state.get(NOTE_BLOCK) or {}).get(NOTE_INPUT) or {}).get("value") or "")
    alert_id, _, where = str(view.get("private_metadata", "")).partition(" ")
    if tenant is None:
        await ack(response_action="errors", errors={NOTE_BLOCK: "Workspace not connected."})
        return
    actor = Actor(
        id=str(user.get("id")),
        name=str(user.get("name") or user.get("username") or user.get("id")),
        platform="slack",
        tenant=tenant,
    )
    outcome = await slack.services.actions.apply(
        Verb.NOTE, alert_id, actor, Ask(text=text, where=where or None)
    )
    if not outcome.applied:
        await ack(response_action="errors", errors={NOTE_BLOCK: outcome.message[:150]})
        return
    await ack()
