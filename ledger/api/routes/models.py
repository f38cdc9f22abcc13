"""Model provenance: register an artefact (admin), read its lineage with evidence (auditor)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ledger.api.deps import AdminKey, AuditorKey, ServicesDep
from ledger.api.errors import BadRequestError
from ledger.api.models import ModelAccepted, ModelLineage
from ledger.api.routes.entries import _body as read_body
from ledger.provenance import check_new_model, lineage
from ledger.records import MAX_RECORD_BYTES, RECORD_VERSION, ModelBody, now_ts, parse_object

router = APIRouter(prefix="/v1/models", tags=["models"])


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its local `$defs` references written out (OpenAPI resolves
    `#/...` against its own document, where no `$defs` exist)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_MODEL_BODY = {
    "description": "The body of a `model` record; the server adds v, kind, salt and ts.",
    "content": {"application/json": {"schema": _inline(ModelBody.model_json_schema())}},
    "required": True,
}


def _registering(request: Request) -> asyncio.Lock:
    """The app's lock that checks and stores one model registration at a time, so two
    requests cannot both register a version. Across several API workers the check is
    best effort; readers resolve a version registered twice to its first registration
    (ledger.provenance)."""
    state = request.app.state
    lock: asyncio.Lock | None = getattr(state, "registering_models", None)
    if lock is None:  # no await since the check: one event loop, no race
        lock = state.registering_models = asyncio.Lock()
    return lock


@router.post("", status_code=202, response_model=ModelAccepted, openapi_extra={"requestBody": _MODEL_BODY})
async def create_model(request: Request, services: ServicesDep, _key: AdminKey) -> Response:
    """Register a model artefact whose parents are registered; 202 with leaf hash, receipt and record."""
    raw = await read_body(request, MAX_RECORD_BYTES)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequestError(f"request body is not valid JSON: {error}") from None
    entry = parse_object({"v": RECORD_VERSION, "kind": "model", "body": body}, ts=now_ts())
    async with _registering(request):
        await run_in_threadpool(check_new_model, services.store, entry)
        ((seq, receipt),) = await services.ingestor.submit([entry])
    record = entry.canonical.decode()
    return Response(
        f'{{"leaf_hash":"0x{entry.leaf_hash.hex()}","seq":{seq},"receipt":{receipt},"record":{record}}}',
        status_code=202,
        media_type="application/json",
    )


@router.get("/{model_id:path}", response_model=ModelLineage)
def read_model(model_id: str, services: ServicesDep, _key: AuditorKey) -> dict[str, Any]:
    """A model's versions and its lineage back to the roots, each node with its evidence."""
    return lineage(services.store, services.anchors, model_id)
