"""Admin: erase entries, place and lift legal holds (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ledger.api.bodies import read_body, read_model
from ledger.api.deps import AdminKey, AuditorKey, Services, ServicesDep
from ledger.api.schemas import (
    ErasureDone,
    ErasureRequest,
    HoldList,
    HoldPublic,
    HoldRequest,
    LiftRequest,
    request_body,
)
from ledger.api.views import hex0x, parse_hash
from ledger.errors import InvalidRequestError, NotFoundError
from ledger.service.erasure import add_hold, erase, hold_json, lift_hold, list_holds
from ledger.service.sequencer import seal
from ledger.store.erasure import ErasureStore

router = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_BODY = 1 << 20
"""Largest erasure or hold request (10,000 leaf hashes fit)."""


def _erase(services: Services, asked: ErasureRequest) -> dict[str, Any]:
    chosen = [asked.account is not None, asked.leaves is not None, asked.before is not None]
    if sum(chosen) != 1:
        raise InvalidRequestError("give exactly one of account, leaves or before")
    full = asked.vacuum_full
    if asked.account is not None:
        done = erase(
            services.store, "account", asked.reason, account=asked.account, vacuum_full=full
        )
    elif asked.leaves is not None:
        leaves = [bytes.fromhex(leaf[2:]) for leaf in asked.leaves]
        done = erase(services.store, "leaves", asked.reason, leaves=leaves, vacuum_full=full)
    else:
        done = erase(services.store, "before", asked.reason, before=asked.before, vacuum_full=full)
    if done.record is not None:
        seal(services.store, note=services.signer.note)
    return done.as_json()


@router.post(
    "/erasures",
    response_model=ErasureDone,
    openapi_extra={"requestBody": request_body("ErasureRequest", "What to erase, and why.")},
)
async def create_erasure(request: Request, services: ServicesDep, _key: AdminKey) -> Any:
    """Erase the records of the chosen entries for good (leaf hashes stay) and log it."""
    asked = read_model(await read_body(request, MAX_BODY), ErasureRequest)
    return await run_in_threadpool(_erase, services, asked)


@router.post(
    "/holds",
    status_code=201,
    response_model=HoldPublic,
    openapi_extra={"requestBody": request_body("HoldRequest", "What to hold, and why.")},
)
async def create_hold(request: Request, services: ServicesDep, _key: AdminKey) -> Any:
    """Place a legal hold on an account or a licence (logged): erasure skips it."""
    asked = read_model(await read_body(request, MAX_BODY), HoldRequest)
    if (asked.account is None) == (asked.licence is None):
        raise InvalidRequestError("give exactly one of account or licence")
    scope, value = ("account", asked.account) if asked.account else ("licence", asked.licence)
    assert value is not None
    hold = await run_in_threadpool(add_hold, services.store, scope, value, asked.reason)
    return hold_json(hold)


@router.post(
    "/holds/{hold_id}/lift",
    response_model=HoldPublic,
    openapi_extra={"requestBody": request_body("LiftRequest", "Why the hold is lifted.")},
)
async def lift(hold_id: str, request: Request, services: ServicesDep, _key: AdminKey) -> Any:
    """Lift a legal hold (logged): its entries may be erased again."""
    asked = read_model(await read_body(request, MAX_BODY), LiftRequest)
    hold = await run_in_threadpool(lift_hold, services.store, hold_id, asked.reason)
    return hold_json(hold)


@router.get("/holds", response_model=HoldList)
def read_holds(services: ServicesDep, _key: AdminKey, active: bool = False) -> Any:
    """Every legal hold, oldest first (only those not lifted with active=true)."""
    return {"holds": [hold_json(hold) for hold in list_holds(services.store, active)]}


statements_router = APIRouter(prefix="/v1/statements", tags=["erasure"])


@statements_router.get("/{leaf_hash}", response_class=Response)
def read_statement(leaf_hash: str, services: ServicesDep, _key: AuditorKey) -> Response:
    """The statement (erasure, hold or lift) a digest record of the log commits to."""
    leaf = parse_hash(leaf_hash)
    with services.store.read() as conn:
        found = ErasureStore(services.store).statement(conn, leaf)
    if found is None:
        raise NotFoundError(f"no erasure, hold or lift statement is logged by {hex0x(leaf)}")
    return Response(found[1], media_type="application/json")
