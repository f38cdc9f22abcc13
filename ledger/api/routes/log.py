"""The log's identity: the document every verifier pins (public)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ledger.api.deps import ServicesDep
from ledger.api.schemas import LogIdentityPublic
from ledger.errors import NotFoundError

router = APIRouter(prefix="/v1/log", tags=["log"])


@router.get(
    "", response_model=LogIdentityPublic, response_model_exclude_unset=True
)  # optional fields only when set
def read_log_identity(services: ServicesDep) -> dict[str, Any]:
    """The log identity document every verifier pins with `--log` (chain, LogAnchor, log id, \
LicenceRegistry, log key, deployment block; `mledger identity` prints the same): keep it from a \
trusted channel."""
    deployment = services.anchors.deployment()
    if deployment is None:
        raise NotFoundError("this log has no deployment on a chain yet: it has no identity to pin")
    identity = deployment.identity(
        bytes.fromhex(services.signer.address[2:]),
        rpc_url=services.public_rpc_url,
        explorer=services.explorer_url,
        note_vkey=None if services.signer.note is None else services.signer.note.vkey(),
        witnesses=services.witnesses,
        witness_quorum=services.witness_quorum,
    )
    return identity.as_json()
