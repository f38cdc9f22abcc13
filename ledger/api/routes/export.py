"""Export: the log as NDJSON in leaf index order, for auditors (`mledger audit` checks it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ledger.api.deps import AuditorKey, ServicesDep
from ledger.errors import InvalidRequestError
from ledger.formats.export_line import EXPORT_MEDIA_TYPE, Erased, Logged, export_line
from ledger.store.exports import export_records

router = APIRouter(prefix="/v1/export", tags=["export"])

FLUSH_BYTES = 1 << 16
"""Lines are sent in pieces of about this many bytes."""


def _pieces(lines: Iterator[tuple[int, bytes | Erased | Logged]]) -> Iterator[bytes]:
    buffer: list[bytes] = []
    size = 0
    for index, record in lines:
        line = export_line(index, record)
        buffer.append(line)
        size += len(line)
        if size >= FLUSH_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


@router.get(
    "",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": 'NDJSON, one {"leaf_index", "record"} line per entry'
            ' ({"erased", "leaf_index"} for an erased one; {"leaf_index", "record",'
            ' "statement"} for a digest record that logs an erasure, hold or lift).',
            "content": {EXPORT_MEDIA_TYPE: {}},
        }
    },
)
def read_export(
    services: ServicesDep,
    _key: AuditorKey,
    from_index: Annotated[int, Query(ge=0, description="First leaf index (inclusive).")] = 0,
    to_index: Annotated[
        int | None, Query(ge=0, description="End leaf index (exclusive); default: the log's size.")
    ] = None,
) -> StreamingResponse:
    """The sequenced entries [from_index, to_index) as NDJSON, streamed in leaf index order."""
    try:
        end, lines = export_records(services.store, from_index, to_index)
    except ValueError as error:
        raise InvalidRequestError(str(error)) from None
    return StreamingResponse(
        _pieces(lines),
        media_type=EXPORT_MEDIA_TYPE,
        headers={"X-Ledger-Export-Range": f"{from_index}-{end}"},
    )
