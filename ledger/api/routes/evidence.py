"""Evidence: one entry's bundle (auditors, licensees for their own entries), and packs of
every anchored entry matching a campaign query (auditors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ledger.api.bodies import read_body, read_model
from ledger.api.deps import AuditorKey, ReaderKey, ServicesDep
from ledger.api.errors import ApiError
from ledger.api.routes.proofs import check_owner
from ledger.api.views import parse_hash
from ledger.core.records import KINDS, TIME_FORMS
from ledger.errors import InvalidRequestError
from ledger.formats.pack import (
    MAX_QUERY_ACCOUNTS,
    QueryError,
    check_complete_query,
    parse_query_input,
)
from ledger.service.evidence import (
    ANCHOR_CHOICE_HELP,
    DISCLOSE_HELP,
    build_evidence,
    build_tlog_proof,
    parse_anchor_choice,
    parse_disclosed,
)
from ledger.service.evidence_pack import UNANCHORED_HEADER, build_pack

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


class InvalidQueryError(ApiError):
    """A campaign query whose values cannot be answered."""

    status = 422
    title = "Unprocessable Content"


class EvidenceQuery(BaseModel):
    """Which entries a pack holds: those matching every given filter (any subset)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    account_ids: list[str] | None = Field(
        None,
        max_length=MAX_QUERY_ACCOUNTS,
        description="Account ids (a licence's licensee counts as its account).",
    )
    ts_from: str | None = Field(
        None,
        alias="from",
        description="Entries whose ts is at or after this (inclusive): a date (midnight UTC)"
        " or an RFC 3339 UTC time, " + TIME_FORMS + ".",
        examples=["2026-06-01", "2026-06-01T00:00:00Z"],
    )
    ts_to: str | None = Field(
        None,
        alias="to",
        description="Entries whose ts is before this (exclusive), same forms as from.",
        examples=["2026-07-01T00:00:00.000Z"],
    )
    model: str | None = Field(None, description="Model id (interaction and model records).")
    kind: str | None = Field(
        None,
        description="The record kind: interaction, licence, model or digest.",
        json_schema_extra={"enum": [*KINDS, None]},
    )
    complete: bool = Field(
        False,
        description="Also prove that the accounts have no other entry in the first S entries"
        " (S the newest confirmed anchor's size, or the one asked for): the pack carries each"
        " account key's index proof and the key's entries that do not match the query"
        " (docs/completeness.md). Needs account_ids and kind interaction, no model.",
    )


AnchorParam = Annotated[
    str | None,
    Query(
        max_length=100,
        description=f"Which confirmed anchor the evidence proves against: {ANCHOR_CHOICE_HELP}.",
    ),
]

DiscloseParam = Annotated[
    str | None, Query(max_length=2_000, description=f"Which fields to disclose: {DISCLOSE_HELP}.")
]

MAX_QUERY_BYTES = 4 << 20
"""Largest campaign query body (4 MiB): MAX_QUERY_ACCOUNTS account ids of a few hundred
bytes each."""

_QUERY_BODY = {
    "content": {"application/json": {"schema": EvidenceQuery.model_json_schema(by_alias=True)}},
    "required": True,
}


TLOG_PROOF_TYPE = "text/plain; charset=utf-8"

FormatParam = Annotated[
    Literal["bundle", "tlog-proof"],
    Query(
        description="bundle (default: model-ledger/evidence/v1, JSON) or tlog-proof"
        " (c2sp.org/tlog-proof@v1, text: the entry's index, inclusion proof and cosigned"
        " checkpoint note; anchor does not apply)."
    ),
]


@router.get(
    "/{leaf_hash}",
    response_model=None,
    responses={
        200: {
            "description": "An evidence bundle (JSON) or, with format=tlog-proof, a tlog-proof.",
            "content": {"application/json": {}, TLOG_PROOF_TYPE: {}},
        }
    },
)
def read_evidence(
    leaf_hash: str,
    services: ServicesDep,
    key: ReaderKey,
    anchor: AnchorParam = None,
    disclose: DiscloseParam = None,
    format: FormatParam = "bundle",
) -> dict[str, Any] | Response:
    """One anchored entry's evidence bundle, against the earliest anchor holding it by default."""
    leaf = parse_hash(leaf_hash)
    choice = parse_anchor_choice(anchor)
    disclosed = parse_disclosed(disclose)
    check_owner(services, key, leaf)
    if format == "tlog-proof":
        if anchor is not None:
            raise InvalidRequestError(
                "anchor goes with format=bundle: a tlog-proof names no anchor"
            )
        if disclosed is not None:
            raise InvalidRequestError(
                "disclose goes with format=bundle: a tlog-proof carries no record"
            )
        proof = build_tlog_proof(services.store, leaf)
        return Response(proof, media_type=TLOG_PROOF_TYPE)
    return build_evidence(services.store, services.anchors, leaf, choice, disclosed)


@router.post(
    "",
    responses={
        200: {
            "description": "An evidence pack (model-ledger/evidence-pack/v1).",
            "content": {"application/json": {}},
        }
    },
    openapi_extra={"requestBody": _QUERY_BODY},
)
async def create_evidence_pack(
    request: Request,
    services: ServicesDep,
    _key: AuditorKey,
    anchor: AnchorParam = None,
    disclose: DiscloseParam = None,
) -> Response:
    """One evidence pack (one multi-entry proof) for up to 100,000 anchored matching entries."""
    choice = parse_anchor_choice(anchor)
    disclosed = parse_disclosed(disclose)
    query = read_model(await read_body(request, MAX_QUERY_BYTES), EvidenceQuery)
    try:
        parsed = parse_query_input(
            query.model_dump(by_alias=True, exclude_none=True, exclude={"complete"})
        )
        if query.complete:
            check_complete_query(parsed)
    except QueryError as error:
        raise InvalidQueryError(str(error), field=error.field) from None
    pack = await run_in_threadpool(
        lambda: build_pack(
            services.store,
            services.anchors,
            parsed,
            anchor=choice,
            complete=query.complete,
            disclosed=disclosed,
        )
    )
    return Response(
        pack.document,
        media_type="application/json",
        headers={UNANCHORED_HEADER: str(pack.unanchored)},
    )
