"""Model provenance: register an artefact (admin), read its lineage with evidence (auditor)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ledger.api.bodies import read_body, read_json
from ledger.api.deps import AdminKey, AuditorKey, Services, ServicesDep
from ledger.api.schemas import ModelAccepted, ModelLineage, request_body
from ledger.core.records import (
    MAX_RECORD_BYTES,
    RECORD_VERSION,
    Entry,
    now_ts,
    parse_object,
)
from ledger.service.provenance import lineage, register_model

router = APIRouter(prefix="/v1/models", tags=["models"])


_MODEL_BODY = request_body(
    "ModelBody",
    "The body of a `model` record (docs/records.md); the server adds v, kind, salt and ts.",
)


def _register(services: Services, entry: Entry, received_at: str) -> Response:
    seq = register_model(services.store, entry)
    (receipt,) = services.signer.receipts_json([(entry.leaf_hash, seq)], received_at)
    services.metrics.count_entries(1)
    record = entry.canonical.decode()
    return Response(
        f'{{"leaf_hash":"0x{entry.leaf_hash.hex()}","seq":{seq},"receipt":{receipt},"record":{record}}}',
        status_code=202,
        media_type="application/json",
    )


@router.post(
    "", status_code=202, response_model=ModelAccepted, openapi_extra={"requestBody": _MODEL_BODY}
)
async def create_model(request: Request, services: ServicesDep, _key: AdminKey) -> Response:
    """Register a model artefact whose parents are registered; 202 with leaf hash, receipt and \
record."""
    body = read_json(await read_body(request, MAX_RECORD_BYTES))
    received_at = now_ts()
    entry = parse_object({"v": RECORD_VERSION, "kind": "model", "body": body}, ts=received_at)
    return await run_in_threadpool(_register, services, entry, received_at)


@router.get("/{model_id:path}", response_model=ModelLineage)
def read_model(model_id: str, services: ServicesDep, _key: AuditorKey) -> dict[str, Any]:
    """A model's versions and its lineage back to the roots, each node with its evidence."""
    return lineage(services.store, services.anchors, model_id, witnesses=services.witness_policy)
