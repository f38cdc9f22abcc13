"""Proofs: inclusion (auditors, licensees for their own entries) and consistency (public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ledger.api.deps import ReaderKey, ServicesDep
from ledger.api.schemas import ConsistencyProofPublic, InclusionProofPublic
from ledger.api.views import anchor_view, hex0x, parse_hash
from ledger.errors import NotFoundError
from ledger.service.proofs import consistency, inclusion
from ledger.store import queries
from ledger.store.keys import ApiKey, Role

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])


def check_owner(services: Any, key: ApiKey, leaf: bytes) -> None:
    """A licensee key may only see entries of its own licensee (account id). Another's
    entry is answered exactly as one that does not exist: the same 404 and words, after
    the same single read, so the answer tells nothing about other licensees' entries."""
    if key.role is not Role.LICENSEE:
        return
    exists, account = queries.account_of(services.store, leaf)
    if not exists or account != key.licensee:
        raise NotFoundError(f"no entry has leaf hash {hex0x(leaf)}")


@router.get("/inclusion/{leaf_hash}", response_model=InclusionProofPublic)
def read_inclusion_proof(
    leaf_hash: str,
    services: ServicesDep,
    key: ReaderKey,
    tree_size: Annotated[
        int | None, Query(ge=1, description="Prove against this size (default: latest).")
    ] = None,
) -> dict[str, Any]:
    """The inclusion proof of an entry, with the anchor of that tree size if any."""
    leaf = parse_hash(leaf_hash)
    check_owner(services, key, leaf)
    proof = inclusion(services.store, leaf, tree_size)
    return {
        "leaf_hash": hex0x(leaf),
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "root": hex0x(proof.root),
        "proof": [hex0x(node) for node in proof.proof],
        "anchor": anchor_view(services, services.anchors.get(proof.tree_size)),
    }


@router.get("/consistency", response_model=ConsistencyProofPublic)
def read_consistency_proof(
    services: ServicesDep,
    first: Annotated[int, Query(ge=1, description="The older tree size.")],
    second: Annotated[int, Query(ge=1, description="The newer tree size.")],
) -> dict[str, Any]:
    """The consistency proof between two tree sizes (public)."""
    proof = consistency(services.store, first, second)
    return {
        "first": proof.first,
        "second": proof.second,
        "first_root": hex0x(proof.first_root),
        "second_root": hex0x(proof.second_root),
        "proof": [hex0x(node) for node in proof.proof],
    }
