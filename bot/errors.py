"""JSON errors for the HTTP surface: `{"error": {"code", "message"}}` with a 4xx status."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import jsonbody
from storage.admin import Conflict, NotFound

log = logging.getLogger("chatops.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the caller caused, with the status and code to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class InvalidRequest(ValueError):
    """The caller asked for something that cannot be done; the message says what to fix."""


def error_response(status: int, code: str, message: str) -> web.Response:
    """The contract's error body."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


_HTTP_CODES = {
    404: ("not_found", "no such path; see the README for the HTTP surface"),
    405: ("method_not_allowed", "this path does not take that method"),
    413: ("body_too_large", "the body is over the 1 MB limit"),
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON; a 500 is logged with its traceback, never shown."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except InvalidRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    except NotFound as exc:
        return error_response(404, "not_found", str(exc))
    except Conflict as exc:
        return error_response(409, "conflict", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        return error_response(exc.status, code, message)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal", "internal error; it has been logged")


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
