"""Every error the API returns, as RFC 9457 problem+json, mapped in this one place.

Domain errors (ledger.errors, RecordError, StoreError) and HTTP-level ones (auth,
unknown routes, wrong methods, request validation) all become
``{"type", "title", "status", "detail"}`` with `application/problem+json`; a
record error adds ``"field"`` (e.g. ``entries[3].body.input_tokens``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ledger.core.errors import InputError, LedgerError
from ledger.core.records import RecordError
from ledger.errors import ErasedError, NotFoundError, NotSequencedError
from ledger.jsonlimits import MAX_JSON_DEPTH
from ledger.store.repository import ConcurrentSealError, StoreError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ledger.api")


class ApiError(LedgerError):
    """An HTTP-level refusal (auth, size limits, unavailable features)."""

    status = 400
    title = "Bad Request"
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers the refusal comes with."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequestError(ApiError):
    """The request cannot be read (not JSON, wrong shape)."""


class UnauthorizedError(ApiError):
    """No key, or a key that is unknown or revoked."""

    status = 401
    title = "Unauthorized"
    headers = (("WWW-Authenticate", "Bearer"),)


class ForbiddenError(ApiError):
    """A valid key whose role may not do this."""

    status = 403
    title = "Forbidden"


class TooLargeError(ApiError):
    """A request body or batch beyond the limits."""

    status = 413
    title = "Content Too Large"
    headers = (("Connection", "close"),)  # the server need not read the rest of the body


class BodyTooLargeError(HTTPException, LedgerError):
    """A request body that passed the configured maximum while it was being read.

    An HTTPException because it is raised from inside the body stream, where FastAPI
    passes on only those; answered like `TooLargeError`.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes", dict(TooLargeError.headers))


class RateLimitedError(ApiError):
    """A key that sent more requests than its rate limit allows."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = (("Retry-After", str(retry_after)),)


class UnavailableError(ApiError):
    """A feature this server was started without (anchoring without a chain)."""

    status = 503
    title = "Service Unavailable"


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DOMAIN: list[tuple[type[Exception], int, str]] = [
    (NotFoundError, 404, "Not Found"),
    (NotSequencedError, 409, "Not Sequenced"),
    (ErasedError, 410, "Gone"),
    (InputError, 400, "Bad Request"),  # InvalidRequestError, and any other refused input
    (LedgerError, 409, "Conflict"),  # other domain states (not anchored yet, ...)
    (ConcurrentSealError, 409, "Conflict"),
]


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json, and document them."""
    document(app)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> Response:
        return problem(
            error.status, error.title, error.detail, dict(error.headers) or None, **error.extra
        )

    @app.exception_handler(BodyTooLargeError)
    async def body_too_large(_request: Request, error: BodyTooLargeError) -> Response:
        return problem(413, TooLargeError.title, str(error.detail), dict(error.headers or {}))

    @app.exception_handler(RecordError)
    async def record_error(_request: Request, error: RecordError) -> Response:
        return problem(422, "Invalid Record", str(error), field=error.field)

    @app.exception_handler(LedgerError)
    async def ledger_error(_request: Request, error: LedgerError) -> Response:
        for kind, status, title in _DOMAIN:
            if isinstance(error, kind):
                return problem(status, title, str(error))
        return problem(409, "Conflict", str(error))  # pragma: no cover - LedgerError is listed

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, error: StoreError) -> Response:
        if isinstance(error, ConcurrentSealError):
            return problem(409, "Conflict", str(error))
        log.error("storage error: %s", error)
        return problem(503, "Service Unavailable", f"storage refused the operation: {error}")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> Response:
        errors = error.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = _location(tuple(first.get("loc", ())))
        detail = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return problem(422, "Unprocessable Content", detail, field=where)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            detail = f"no such resource: {request.method} {request.url.path}"
        elif error.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        else:
            detail = str(error.detail)
        return problem(
            error.status_code, _title(error.status_code), detail, dict(error.headers or {})
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> Response:
        if isinstance(error, ClientDisconnect):  # nobody is left to answer
            return problem(
                400, "Bad Request", "the client disconnected before sending the whole request"
            )
        log.exception("unexpected error")
        return problem(500, "Internal Server Error", f"unexpected error: {type(error).__name__}")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: why the request was refused.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {
            "type": "string",
            "description": "Where in the request the fault is (entries[3].body.input_tokens).",
        },
    },
}

PROBLEM_RESPONSES: dict[int, str] = {
    400: (
        "The request cannot be read: not JSON, nested more than"
        f" {MAX_JSON_DEPTH} levels deep, or not the shape this operation takes."
    ),
    401: "No API key, or one that is unknown or revoked.",
    403: (
        "The key's role may not do this, or may not log this kind"
        " of record (`field` names the entry)."
    ),
    404: (
        "No such entry, checkpoint, licence or model (or no such"
        " route); for a licensee key, also another licensee's."
    ),
    409: (
        "Not answerable in the log's present state: not sequenced"
        " or anchored yet, or a concurrent change."
    ),
    410: "The entry's record was erased: its leaf hash and inclusion proofs remain.",
    413: "The request body, or the batch in it, is over the limit.",
    422: "A field of the request is invalid: `field` names it.",
    429: "The key's rate limit is spent: retry after `Retry-After` seconds.",
    503: (
        "Storage refused the operation, or this server was started"
        " without what it needs (anchoring without a chain)."
    ),
}
"""Every problem any operation can answer with, and what it means."""

_KEY_PROBLEMS = frozenset({401, 403, 429})
"""Answered only by operations that take an API key."""

_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    413: {
        "Connection": {
            "description": "close: the rest of the body is not read.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until the key may send again.",
            "schema": {"type": "integer"},
        }
    },
}

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _add_problems(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            keyed = bool(operation.get("security"))
            responses = operation.setdefault("responses", {})
            for status, description in PROBLEM_RESPONSES.items():
                if status in _KEY_PROBLEMS and not keyed:
                    continue
                response: dict[str, Any] = {
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
                if status in _PROBLEM_HEADERS:
                    response["headers"] = _PROBLEM_HEADERS[status]
                responses[str(status)] = response  # replaces FastAPI's own 422, which we never send
    schemas = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, now unused
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(schema):
            del schemas[name]


def document(app: FastAPI) -> None:
    """Declare every problem+json answer in the app's OpenAPI document (built lazily)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # cached by FastAPI until the routes change
        if "Problem" not in schema.get("components", {}).get("schemas", {}):
            _add_problems(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
