"""What the HTTP handlers find on the application: the services the process built."""

from __future__ import annotations

from aiohttp import web

from bot.core.services import Services

SERVICES = web.AppKey("services", Services)
