"""Evidence bundles (auditors, licensees for their own entries)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ledger.api.deps import ReaderKey, ServicesDep
from ledger.api.routes.proofs import check_owner
from ledger.api.views import parse_hash
from ledger.evidence import build_evidence

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


@router.get("/{leaf_hash}")
def read_evidence(leaf_hash: str, services: ServicesDep, key: ReaderKey) -> dict[str, Any]:
    """The evidence bundle of one anchored entry, verifiable offline and against the chain."""
    leaf = parse_hash(leaf_hash)
    check_owner(services, key, leaf)
    return build_evidence(services.store, services.anchors, leaf)
