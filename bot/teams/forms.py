"""The add-integration form on Teams: its submit answers with the same form and its errors, or
with a confirmation card."""

from __future__ import annotations

from typing import Any, Protocol

from botbuilder.core import InvokeResponse
from botbuilder.schema import Activity, ChannelAccount

from bot.chat import forms as integration_forms
from bot.chat.forms import form_fields, type_name
from bot.core.services import Services
from bot.teams.invokes import error, invoke
from cards.adaptive import CARD_CONTENT_TYPE
from cards.forms import integration_added_card, integration_form_card
from domain.acting import Actor


class Bot(Protocol):
    """What this needs of the Teams bot."""

    services: Services

    async def tenant_for(self, activity: Activity) -> str: ...

    def actor(self, account: ChannelAccount | None, tenant: str) -> Actor: ...

    async def is_admin(self, tenant: str, user_id: str) -> bool: ...


async def create_integration(bot: Bot, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
    """The add-integration form's submit: the same form back with errors, or a confirmation."""
    tenant = await bot.tenant_for(activity)
    actor = bot.actor(activity.from_property, tenant)
    kind = str(data.get("integration_type", ""))
    if not await bot.is_admin(tenant, actor.id):
        return invoke(
            200,
            "application/vnd.microsoft.activity.message",
            "Sorry, only admins can add integrations.",
        )
    name = type_name(kind)
    if name is None:
        return error(400, "BadRequest", f"Unknown integration type {kind!r}.")
    added, errors = await integration_forms.submit(
        bot.services, tenant, kind, data, f"teams:{actor.id}"
    )
    if added is None:
        plain = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        card = integration_form_card(kind, name, form_fields(kind), plain, errors)
        return invoke(200, CARD_CONTENT_TYPE, card)
    done = integration_added_card(added, name)
    return invoke(200, CARD_CONTENT_TYPE, done)
