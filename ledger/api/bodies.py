"""Request bodies, read by the routes themselves once the key is checked.

No route declares a FastAPI body parameter: FastAPI would read and parse such a body
before the dependencies run, that is before the key is checked, within the global
limit only (32 MiB). Routes call `read_body` with their own limit instead, and
`read_json` / `read_model` to parse what they read. Every body was already checked for
depth by `ledger.api.limits.LimitRequestNesting` before the app saw the request.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from ledger.api.errors import BadRequestError, TooLargeError

ModelT = TypeVar("ModelT", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) beyond `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"request body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def read_json(raw: bytes) -> Any:
    """A body as JSON; 400 problem+json if it is not JSON."""
    try:
        return json.loads(raw)
    except (
        ValueError,
        RecursionError,
    ) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequestError(f"request body is not valid JSON: {error}".splitlines()[0]) from None


def read_model(raw: bytes, model: type[ModelT]) -> ModelT:
    """A body as `model`; 400 if it is not JSON, 422 naming the field (``body.reason``)
    if it does not fit, as FastAPI answers for the body parameters it reads itself."""
    document = read_json(raw)
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {**problem, "loc": ("body", *problem["loc"])}
                for problem in error.errors(include_url=False)
            ]
        ) from None
