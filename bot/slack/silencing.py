""" "Silence similar…" on Slack: the card's button opens a modal with the alert's (or the
group's) labels as matchers; submitting it makes the silence, by the person who did."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.noise import silenced
from bot.core.alerts import muting
from bot.core.errors import InvalidRequest
from bot.core.services import Services
from bot.core.specs import parse
from bot.core.specs.noise import SilenceSpec
from cards.forms import SILENCE_FIELDS, silence_modal
from domain import By

log = logging.getLogger(__name__)


class Workspace(Protocol):
    """What this needs of the Slack transport."""

    services: Services

    async def tenant_for(self, team_id: str | None) -> str | None: ...

    async def _tell(
        self, client: AsyncWebClient, channel: str | None, user: str | None, text: str
    ) -> None: ...


async def open_modal(
    slack: Workspace, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
) -> None:
    """The button: the modal opens at once (Slack's trigger lasts three seconds)."""
    user = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or ""
    tenant = await slack.tenant_for((body.get("team") or {}).get("id") or user.get("team_id"))
    target = str(action.get("value") or "")[:80]
    found = await muting.similar(slack.services.db, tenant, target) if tenant else None
    if found is None:
        return await slack._tell(client, channel, user.get("id"), "No such alert here.")
    matchers, title = found
    try:
        await client.views_open(
            trigger_id=str(body.get("trigger_id")),
            view=silence_modal(target, matchers, title, channel),
        )
    except SlackApiError as exc:
        log.warning("views.open failed", extra={"error": str(exc.response.get("error"))})


async def on_submit(
    slack: Workspace, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
) -> None:
    """The modal: the silence is made, or the modal shows why not on the field at fault."""
    user = body.get("user") or {}
    tenant = await slack.tenant_for((body.get("team") or {}).get("id") or user.get("team_id"))
    if tenant is None:
        await ack(response_action="errors", errors={"matchers": "Workspace not connected."})
        return
    state = (view.get("state") or {}).get("values") or {}
    given = {
        name: str(((state.get(name) or {}).get(name) or {}).get("value") or "").strip()
        for name in SILENCE_FIELDS
    }
    where = str(view.get("private_metadata", "")).partition(" ")[2]
    by = By(f"slack:{user.get('id')}", "slack")
    try:
        made = await muting.create(slack.services, tenant, parse(SilenceSpec, given), by)
    except InvalidRequest as exc:
        field = next((f for f in SILENCE_FIELDS if str(exc).startswith(f)), "matchers")
        await ack(response_action="errors", errors={field: str(exc)[:150]})
        return
    await ack()
    await slack._tell(client, where, user.get("id"), silenced(made))
