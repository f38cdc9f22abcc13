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
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ledger.errors import InvalidRequestError, LedgerError, NotFoundError, NotSequencedError
from ledger.records import RecordError
from ledger.store.repository import ConcurrentSealError, StoreError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ledger.api")


class ApiError(Exception):
    """An HTTP-level refusal (auth, size limits, unavailable features)."""

    status = 400
    title = "Bad Request"

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


class ForbiddenError(ApiError):
    """A valid key whose role may not do this."""

    status = 403
    title = "Forbidden"


class TooLargeError(ApiError):
    """A request body or batch beyond the limits."""

    status = 413
    title = "Content Too Large"


class UnavailableError(ApiError):
    """A feature this server was started without (anchoring without a chain)."""

    status = 503
    title = "Service Unavailable"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DOMAIN: list[tuple[type[Exception], int, str]] = [
    (NotFoundError, 404, "Not Found"),
    (NotSequencedError, 409, "Not Sequenced"),
    (InvalidRequestError, 400, "Bad Request"),
    (LedgerError, 409, "Conflict"),  # other domain states (not anchored yet, ...)
    (ConcurrentSealError, 409, "Conflict"),
]


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return problem(error.status, error.title, error.detail, headers, **error.extra)

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
        return problem(error.status_code, _title(error.status_code), detail, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> Response:
        if isinstance(error, ClientDisconnect):  # nobody is left to answer
            return problem(400, "Bad Request", "the client disconnected before sending the whole request")
        log.exception("unexpected error")
        return problem(500, "Internal Server Error", f"unexpected error: {type(error).__name__}")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
