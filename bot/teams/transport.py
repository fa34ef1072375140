"""Teams transport: the Bot Framework adapter at /api/messages, installs, commands, card actions.

Only this module imports botbuilder, so moving to the Microsoft 365 Agents SDK touches one place.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, Attachment, ChannelAccount
from botframework.connector.auth import AuthenticationConstants
from jwt import PyJWTError

from bot.chat import grammar, handlers
from bot.chat.forms import form_fields, type_name
from bot.chat.noise import silenced
from bot.core import report_charts, tenants
from bot.core.alerts import muting
from bot.core.errors import InvalidRequest
from bot.core.integrations import channels
from bot.core.integrations.admin import target_allowed
from bot.core.paging import reach
from bot.core.services import Services
from bot.core.specs import parse
from bot.core.specs.noise import SilenceSpec
from bot.infra import jsonbody
from bot.infra.replay import ReplayGuard
from bot.infra.web import error_response as refused
from bot.teams import forms
from bot.teams.guard import SERVICE_URL_HOSTS, ReadActivity, token_problem
from bot.teams.invokes import conversation_of, error, invoke, minutes_of
from cards.adaptive import CARD_CONTENT_TYPE, alert_card, reply_card
from cards.forms import (
    CREATE_VERB,
    SILENCE_ACTION,
    SILENCE_FIELDS,
    integration_form_card,
)
from domain import By, Verb
from domain.acting import Actor, Ask

TOKEN_LIFETIME_SECONDS = 3900.0  # a Bot Framework token's hour, and some clock skew
HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
log = logging.getLogger(__name__)
MENTION = re.compile(r"<at>[^<]*</at>", re.I)


class _Config:
    """What ConfigurationBotFrameworkAuthentication reads: the app id, password and tenant."""

    def __init__(
        self, app_id: str, password: str, tenant_id: str, metadata_url: str | None
    ) -> None:
        self.APP_ID = app_id
        self.APP_PASSWORD = password
        self.APP_TYPE = "SingleTenant" if tenant_id else "MultiTenant"
        self.APP_TENANTID = tenant_id
        if metadata_url:  # another key endpoint: the rest as the public cloud has it
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = metadata_url
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
                AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            )
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = (
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
            )
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            )
            self.OAUTH_URL = AuthenticationConstants.OAUTH_URL


class ChatOpsBot(ActivityHandler):  # type: ignore[misc]
    """Installs, commands and Universal Actions for one bot registration."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # A Bot Framework token is a bearer token for an hour and signs no body: an activity
        # played again under it is refused by its id (Teams never sends one id twice).
        self.replays = ReplayGuard(window=TOKEN_LIFETIME_SECONDS)

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Every activity, its token verified: a repeat of one already handled is refused."""
        activity = turn_context.activity
        if activity.id and not self.replays.first_time(f"{activity.channel_id}:{activity.id}"):
            log.warning("teams activity refused: replayed", extra={"activity": activity.id})
            return
        await super().on_turn(turn_context)

    async def tenant_for(self, activity: Activity) -> str:
        """Our tenant for a Teams (Entra) tenant: the first one bound becomes `default`."""
        data = activity.channel_data or {}
        teams_tenant = str((data.get("tenant") or {}).get("id") or "unknown")
        return await tenants.teams_tenant(self.services, teams_tenant)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Keep the conversation when the bot is added; stop delivering when it is removed."""
        activity = turn_context.activity
        me = activity.recipient.id if activity.recipient else None
        added = any(m.id == me for m in activity.members_added or [])
        removed = any(m.id == me for m in activity.members_removed or [])
        if added:
            await self._install(activity)
        if removed:
            await self._uninstall(activity)

    async def _integration(self, tenant: str) -> str:
        found = await tenants.chat_integration(
            self.services, tenant, "teams", create_as="teams install"
        )
        assert found is not None
        return found

    async def _install(self, activity: Activity) -> None:
        tenant = await self.tenant_for(activity)
        integration_id = await self._integration(tenant)
        conversation = activity.conversation.id
        data = activity.channel_data or {}
        name = (data.get("channel") or {}).get("name") or activity.conversation.name or conversation
        place = channels.Place(tenant, "teams", conversation, name, integration_id)
        config = {
            "service_url": activity.service_url,
            "conversation_type": activity.conversation.conversation_type,
        }
        await channels.conversation_joined(self.services, place, config, self._by(activity))
        log.info("installed in a conversation", extra={"tenant": tenant, "channel": name})

    @staticmethod
    def _by(activity: Activity) -> By:
        """Who added or removed the bot, as Teams says (the installing user)."""
        account = activity.from_property
        user = (account.aad_object_id or account.id) if account else None
        return By(f"teams:{user}" if user else "teams:install", "teams")

    async def _uninstall(self, activity: Activity) -> None:
        await channels.conversation_left(
            self.services, "teams", activity.conversation.id, self._by(activity)
        )
        log.info("removed from a conversation", extra={"conversation": activity.conversation.id})

    async def is_admin(self, tenant: str, user_id: str) -> bool:
        """CHATOPS_ADMINS by AAD object id, and the tenant's own admin list."""
        if f"teams:{user_id}" in self.services.settings.admin_ids:
            return True
        return await tenants.is_listed_admin(self.services, tenant, "teams", user_id)

    def actor(self, account: ChannelAccount | None, tenant: str) -> Actor:
        """The person acting, known by AAD object id where Teams gives one."""
        user_id = (account.aad_object_id or account.id) if account else "unknown"
        name = (account.name or user_id) if account else "unknown"
        return Actor(id=str(user_id), name=str(name), platform="teams", tenant=tenant)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """`@ChatOps <command>`: the shared grammar, answered with a card."""
        activity = turn_context.activity
        tenant = await self.tenant_for(activity)
        actor = self.actor(activity.from_property, tenant)
        text = MENTION.sub("", activity.text or "").strip()
        await self._remember_personal(activity, tenant)

        async def open_form(kind: str) -> str:
            name = type_name(kind) or kind
            form = integration_form_card(kind, name, form_fields(kind))
            await turn_context.send_activity(
                MessageFactory.attachment(Attachment(content_type=CARD_CONTENT_TYPE, content=form))
            )
            return f"Fill in the form to add a {name} integration."

        images: list[tuple[str, str]] = []

        async def share_chart(since: str) -> str:
            # Teams shows a card's image by URL: a signed one that draws the chart for a week
            url = report_charts.signed_url(self.services, tenant, since, datetime.now(UTC))
            images.append((url, f"Alerts and response times by week, last {since}"))
            return ""

        ctx = grammar.Context(
            services=self.services,
            actor=actor,
            tenant=tenant,
            platform="teams",
            channel_id=activity.conversation.id,
            channel_name=str(activity.conversation.name or ""),
            is_admin=await self.is_admin(tenant, actor.id),
            integration_id=await self._integration(tenant),
            open_form=open_form,
            share_chart=share_chart,
        )
        card = reply_card(await handlers.run(ctx, text), tuple(images))
        await turn_context.send_activity(
            MessageFactory.attachment(Attachment(content_type=CARD_CONTENT_TYPE, content=card))
        )

    async def _remember_personal(self, activity: Activity, tenant: str) -> None:
        """In someone's 1:1 chat with the bot: keep how to reach them there (their account
        id, the service URL and the conversation), so pages go to that chat."""
        account = activity.from_property
        conversation = activity.conversation
        if (
            account is None
            or not account.aad_object_id
            or conversation is None
            or conversation.conversation_type != "personal"
        ):
            return
        await reach.remember_teams_chat(
            self.services,
            tenant,
            str(account.aad_object_id),
            str(account.id or ""),
            str(activity.service_url or ""),
            str(conversation.id or ""),
        )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """`adaptiveCard/action`: apply the verb, answer with the refreshed card."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        action = (activity.value or {}).get("action") or {}
        verb_name, data = action.get("verb"), action.get("data") or {}
        if verb_name == CREATE_VERB:
            return await forms.create_integration(self, activity, data)
        if verb_name == SILENCE_ACTION:
            return await self._silence(activity, data)
        try:
            verb = Verb(str(verb_name))
        except ValueError:
            return error(400, "BadRequest", f"Unknown action {verb_name!r}.")
        tenant = await self.tenant_for(activity)
        actor = self.actor(activity.from_property, tenant)
        await self._remember_personal(activity, tenant)
        ask = Ask(
            minutes=minutes_of(data.get("minutes")),
            text=data.get("text") if isinstance(data.get("text"), str) else None,
            where=conversation_of(activity),
        )
        if data.get("digest_id"):
            outcome = await self.services.actions.acknowledge_digest(str(data["digest_id"]), actor)
        elif data.get("group_id"):  # a group's card: every alert in the group
            outcome = await self.services.actions.apply_to_card(
                verb, str(data["group_id"]), actor, ask
            )
        else:
            alert_id = str(data.get("alert_id", ""))
            outcome = await self.services.actions.apply(verb, alert_id, actor, ask)
        if outcome.code == "not_found":
            return error(404, "NotFound", outcome.message)
        if outcome.code == "bad_request":
            return error(400, "BadRequest", outcome.message)
        if not outcome.applied or outcome.alert is None:
            return invoke(200, "application/vnd.microsoft.activity.message", outcome.message)
        card = alert_card(
            outcome.alert,
            datetime.now(UTC),
            public_url=self.services.settings.public_url,
            offered=outcome.offered,
        )
        return invoke(200, CARD_CONTENT_TYPE, card)

    async def _silence(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        """Silence similar…: the card's inputs make a silence, by the person who clicked."""
        tenant = await self.tenant_for(activity)
        target = (
            f"group:{data['group_id']}" if data.get("group_id") else str(data.get("alert_id", ""))
        )
        if await muting.similar(self.services.db, tenant, target[:80]) is None:
            return error(404, "NotFound", "No such alert here.")
        given = {f: str(data.get(f) or "").strip() for f in SILENCE_FIELDS}
        try:
            spec = parse(SilenceSpec, given)
            made = await muting.create(self.services, tenant, spec, self._by(activity))
        except InvalidRequest as exc:
            return invoke(
                200, "application/vnd.microsoft.activity.message", f"Not silenced: {exc}."
            )
        return invoke(200, "application/vnd.microsoft.activity.message", silenced(made))


