"""The published REST API: each handler declares its operation beside its code, the body and
query models the declaration names are the ones that parse the request, and the OpenAPI 3.1
document at `/api/v1/openapi.json` is built from the routes the application registered.

    @operation("Submit an event", tag="events", body=EventBody, answers={202: Submitted})
    async def submit(request): spec = body_of(request, EventBody) ...

A request the models refuse is answered 400 with the contract's error body, naming the field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from bot.core.specs import refusal
from bot.infra.web import ApiError, Handler, read_json

Auth = Literal["bearer", "none", "secret_url", "provider"]
M = TypeVar("M", bound=BaseModel)
BODY = web.RequestKey("openapi_body", object)
QUERY = web.RequestKey("openapi_query", object)
OPENAPI_PATH = "/api/v1/openapi.json"
PUBLISHED = ("/api/v1/", "/hooks/", "/health", "/ready", "/metrics")
ERROR_STATUSES = {
    400: "The request was refused: its error names the field or parameter",
    401: "No bearer token, or a wrong or revoked one",
    403: "The key's scope does not allow this",
    404: "No such resource in the caller's tenant",
    409: "The resource is in a state that does not allow this",
    413: "The body is over the 1 MB limit",
    422: "Well-formed but not acceptable (the message says why)",
}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code", "message"}}`."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


@dataclass(frozen=True)
class Operation:
    """What one handler promises: its parameters, body and answers."""

    summary: str
    tag: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    body_media: str = "application/json"
    # False where the handler reads the body itself (events: NUL cleaning and the `cleaned`
    # notes), the model then only describes it
    body_parsed: bool = True
    query: type[BaseModel] | None = None
    answers: Mapping[int, Any] = field(default_factory=lambda: {200: None})
    media: str = "application/json"
    also: tuple[str, ...] = ()  # other media types the answer may come in (CSV, JSON)
    auth: Auth = "bearer"
    errors: tuple[int, ...] = (400,)
    description: str = ""


def _refusal(exc: ValidationError, code: str, model: type[BaseModel]) -> ApiError:
    return ApiError(400, code, refusal(exc, model))


def operation(summary: str, **details: Any) -> Callable[[Handler], Handler]:
    """Declare a handler's operation; its `body` and `query` models parse every request."""
    declared = Operation(summary, **details)

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def parsed(request: web.Request) -> web.StreamResponse:
            if declared.query is not None:
                try:
                    request[QUERY] = declared.query.model_validate(dict(request.query))
                except ValidationError as exc:
                    raise _refusal(exc, "bad_query", declared.query) from None
            if declared.body is not None and declared.body_parsed:
                if request.body_exists or declared.body_required:
                    raw = await read_json(request)
                    if not isinstance(raw, dict):
                        raise ApiError(400, "invalid_body", "the body must be a JSON object")
                else:
                    raw = {}
                try:
                    request[BODY] = declared.body.model_validate(raw)
                except ValidationError as exc:
                    raise _refusal(exc, "invalid_request", declared.body) from None
            return await handler(request)

        parsed.__openapi__ = declared  # type: ignore[attr-defined]
        return parsed

    return wrap


def body_of(request: web.Request, model: type[M]) -> M:
    """The body the handler's declared model parsed."""
    value = request[BODY]
    assert isinstance(value, model), f"{model.__name__} is not the declared body"
    return value


def query_of(request: web.Request, model: type[M]) -> M:
    """The query string the handler's declared model parsed."""
    value = request[QUERY]
    assert isinstance(value, model), f"{model.__name__} is not the declared query"
    return value


def declared(handler: Any) -> Operation | None:
    return getattr(handler, "__openapi__", None)


def published(path: str) -> bool:
    return path.startswith(PUBLISHED)


class _Schemas:
    """Component schemas gathered from every model and type the operations name."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, kind: Any) -> dict[str, Any]:
        if kind is None:
            return {"type": "object"}
        schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        name = getattr(kind, "__name__", None)
        if name and schema.get("type") == "object" and "title" in schema:
            self.components.setdefault(name, schema)
            return {"$ref": f"#/components/schemas/{name}"}
        return schema

    def parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        required = set(schema.get("required", []))
        found = []
        for name, prop in schema.get("properties", {}).items():
            described = prop.pop("description", None)
            prop.pop("title", None)
            entry: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if described:
                entry["description"] = described
            found.append(entry)
        return found


def _path_parameters(path: str) -> tuple[str, list[dict[str, Any]]]:
    """aiohttp's `{name}` and `{name:regex}` as OpenAPI's `{name}` and its parameters."""
    out, params, i = "", [], 0
    while i < len(path):
        if path[i] == "{":
            end = path.index("}", i)
            name, _, _pattern = path[i + 1 : end].partition(":")
            out += "{" + name + "}"
            params.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
            i = end + 1
        else:
            out += path[i]
            i += 1
    return out, params


STRUCTURED = ("application/json", "application/yaml")  # media a model describes
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearerAuth": []}],
    "none": [],
    "secret_url": [],
    "provider": [],
}
AUTH_ERRORS = (401, 403)


def document(app: web.Application, *, version: str, base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every published route the application registered."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        raw = info.get("path") or info.get("formatter")
        if not raw or route.method in ("HEAD", "*") or not published(raw):
            continue
        op = declared(route.handler)
        if op is None:
            continue
        path, params = _path_parameters(raw)
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{route.method.lower()}_{_slug(path)}",
            "tags": [op.tag],
            "security": SECURITY[op.auth],
            "responses": {},
        }
        if op.description:
            entry["description"] = op.description
        parameters = list(params)
        if op.query is not None:
            parameters += schemas.parameters(op.query)
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            media = op.body_media
            body_schema = schemas.ref(op.body) if media in STRUCTURED else {"type": "string"}
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {media: {"schema": body_schema}},
            }
        for status, kind in op.answers.items():
            if op.media in STRUCTURED:
                content = {op.media: {"schema": schemas.ref(kind)}}
            else:
                content = {op.media: {"schema": {"type": "string"}}}
            if status < 300:
                content.update({media: {"schema": {}} for media in op.also})
            entry["responses"][str(status)] = {"description": _said(status), "content": content}
        errors = set(op.errors) | ({400} if op.body or op.query else set())
        if op.auth == "bearer":
            errors |= set(AUTH_ERRORS)
        if op.body is not None:
            errors.add(413)
        for status in sorted(errors):
            entry["responses"][str(status)] = {
                "description": ERROR_STATUSES.get(status, "An error"),
                "content": {"application/json": {"schema": schemas.ref(ErrorBody)}},
            }
        paths.setdefault(path, {})[route.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ChatOps bot",
            "version": version,
            "description": "Alerts in, cards out: events, routing, on-call, noise and reports.",
        },
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CHATOPS_API_TOKEN (every tenant) or a tenant's API key "
                    "(chatops keys api create)",
                }
            },
        },
    }


def _slug(path: str) -> str:
    kept = "".join(c if c.isalnum() else "_" for c in path.removeprefix("/api/v1/"))
    return "_".join(p for p in kept.split("_") if p)


def _said(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted"}.get(status, str(status))


def register(app: web.Application, version: str, base_url: str) -> None:
    """Serve the document at `/api/v1/openapi.json` (no key needed), built on first request."""
    built: list[bytes] = []

    @operation("This document", tag="meta", auth="none", errors=())
    async def serve(request: web.Request) -> web.Response:
        if not built:
            found = document(request.app, version=version, base_url=base_url)
            built.append(json.dumps(found).encode())
        return web.Response(body=built[0], content_type="application/json")

    app.router.add_get(OPENAPI_PATH, serve)
