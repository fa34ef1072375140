"""The report's chart in Slack: drawn by core, uploaded as a PNG into the channel where
`/chatops report` was typed (files.getUploadURLExternal, then files.completeUploadExternal).

The figures answer at once; the chart follows a moment later (drawing and uploading may take
longer than Slack's three seconds), and if it cannot be posted the asker is told privately.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import report_charts
from bot.core.services import Services

log = logging.getLogger(__name__)
_uploading: set[asyncio.Task[None]] = set()  # kept until done, so none is collected mid-way


def chart_sharer(
    client: AsyncWebClient, services: Services, tenant: str, channel: str, user: str
) -> Callable[[str], Awaitable[str]]:
    """What the report command calls to show its chart; it says where the chart goes."""

    async def upload(since: str) -> None:
        try:
            png = await report_charts.png(services, tenant, since)
            await client.files_upload_v2(
                channel=channel,
                file=png,
                filename=f"response-report-{since}.png",
                title=f"Response report, last {since}",
                initial_comment=f"📈 Response report for the last {since}, asked by <@{user}>",
            )
        except Exception as exc:
            error = (
                str(exc.response.get("error", "an error"))
                if isinstance(exc, SlackApiError)
                else type(exc).__name__
            )
            log.warning("report chart not uploaded", extra={"error": error})
            try:
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=f"The chart could not be posted here: {error}."
                )
            except SlackApiError:
                pass

    async def share(since: str) -> str:
        task = asyncio.create_task(upload(since))
        _uploading.add(task)
        task.add_done_callback(_uploading.discard)
        return "📈 The chart follows in this channel."

    return share
