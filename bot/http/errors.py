"""Every error of the HTTP surface leaves as the contract's JSON body with a 4xx status."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.core.errors import Conflict, InvalidRequest, NotFound
from bot.infra.web import ApiError, Handler, error_response

log = logging.getLogger(__name__)

_HTTP_CODES = {
    404: ("not_found", "no such path; see the README for the HTTP surface"),
    405: ("method_not_allowed", "this path does not take that method"),
    413: ("body_too_large", "the body is over the 1 MB limit"),
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON; a 500 is logged with its traceback, never shown."""
    if "\x00" in request.path or "\x00" in request.query_string or "%00" in request.raw_path:
        # No name, id or filter holds a NUL; PostgreSQL's text refuses one outright.
        return error_response(400, "malformed_request", "a NUL character in the path or query")
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
