"""How stored things look in responses: 0x hex, anchors, signed checkpoints."""

from __future__ import annotations

from typing import Any

from ledger.api.deps import Services
from ledger.store.anchors import Anchor, AnchorStatus
from ledger.store.queries import Checkpoint


def hex0x(data: bytes) -> str:
    """0x-prefixed lowercase hex."""
    return "0x" + data.hex()


def opt_hex(data: bytes | None) -> str | None:
    """hex0x, keeping None."""
    return None if data is None else hex0x(data)


def parse_hash(value: str, name: str = "leaf_hash") -> bytes:
    """A 32-byte hash from 64 hex digits, 0x optional; InvalidRequestError otherwise."""
    from ledger.errors import InvalidRequestError

    digits = value[2:] if value[:2].lower() == "0x" else value
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        raise InvalidRequestError(f"{name} is not hex: {value!r}") from None
    if len(data) != 32:
        raise InvalidRequestError(f"{name} must be 32 bytes (64 hex digits), got {len(data)} bytes")
    return data


def anchor_view(services: Services, anchor: Anchor | None) -> dict[str, Any] | None:
    """An anchor row as the API shows it (None without a row or a deployment)."""
    deployment = services.anchors.deployment()
    if anchor is None or deployment is None:
        return None
    return {
        "chain_id": deployment.chain_id,
        "contract": hex0x(deployment.contract),
        "log_id": hex0x(deployment.log_id),
        "tx_hash": opt_hex(anchor.tx_hash),
        "block_number": anchor.block_number,
        "block_hash": opt_hex(anchor.block_hash),
        "block_timestamp": anchor.block_timestamp,
        "status": anchor.status.value,
    }


def anchored_size(services: Services) -> int:
    """The largest tree size confirmed on chain (0 when none)."""
    latest = services.anchors.latest_confirmed()
    return 0 if latest is None else latest.tree_size


def is_confirmed(anchor: Anchor | None) -> bool:
    """Whether an anchor row is confirmed on chain."""
    return anchor is not None and anchor.status is AnchorStatus.CONFIRMED


def checkpoint_view(services: Services, checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint with the log key's signature (cached per size) and its anchor."""
    signer = services.signer
    signature = services.checkpoint_signatures.get(checkpoint.tree_size)
    if signature is None:
        signature = signer.sign_checkpoint(
            checkpoint.tree_size, checkpoint.root, checkpoint.index_root
        )
        if len(services.checkpoint_signatures) > 4096:
            services.checkpoint_signatures.clear()
        services.checkpoint_signatures[checkpoint.tree_size] = signature
    return {
        "log_id": hex0x(signer.domain.log_id),
        "tree_size": checkpoint.tree_size,
        "root": hex0x(checkpoint.root),
        "index_root": hex0x(checkpoint.index_root),
        "timestamp": checkpoint.created_at,
        "signer": signer.address,
        "signature": signature,
        "domain": signer.domain.as_json(),
        "anchor": anchor_view(services, services.anchors.get(checkpoint.tree_size)),
    }
