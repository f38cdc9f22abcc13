"""Checkpoints: the latest and any sealed size, signed, with their anchor (public)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from ledger.api.deps import ServicesDep
from ledger.api.limits import MAX_TREE_SIZE
from ledger.api.schemas import CheckpointPublic
from ledger.api.views import checkpoint_view
from ledger.errors import NotFoundError
from ledger.store import queries

router = APIRouter(prefix="/v1/checkpoints", tags=["checkpoints"])


@router.get("/latest", response_model=CheckpointPublic)
def read_latest_checkpoint(services: ServicesDep) -> dict[str, Any]:
    """The latest checkpoint: size, root, time, the log key's signature and its anchor."""
    found = queries.checkpoint(services.store)
    if found is None:
        raise NotFoundError("the log has no checkpoint yet: nothing was sealed")
    return checkpoint_view(services, found)


@router.get("/{size}", response_model=CheckpointPublic)
def read_checkpoint(
    services: ServicesDep, size: int = Path(ge=1, le=MAX_TREE_SIZE, description="Tree size.")
) -> dict[str, Any]:
    """The checkpoint sealed at exactly this tree size."""
    found = queries.checkpoint(services.store, size)
    if found is None:
        raise NotFoundError(f"no checkpoint was sealed at tree size {size}")
    return checkpoint_view(services, found)
