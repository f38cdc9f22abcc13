"""The witness's HTTP API (c2sp.org/tlog-witness), served by `mledger witness serve`.

    POST /add-checkpoint                 200 cosignature lines (text/plain); 409 the
                                         witness's size (text/x.tlog.size); 400, 403,
                                         404, 422 as problem+json with the reason
    GET  /<sha256(origin) hex>/checkpoint   the latest cosigned checkpoint (404: none)

No key is asked: the spec authenticates requests by the log's signature on the
checkpoint alone. Bodies beyond the protocol's bound are refused (413) unread.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import FastAPI, Request, Response

from ledger.api.bodies import read_body
from ledger.api.errors import ApiError, install, problem
from ledger.formats.tlog_witness import (
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    WitnessRefusal,
    encode_size,
)
from ledger.service.witness import Witness

NOTE_TYPE = "text/plain; charset=utf-8"

_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
}
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


def create_witness_app(witness: Witness) -> FastAPI:
    """The witness's app."""
    app = FastAPI(title="model-ledger witness", docs_url=None, redoc_url=None, openapi_url=None)
    install(app)
    # One add-checkpoint at a time in this process: the state's compare-and-swap keeps
    # several processes (or a PostgreSQL state) safe; the lock only saves 409 retries.
    lock = asyncio.Lock()

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await read_body(request, MAX_REQUEST_BYTES)
        try:
            async with lock:
                answer = await asyncio.to_thread(witness.add_checkpoint, body)
        except WitnessRefusal as refusal:
            if refusal.status == 409 and refusal.size is not None:
                # Exactly the spec's type: media_type would append "; charset=utf-8".
                return Response(
                    encode_size(refusal.size), 409, headers={"Content-Type": SIZE_CONTENT_TYPE}
                )
            return problem(refusal.status, _TITLES[refusal.status], refusal.detail)
        return Response(answer, 200, media_type=NOTE_TYPE)

    @app.get("/{origin_hash}/checkpoint")
    async def checkpoint(origin_hash: str) -> Response:
        if not _ORIGIN_HASH.fullmatch(origin_hash):
            raise _NotFound("the path is /<SHA-256 of the origin, lowercase hex>/checkpoint")
        note = await asyncio.to_thread(witness.checkpoint, origin_hash)
        if note is None:
            raise _NotFound("this witness has cosigned no checkpoint of that log")
        return Response(note, 200, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})

    return app


class _NotFound(ApiError):
    status = 404
    title = "Not Found"
