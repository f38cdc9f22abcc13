"""Entries: ingest (single and batch, with signed receipts), read one, search."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ledger.api.bodies import read_body
from ledger.api.deps import AuditorKey, IngestKey, ServicesDep
from ledger.api.errors import BadRequestError, ForbiddenError, TooLargeError
from ledger.api.schemas import (
    MAX_BATCH,
    BatchAccepted,
    EntryAccepted,
    EntryPage,
    EntryPublic,
    request_body,
)
from ledger.api.views import anchored_size, hex0x, parse_hash
from ledger.core.records import (
    KINDS,
    MAX_RECORD_BYTES,
    TIME_FORMS,
    Entry,
    RecordError,
    now_ts,
    parse_json,
    parse_object,
)
from ledger.errors import InvalidRequestError, NotFoundError
from ledger.formats.pack import QueryError, time_bound
from ledger.formats.statement import RESERVED_SALT, statement_record
from ledger.store import queries
from ledger.store.keys import ApiKey, Role

router = APIRouter(prefix="/v1/entries", tags=["entries"])

MAX_BATCH_BYTES = 32 << 20
"""Largest batch request body (32 MiB)."""

INGEST_KINDS = frozenset({"interaction", "digest"})
"""The record kinds an ingest key may log. A licence or model record is the operator's
word (a grant, a registered artefact): it enters with an admin key, through the route
that checks and records it (or, unchecked, through these routes)."""

_ROUTE_OF_KIND = {
    "licence": "POST /v1/licences (grant, amend) and POST /v1/licences/{id}/revoke",
    "model": "POST /v1/models",
}


def check_kind(key: ApiKey, kind: str, where: str) -> None:
    """403 naming `where` (``entries[3].kind``) unless `key` may log records of `kind`."""
    if kind in INGEST_KINDS or key.role is Role.ADMIN:
        return
    raise ForbiddenError(
        f"{where}: an {key.role.value} key may not log {kind} records; they enter with an admin key"
        f" through {_ROUTE_OF_KIND[kind]}",
        field=where,
    )


def check_salt(entry: Entry, where: str) -> None:
    """403 naming `where` (``entries[3].salt``) for a record with the salt the log gives
    its own statement records (`ledger.formats.statement.statement_salt`): only the log
    logs erasures, holds and lifts, and a verifier takes such a record as the log's."""
    if statement_record(entry.kind, entry.external_id, entry.canonical):
        raise ForbiddenError(f"{where}: {RESERVED_SALT}", field=where)


_CURSOR = re.compile(r"[0-9]{1,18}")
"""A next_cursor: an arrival number, ASCII digits, below SQL's BIGINT limit."""


_RECORD_BODY = request_body(
    "Record",
    "One record envelope of any kind (docs/records.md); the log fills in salt and ts when"
    " they are absent.",
)
_BATCH_BODY = request_body("BatchRequest", "Records of any kind, stored all or nothing.")


def _accepted(text: str) -> Response:
    return Response(text, status_code=202, media_type="application/json")


@router.post(
    "", status_code=202, response_model=EntryAccepted, openapi_extra={"requestBody": _RECORD_BODY}
)
async def create_entry(request: Request, services: ServicesDep, key: IngestKey) -> Response:
    """Store one record; 202 with its leaf hash, seq and signed receipt once durable."""
    body = await read_body(request, MAX_RECORD_BYTES)
    received_at = now_ts()
    try:
        entry = parse_json(body, ts=received_at)
    except RecordError as error:
        if not error.field and error.message.startswith("not valid JSON"):
            raise BadRequestError(f"request body is {error.message}") from None
        raise
    check_kind(key, entry.kind, "kind")
    check_salt(entry, "salt")
    ((seq, receipt),) = await services.ingestor.submit([entry])
    return _accepted(f'{{"leaf_hash":"0x{entry.leaf_hash.hex()}","seq":{seq},"receipt":{receipt}}}')


