"""Licences: grant or amend, revoke (admin), list and read (auditors; licensees their own)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ledger.api.bodies import read_body, read_json, read_model
from ledger.api.deps import AdminKey, ReaderKey, Services, ServicesDep
from ledger.api.schemas import RevokeRequest, request_body
from ledger.core.records import MAX_RECORD_BYTES, now_ts
from ledger.errors import NotAnchoredError, NotFoundError, NotSequencedError
from ledger.service.evidence import build_evidence
from ledger.service.licences import Appended, Licence, grant, licence_view, read_licence, revoke
from ledger.store.keys import Role
from ledger.store.licences import LicenceRepository

router = APIRouter(prefix="/v1/licences", tags=["licences"])

_LICENCE_BODY = request_body(
    "LicenceRequest",
    "A licence record with action grant or amend, or only its body (docs/records.md).",
)


class RegistryPublic(BaseModel):
    """The LicenceRegistry that holds the licence's commitment."""

    chain_id: int
    contract: str


class CallPublic(BaseModel):
    """A registry call on its way to the chain."""

    status: Literal["pending", "submitted", "confirmed", "failed"]
    tx_hash: str | None
    block_number: int | None
    last_error: str | None


class LicencePublic(BaseModel):
    """A licence: its status, validity, on-chain state, evidence, and the record the
    licensee keeps (check it with `mledger licence check`)."""

    licence_id: str
    licensee: str
    status: Literal[
        "active", "expired", "revoked", "not_yet_valid", "grant_failed", "revoke_failed"
    ]
    """By the service's clock; ``grant_failed`` or ``revoke_failed`` when the registry
    refused the current commitment's grant or revocation for good."""
    status_reason: str | None
    """Why the status is ``grant_failed`` or ``revoke_failed`` (the refused call's error)."""
    valid_from: str
    valid_until: str
    commitment: str
    record: dict[str, Any]
    registry: RegistryPublic | None
    on_chain: dict[str, CallPublic | None]
    revoked: dict[str, Any] | None
    history: list[dict[str, Any]]
    evidence: dict[str, Any] | None


class LicenceAppended(LicencePublic):
    """The licence after a record was appended: that record's leaf hash, seq and receipt."""

    leaf_hash: str
    seq: int
    receipt: dict[str, Any]


class LicenceSummary(BaseModel):
    """A licence in a list: GET /v1/licences/{id} has its record, calls and evidence."""

    licence_id: str
    licensee: str
    status: str
    valid_from: str
    valid_until: str
    commitment: str


class LicencePage(BaseModel):
    """One page of licences in id order; pass `next_cursor` as `cursor` for the next."""

    licences: list[LicenceSummary]
    next_cursor: str | None


_REVOKE_BODY = request_body(
    "RevokeRequest", "Optional: why the licence is revoked.", required=False
)


def _view(services: Services, licence: Licence) -> dict[str, Any]:
    view = licence_view(services.store, services.anchors.deployment(), licence, int(time.time()))
    try:
        view["evidence"] = build_evidence(services.store, services.anchors, licence.commitment)
    except (NotSequencedError, NotAnchoredError):
        view["evidence"] = None  # until the record is sealed and anchored
    if view["revoked"] is not None and licence.revocation is not None:
        # the revoke record's own bundle: with on_chain.revocation it proves the reason
        try:
            view["revoked"]["evidence"] = build_evidence(
                services.store, services.anchors, licence.revocation.record_hash
            )
        except (NotSequencedError, NotAnchoredError):
            view["revoked"]["evidence"] = None  # until the revoke record is anchored
    return view


def _appended(
    services: Services, appended: Appended, licence_id: str, received_at: str
) -> JSONResponse:
    leaf = appended.entry.leaf_hash
    (receipt,) = services.signer.receipts_json([(leaf, appended.seq)], received_at)
    services.metrics.count_entries(1)
    view = _view(services, read_licence(LicenceRepository(services.store), licence_id))
    view |= {"leaf_hash": "0x" + leaf.hex(), "seq": appended.seq, "receipt": json.loads(receipt)}
    return JSONResponse(view, status_code=201)


@router.post(
    "",
    status_code=201,
    response_model=LicenceAppended,
    openapi_extra={"requestBody": _LICENCE_BODY},
)
async def create_licence(request: Request, services: ServicesDep, _key: AdminKey) -> JSONResponse:
    """Grant or amend a licence: the record enters the log and its commitment goes on chain."""
    document = read_json(await read_body(request, MAX_RECORD_BYTES))
    received_at = now_ts()
    repo = LicenceRepository(services.store)
    appended = await run_in_threadpool(grant, repo, document, ts=received_at, now=received_at)
    licence_id = json.loads(appended.entry.canonical)["body"]["licence_id"]
    return await run_in_threadpool(_appended, services, appended, licence_id, received_at)


def _revoke(services: Services, licence_id: str, reason: str | None) -> JSONResponse:
    received_at = now_ts()
    appended = revoke(
        LicenceRepository(services.store), licence_id, reason, ts=received_at, now=received_at
    )
    return _appended(services, appended, licence_id, received_at)


@router.post(
    "/{licence_id}/revoke",
    status_code=201,
    response_model=LicenceAppended,
    openapi_extra={"requestBody": _REVOKE_BODY},
)
async def revoke_licence(
    licence_id: str, request: Request, services: ServicesDep, _key: AdminKey
) -> JSONResponse:
    """Revoke a licence: a revoke record enters the log and its commitment is revoked on chain."""
    raw = await read_body(request, MAX_RECORD_BYTES)
    reason = read_model(raw, RevokeRequest).reason if raw.strip() else None
    return await run_in_threadpool(_revoke, services, licence_id, reason)


@router.get("", response_model=LicencePage)
def list_licences(
    services: ServicesDep,
    key: ReaderKey,
    licensee: Annotated[
        str | None,
        Query(description="Only this licensee's (auditors); a licensee key sees only its own."),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=256, description="`next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Licences per page.")] = 50,
) -> dict[str, Any]:
    """The licences (a licensee key: its own, all of them), in licence id order, paged."""
    if key.role is Role.LICENSEE:
        if licensee is not None and licensee != key.licensee:
            return {"licences": [], "next_cursor": None}  # as for a licensee without licences
        licensee = key.licensee
    repo = LicenceRepository(services.store)
    ids = repo.licence_ids(licensee, cursor, limit + 1)
    now = int(time.time())
    page = []
    for licence_id in ids[:limit]:
        licence = read_licence(repo, licence_id)
        view = licence_view(services.store, services.anchors.deployment(), licence, now)
        page.append({field: view[field] for field in LicenceSummary.model_fields})
    return {"licences": page, "next_cursor": ids[limit - 1] if len(ids) > limit else None}


@router.get("/{licence_id}", response_model=LicencePublic)
def read_licence_status(licence_id: str, services: ServicesDep, key: ReaderKey) -> dict[str, Any]:
    """A licence's status, validity, on-chain state and evidence, with its record."""
    try:
        licence = read_licence(LicenceRepository(services.store), licence_id)
        if key.role is Role.LICENSEE and licence.licensee != key.licensee:
            raise NotFoundError(
                licence_id
            )  # another's licence is answered as one that does not exist
    except NotFoundError:
        raise NotFoundError(f"no licence has id {licence_id!r}") from None
    return _view(services, licence)
