"""The JSON error body every HTTP-facing transport answers with, and reading JSON bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.infra import jsonbody

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the caller caused, with the status and code to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> web.Response:
    """The contract's error body: `{"error": {"code", "message"}}`."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def read_json(request: web.Request) -> object:
    """The request body as JSON, or a 400 that says where it broke."""
    value, _cleaned = await read_json_cleaned(request)
    return value


async def read_json_cleaned(request: web.Request) -> tuple[object, list[str]]:
    """The body as JSON and the fields NUL characters were removed from, or a 400."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, "empty_body", "the body is empty; send a JSON object")
    try:
        return jsonbody.parse(raw)
    except jsonbody.MalformedJson as exc:
        raise ApiError(400, "malformed_json", str(exc)) from None
