"""Admin: seal now, anchor now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ledger.api.deps import AdminKey, ServicesDep
from ledger.api.errors import UnavailableError
from ledger.api.schemas import AnchorPublic, SealResult
from ledger.api.views import anchor_view, hex0x
from ledger.service.sequencer import seal

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/seal", response_model=SealResult)
def seal_now(services: ServicesDep, _key: AdminKey) -> dict[str, Any]:
    """Sequence every pending entry now; the new checkpoint."""
    state = seal(services.store, note=services.signer.note)
    return {"tree_size": state.tree_size, "root": hex0x(state.root)}


@router.post("/anchor", response_model=AnchorPublic)
def anchor_now(services: ServicesDep, _key: AdminKey) -> dict[str, Any]:
    """Seal, anchor the latest checkpoint now and wait until it is confirmed on chain."""
    if services.anchor_now is None:
        raise UnavailableError(
            "anchoring is not configured on this server: start it with --rpc-url and a deployment"
        )
    seal(services.store, note=services.signer.note)
    view = anchor_view(services, services.anchor_now())
    assert view is not None  # anchor_now returns a confirmed anchor of the deployment
    return view
