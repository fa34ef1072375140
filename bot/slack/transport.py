"""Slack transport: Bolt for Python in our aiohttp server, for buttons and `/chatops`."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import forms as integration_forms
from bot.chat import grammar, handlers
from bot.chat.forms import form_fields, type_name
from bot.core import tenants
from bot.core.alerts import queries
from bot.core.services import Services
from bot.infra.replay import ReplayGuard
from bot.infra.web import error_response as refused
from bot.slack import notes, silencing
from bot.slack.charts import chart_sharer
from bot.slack.guard import signed_by, slack_body_problem
from bot.slack.install import oauth_settings
from cards.blockkit import HOME_ALERTS, LINK_BUTTONS, home_view
from cards.forms import (
    MODAL_CALLBACK,
    NAME_FIELD,
    NOTE_CALLBACK,
    SILENCE_ACTION,
    SILENCE_CALLBACK,
    integration_modal,
)
from domain import Verb
from domain.acting import Actor, Ask

log = logging.getLogger(__name__)
ADMIN_CACHE_SECONDS = 300


class SlackTransport:
    """One Bolt app for the workspace of CHATOPS_SLACK_BOT_TOKEN, bound to the default tenant."""

    def __init__(
        self,
        services: Services,
        signing_secret: str,
        bot_token: str,
        app_token: str = "",
        oauth: AsyncOAuthSettings | None = None,
    ) -> None:
        self.services = services
        self._token = bot_token
        self.client = AsyncWebClient(
            token=bot_token or None, base_url=services.settings.slack_api_url, timeout=10
        )
        self.bolt = AsyncApp(
            signing_secret=signing_secret or None,
            token=bot_token or None,
            client=self.client,
            process_before_response=False,
            request_verification_enabled=bool(signing_secret),
            oauth_settings=oauth,
            user_facing_authorize_error_message=(
                "This workspace is not connected to ChatOps. An admin can install it at "
                f"{services.settings.public_url.rstrip('/')}/slack/install"
            ),
        )
        # Socket Mode: Slack's events come over a websocket this process opens; no public URL.
        self.socket = (
            AsyncSocketModeHandler(self.bolt, app_token, web_client=self.client)
            if app_token
            else None
        )
        self._secret = signing_secret.encode()
        self._replays = ReplayGuard()
        self._started = time.time()  # requests signed before this may have been seen already
        self._team_id: str | None = None
        self._integration_id: str | None = None
        self._admins: dict[str, tuple[float, bool]] = {}
        self._register()

    def _register(self) -> None:
        for verb in Verb:
            self.bolt.action(verb.value)(self._button_listener(verb))
        for link in LINK_BUTTONS:  # URL buttons still send a click: answer it, do nothing
            self.bolt.action(link)(_acknowledge_only)
        self.bolt.command("/chatops")(self.on_command)
        self.bolt.view(MODAL_CALLBACK)(self.on_form_submit)
        self.bolt.view(NOTE_CALLBACK)(self._on_note_submit)
        self.bolt.action(SILENCE_ACTION)(self._on_silence_button)
        self.bolt.view(SILENCE_CALLBACK)(self._on_silence_submit)
        self.bolt.event("app_home_opened")(self.on_home_opened)

    async def _on_silence_button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await silencing.open_modal(self, body, action, client)

    async def _on_silence_submit(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await silencing.on_submit(self, ack, body, view, client)

    async def _on_note_submit(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await notes.on_submit(self, ack, body, view, client)

    def _button_listener(self, verb: Verb) -> Any:
        async def on_button(
            ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
        ) -> None:
            await ack()
            await self.on_button(verb, body, action, client)

        return on_button

    async def handle(self, request: web.Request) -> web.Response:
        """`/slack/events`: signature, timestamp and replay checked before anything is parsed."""
        if request.method == "GET":
            bolt_request = await to_bolt_request(request)
            flow = self.bolt.oauth_flow
            if flow is not None and request.path == flow.install_path:
                return await to_aiohttp_response(await flow.handle_installation(bolt_request))
            if flow is not None and request.path == flow.redirect_uri_path:
                return await to_aiohttp_response(await flow.handle_callback(bolt_request))
            raise web.HTTPNotFound()
        raw = await request.read()
        signature = request.headers.get("X-Slack-Signature", "")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not signed_by(self._secret, raw, timestamp, signature, time.time()):
            log.warning("slack request refused: bad or stale signature")
            return refused(401, "bad_signature", "the Slack signature or timestamp is not valid")
        if not self._replays.signed_since_start(timestamp, self._started) or (
            not self._replays.first_time(signature)
        ):
            log.warning("slack request refused: replayed")
            return refused(401, "replayed", "this signed request was already received")
        problem = slack_body_problem(raw, request.content_type)
        if problem:
            log.warning("slack request refused: %s", problem)
            return refused(400, "malformed_body", problem)
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
        )
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def stop(self) -> None:
        """Close the Socket Mode connection, if there is one."""
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]

    async def start(self) -> None:
        """Store the bot token as the default tenant's Slack integration; open Socket Mode."""
        if self._token:
            await self._store_token()
        if self.socket is not None:
            await self.socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("connected to Slack in Socket Mode")

    async def _store_token(self) -> None:
        """Keep the bot token as the default tenant's Slack integration, encrypted."""
        self._integration_id = await tenants.keep_bot_token(
            self.services,
            "default",
            "slack",
            {"bot_token": self._token},
            create_as="CHATOPS_SLACK_BOT_TOKEN",
        )

    async def _integration_for(self, tenant: str) -> str | None:
        """The tenant's Slack integration: the bot token's, or the one its install created."""
        return await tenants.chat_integration(self.services, tenant, "slack")

    async def tenant_for(self, team_id: str | None) -> str | None:
        """Our tenant for a Slack workspace; the bot token's own workspace is `default`."""
        if not team_id:
            return None
        # Installed workspaces are bound when they install; the bot token's own one on first use.
        own = self._own_team if self._token else None
        return await tenants.slack_tenant(self.services, team_id, own)

    async def _own_team(self) -> str | None:
        """The workspace of CHATOPS_SLACK_BOT_TOKEN (auth.test), asked once."""
        if self._team_id is None:
            try:
                self._team_id = str((await self.client.auth_test())["team_id"])
            except SlackApiError as exc:
                log.warning("auth.test failed", extra={"error": str(exc.response.get("error"))})
                return None
        return self._team_id

    async def is_admin(self, client: AsyncWebClient, user_id: str, tenant: str) -> bool:
        """Workspace admins and owners (users.info), CHATOPS_ADMINS, and the tenant's list."""
        if f"slack:{user_id}" in self.services.settings.admin_ids:
            return True
        if await tenants.is_listed_admin(self.services, tenant, "slack", user_id):
            return True
        cached = self._admins.get(f"{tenant}:{user_id}")
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            user = (await client.users_info(user=user_id))["user"]
        except SlackApiError:
            return False
        answer = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._admins[f"{tenant}:{user_id}"] = (time.monotonic() + ADMIN_CACHE_SECONDS, answer)
        return answer

    async def on_button(
        self, verb: Verb, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A card control: apply the verb; tell the clicker privately if someone was first,
        or if this channel's cards do not offer it. Add note opens a modal first."""
        user = body.get("user") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        team = (body.get("team") or {}).get("id") or user.get("team_id")
        tenant = await self.tenant_for(team)
        value = str(action.get("value") or _alert_of_block(action))
        if tenant is None:
            log.warning("button from an unknown workspace refused", extra={"team": team})
            return await self._tell(
                client, channel, user.get("id"), "This workspace is not connected to ChatOps."
            )
        actor = Actor(
            id=str(user.get("id")),
            name=str(user.get("name") or user.get("username") or user.get("id")),
            platform="slack",
            tenant=tenant,
        )
        on_home = (body.get("container") or {}).get("type") == "view"
        where = None if on_home else channel  # the Home tab lists every alert with every verb
        if verb is Verb.NOTE:
            return await notes.open_modal(self, client, body, value, where, actor)
        ask = Ask(minutes=_minutes_chosen(action), where=where)
        if value.startswith("digest:"):
            outcome = await self.services.actions.acknowledge_digest(value[7:], actor)
        elif value.startswith("group:"):  # a group's card: every alert in the group
            outcome = await self.services.actions.apply_to_card(verb, value[6:], actor, ask)
        else:
            outcome = await self.services.actions.apply(verb, value, actor, ask)
        if not outcome.applied:
            await self._tell(client, channel, actor.id, outcome.message)
        if on_home:
            await self.publish_home(client, actor.id, tenant)

    async def on_home_opened(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The Home tab: the workspace's open alerts, most severe first, with their buttons."""
        if event.get("tab", "home") != "home":
            return
        tenant = await self.tenant_for(body.get("team_id"))
        if tenant is not None:
            await self.publish_home(client, str(event.get("user")), tenant)

    async def publish_home(self, client: AsyncWebClient, user_id: str, tenant: str) -> None:
        """Render and publish one user's Home tab."""
        alerts, total = await queries.open_alerts(self.services, tenant, HOME_ALERTS)
        view = home_view(
            alerts, total, datetime.now(UTC), public_url=self.services.settings.public_url
        )
        try:
            await client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            log.warning("views.publish failed", extra={"error": str(exc.response.get("error"))})

    async def _tell(
        self, client: AsyncWebClient, channel: str | None, user: str | None, text: str
    ) -> None:
        if not channel or not user:
            return
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as exc:
            log.warning("ephemeral reply failed", extra={"error": str(exc.response.get("error"))})

    async def on_command(self, ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        """`/chatops ...`: answered privately, within Slack's three seconds."""
        tenant = await self.tenant_for(command.get("team_id"))
        if tenant is None:
            await ack(text="This workspace is not connected to ChatOps.", response_type="ephemeral")
            return
        user_id = str(command.get("user_id"))

        async def open_form(kind: str) -> str:
            name = type_name(kind) or kind
            modal = integration_modal(kind, name, form_fields(kind))
            await client.views_open(trigger_id=str(command.get("trigger_id")), view=modal)
            return f"Opening the form to add a {name} integration…"

        channel_id = str(command.get("channel_id", ""))
        ctx = grammar.Context(
            services=self.services,
            actor=Actor(user_id, str(command.get("user_name") or user_id), "slack", tenant),
            tenant=tenant,
            platform="slack",
            channel_id=channel_id,
            channel_name=str(command.get("channel_name", "")),
            is_admin=await self.is_admin(client, user_id, tenant),
            integration_id=await self._integration_for(tenant),
            open_form=open_form,
            share_chart=chart_sharer(client, self.services, tenant, channel_id, user_id),
        )
        work = asyncio.ensure_future(handlers.run(ctx, str(command.get("text", ""))))
        done, _ = await asyncio.wait({work}, timeout=2.0)
        if done:
            await ack(text=work.result(), response_type="ephemeral")
            return
        await ack(text="Working on it…", response_type="ephemeral")
        await self._tell(client, ctx.channel_id, user_id, await work)

    async def on_form_submit(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The add-integration modal: errors shown on their fields, or the modal closes."""
        user = body.get("user") or {}
        tenant = await self.tenant_for((body.get("team") or {}).get("id") or user.get("team_id"))
        if tenant is None or not await self.is_admin(client, str(user.get("id")), tenant):
            await ack(
                response_action="errors",
                errors={NAME_FIELD: "Only admins of this workspace can add integrations."},
            )
            return
        state = (view.get("state") or {}).get("values") or {}
        values = {
            block: (inputs.get("value") or {}).get("value") or "" for block, inputs in state.items()
        }
        added, errors = await integration_forms.submit(
            self.services,
            tenant,
            str(view.get("private_metadata", "")),
            values,
            f"slack:{user.get('id')}",
        )
        if added is None:
            fields = set(state) or {NAME_FIELD}
            shown = {(k if k in fields else NAME_FIELD): v for k, v in errors.items()}
            await ack(response_action="errors", errors=shown)
            return
        await ack()
        log.info("integration added from Slack", extra={"integration": added, "tenant": tenant})


async def _acknowledge_only(ack: Any) -> None:
    await ack()


def _alert_of_block(action: dict[str, Any]) -> str:
    """The alert a menu belongs to: its block is `alert:<id>` (a card) or `home:<id>`; a group's
    card's block is `group:<id>`, kept whole."""
    block = str(action.get("block_id", ""))
    return block if block.startswith("group:") else block.partition(":")[2]


def _minutes_chosen(action: dict[str, Any]) -> int | None:
    """The minutes of the snooze menu's chosen option."""
    chosen = str((action.get("selected_option") or {}).get("value", ""))
    return int(chosen) if chosen.isdigit() and len(chosen) < 7 else None


def register(app: web.Application, services: Services) -> SlackTransport | None:
    """HTTP mode with a signing secret, Socket Mode with an app token, one bot token or OAuth."""
    settings = services.settings
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    oauth = oauth_settings(services) if secret and settings.slack_client_id else None
    if not (token or oauth) or not (secret or app_token):
        return None
    transport = SlackTransport(services, secret, "" if oauth else token, app_token, oauth)
    if secret:
        app.router.add_post("/slack/events", transport.handle)
    if oauth:
        app.router.add_get("/slack/install", transport.handle)
        app.router.add_get("/slack/oauth_redirect", transport.handle)
    return transport