class TeamsTransport:
    """The Bot Framework adapter mounted at /api/messages."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        password = (
            settings.teams_app_password.get_secret_value() if settings.teams_app_password else ""
        )
        auth = ConfigurationBotFrameworkAuthentication(
            _Config(
                settings.teams_app_id,
                password,
                # a single-tenant app is Bot Framework's to check; local mode has no app
                (settings.teams_tenant_id or "") if settings.teams_app_id else "",
                settings.teams_openid_metadata_url,
            )
        )
        self.adapter = CloudAdapter(auth)
        self.bot = ChatOpsBot(services)

        async def on_error(context: TurnContext, exc: Exception) -> None:
            log.exception("teams turn failed", exc_info=exc)

        self.adapter.on_turn_error = on_error

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`POST /api/messages`: token shape, body and serviceUrl checked before botbuilder."""
        settings = self.services.settings
        if not settings.teams_app_id and not settings.teams_local:
            return refused(401, "teams_not_configured", "set CHATOPS_TEAMS_APP_ID to use Teams")
        if settings.teams_app_id:
            problem = token_problem(request.headers.get("Authorization", ""))
            if problem:
                log.warning("teams activity refused: %s", problem)
                return refused(401, "unauthorized", "the activity's token is not valid")
        if "application/json" not in request.headers.get("Content-Type", ""):
            return refused(415, "unsupported_media_type", "send the activity as application/json")
        try:
            body, _ = jsonbody.parse(await request.read())
        except jsonbody.MalformedJson as exc:
            return refused(400, "malformed_json", str(exc))
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return refused(400, "not_an_activity", "the body must be an activity with a type")
        entra = str(((body.get("channelData") or {}).get("tenant") or {}).get("id") or "unknown")
        if not await tenants.teams_tenant_allowed(self.services, entra):
            log.warning("teams activity refused: Entra tenant not served", extra={"entra": entra})
            return refused(
                403,
                "tenant_not_allowed",
                f"Entra tenant {entra[:64]!r} is not served here (CHATOPS_TEAMS_TENANT_ID, or "
                "CHATOPS_TEAMS_TENANTS to let it in)",
            )
        service_url = body.get("serviceUrl")
        if not isinstance(service_url, str) or not await self._service_url_allowed(service_url):
            log.warning("teams activity refused: serviceUrl")
            return refused(400, "bad_service_url", "the activity's serviceUrl is not allowed")
        try:
            response = await self.adapter.process(ReadActivity(request, body), self.bot)
        except (PyJWTError, PermissionError, web.HTTPUnauthorized):
            return refused(401, "unauthorized", "the activity's token is not valid")
        except web.HTTPException as exc:
            return refused(exc.status, "bad_activity", exc.reason)
        except Exception as exc:  # turn errors are caught by on_turn_error: this is auth
            log.warning("teams activity refused: %s", type(exc).__name__)
            return refused(401, "unauthorized", "the activity's token could not be verified")
        return response or web.Response(status=201)

    async def _service_url_allowed(self, url: str) -> bool:
        """Microsoft's hosts when an app id is set; locally, the same guard as every target."""
        settings = self.services.settings
        if settings.teams_app_id and not settings.teams_openid_metadata_url:
            try:
                parts, sent_to = urlsplit(url), httpx.URL(url)
            except (ValueError, httpx.InvalidURL):
                return False
            host = (parts.hostname or "").lower()
            # Only a plain DNS name, read alike by this check and by the client that connects:
            # `https://evil.example\.botframework.com/` must not pass as Microsoft's.
            if (
                not HOSTNAME.fullmatch(host)
                or parts.username
                or parts.password
                or sent_to.host.lower() != host
            ):
                return False
            return parts.scheme == "https" and any(
                host == h or host.endswith("." + h) for h in SERVICE_URL_HOSTS
            )
        return await target_allowed(self.services, url)


def register(app: web.Application, services: Services) -> TeamsTransport:
    """Mount the Bot Framework endpoint."""
    transport = TeamsTransport(services)
    app.router.add_post("/api/messages", transport.handle)
    return transport