def _parse_batch(body: bytes, received_at: str, key: ApiKey) -> list[Entry]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequestError(f"request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise BadRequestError('request body must be an object {"entries": [...]}')
    unknown = sorted(set(document) - {"entries"})
    if unknown:
        raise RecordError(unknown[0], "unknown field")
    records = document.get("entries")
    if not isinstance(records, list):
        raise RecordError(
            "entries",
            "field required: a list of records" if records is None else "must be a list of records",
        )
    if not records:
        raise RecordError("entries", "must hold at least one record")
    if len(records) > MAX_BATCH:
        raise TooLargeError(
            f"batch holds {len(records)} entries; the limit is {MAX_BATCH}", field="entries"
        )
    parsed = []
    for index, record in enumerate(records):
        try:
            entry = parse_object(record, ts=received_at)
        except RecordError as error:
            where = f"entries[{index}]" + (f".{error.field}" if error.field else "")
            raise RecordError(where, error.message) from None
        if entry.kind not in INGEST_KINDS:  # the common case decided without building the name
            check_kind(key, entry.kind, f"entries[{index}].kind")
        if entry.kind == "digest":
            check_salt(entry, f"entries[{index}].salt")
        parsed.append(entry)
    return parsed


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def create_entries(request: Request, services: ServicesDep, key: IngestKey) -> Response:
    """Store up to 10,000 records all or nothing; 202 with one receipt each once durable."""
    body = await read_body(request, MAX_BATCH_BYTES)
    received_at = now_ts()
    batch = await run_in_threadpool(_parse_batch, body, received_at, key)
    receipts = await services.ingestor.submit(batch)
    return _accepted('{"receipts":[' + ",".join(text for _seq, text in receipts) + "]}")


@router.get("/{leaf_hash}", response_model=EntryPublic)
def read_entry(leaf_hash: str, services: ServicesDep, _key: AuditorKey) -> dict[str, Any]:
    """One entry: its canonical record, leaf index (null while pending) and status."""
    leaf = parse_hash(leaf_hash)
    with services.store.read() as conn:
        entry = services.store.find_entry(conn, leaf)
    if entry is None:
        raise NotFoundError(f"no entry has leaf hash {hex0x(leaf)}")
    if entry.leaf_index is None:
        status = "pending"
    else:
        status = "anchored" if entry.leaf_index < anchored_size(services) else "sequenced"
    return {
        "leaf_hash": hex0x(leaf),
        "seq": entry.seq,
        "kind": entry.kind,
        "ts": entry.ts,
        "record": None if entry.erased_at else json.loads(entry.record),
        "leaf_index": entry.leaf_index,
        "status": status,
        "erased": None
        if entry.erased_at is None or entry.erased_by is None
        else {"at": entry.erased_at, "by": hex0x(entry.erased_by)},
    }


def _ts_bound(value: str | None, name: str) -> str | None:
    """A search bound in the stored form of record times (they compare as text)."""
    if value is None:
        return None
    try:
        return time_bound(value, name)
    except QueryError as error:
        raise InvalidRequestError(f"{name} {error.message}") from None


@router.get("", response_model=EntryPage)
def search_entries(
    services: ServicesDep,
    _key: AuditorKey,
    external_id: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    ts_from: Annotated[
        str | None,
        Query(
            alias="from",
            description="Inclusive lower bound on ts: a date (midnight UTC) or an RFC 3339"
            " UTC time (" + TIME_FORMS + ").",
            examples=["2026-06-01", "2026-06-01T00:00:00Z"],
        ),
    ] = None,
    ts_to: Annotated[
        str | None,
        Query(alias="to", description="Exclusive upper bound on ts, same forms as from."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> dict[str, Any]:
    """Search entries by external id, account, kind and time range, in arrival order (seq), \
paged."""
    if kind is not None and kind not in KINDS:
        raise InvalidRequestError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    after = 0
    if cursor is not None:
        if not _CURSOR.fullmatch(cursor):
            raise InvalidRequestError(
                f"cursor must be a next_cursor from a previous page, got {cursor!r:.80}"
            )
        after = int(cursor)
    page, next_seq = queries.search(
        services.store,
        external_id=external_id,
        account_id=account_id,
        kind=kind,
        ts_from=_ts_bound(ts_from, "from"),
        ts_to=_ts_bound(ts_to, "to"),
        after_seq=after,
        limit=limit,
    )
    return {
        "entries": [
            {
                "leaf_hash": hex0x(hit.leaf_hash),
                "seq": hit.seq,
                "kind": hit.kind,
                "ts": hit.ts,
                "external_id": hit.external_id,
                "account_id": hit.account_id,
                "model": hit.model,
                "leaf_index": hit.leaf_index,
            }
            for hit in page
        ],
        "next_cursor": None if next_seq is None else str(next_seq),
    }
