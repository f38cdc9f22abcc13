"""The receipt: the log key's signed promise for one entry (ledger.service.signer writes
it; ledger.verify.receipt checks it). Documented in docs/api.md.

    {"leaf_hash": "0x...", "seq": 8, "log_id": "0x...", "received_at": "2026-...Z", "mmd": 3600,
     "batch": {"root": "0x...", "size": 3, "index": 1, "path": ["0x...", ...]},
     "signer": "0x<checksummed address>", "signature": "0x<65 bytes>",
     "domain": {"name": "model-ledger", "version": "1"[, "chainId": 31337,
                "verifyingContract": "0x..."]}}

One signature covers one commit group: the signed `Receipt` message holds the root of a
small RFC 9162 tree over the group's items, and each receipt carries its item's path:

    item = SHA-256(0x00 || leaf_hash || seq as 8 bytes big-endian)

`parse_receipt` reads one strictly (ReceiptError names the field).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.core.errors import InputError
from ledger.formats.eip712 import DOMAIN_NAME, DOMAIN_VERSION, Domain

MAX_PATH = 64
"""Most nodes in a batch path."""


class ReceiptError(InputError):
    """A receipt that does not check out; the message says why."""


def receipt_item(leaf_hash: bytes, seq: int) -> bytes:
    """The leaf of the batch tree for one entry."""
    return hashlib.sha256(b"\x00" + leaf_hash + seq.to_bytes(8, "big")).digest()


@dataclass(frozen=True)
class Receipt:
    """A receipt, read strictly."""

    leaf_hash: bytes
    seq: int
    log_id: bytes
    received_at: str
    mmd: int
    batch_root: bytes
    batch_size: int
    batch_index: int
    path: tuple[bytes, ...]
    signer: str
    signature: bytes
    domain: Domain


def _hex_bytes(value: Any, name: str, size: int) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ReceiptError(f"{name} must be a 0x-prefixed hex string")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise ReceiptError(f"{name} is not hex") from None
    if len(data) != size:
        raise ReceiptError(f"{name} must be {size} bytes, got {len(data)}")
    return data


def _int(value: Any, name: str, high: int = 2**256 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ReceiptError(f"{name} must be an integer from 0 to {high}")
    return value


_DOMAIN_KEYS = ({"name", "version"}, {"name", "version", "chainId", "verifyingContract"})
"""The two domains a receipt may carry: before the log's deployment, and after."""


def _domain(value: Any, log_id: bytes) -> Domain:
    """A receipt's EIP-712 domain, exactly one of the two forms the log signs: the name
    and version, plus (once deployed) an integer chainId and a 0x-lowercase contract."""
    if not isinstance(value, dict) or set(value) not in _DOMAIN_KEYS:
        raise ReceiptError(
            "domain must be {name, version} or {name, version, chainId, verifyingContract}"
        )
    if value["name"] != DOMAIN_NAME or value["version"] != DOMAIN_VERSION:
        raise ReceiptError(f"domain must be name {DOMAIN_NAME!r}, version {DOMAIN_VERSION!r}")
    if "chainId" not in value:
        return Domain(log_id)
    chain_id = _int(value["chainId"], "domain.chainId")
    contract = value["verifyingContract"]
    if not isinstance(contract, str) or contract != contract.lower():
        raise ReceiptError("domain.verifyingContract must be 0x and 40 lowercase hex digits")
    return Domain(log_id, chain_id, _hex_bytes(contract, "domain.verifyingContract", 20))


def parse_receipt(receipt: Mapping[str, Any]) -> Receipt:
    """A receipt from its decoded JSON; ReceiptError names the bad field."""
    try:
        log_id = _hex_bytes(receipt["log_id"], "log_id", 32)
        batch = receipt["batch"]
        if not isinstance(batch["path"], list) or len(batch["path"]) > MAX_PATH:
            raise ReceiptError(f"batch.path must be a list of at most {MAX_PATH} hashes")
        parsed = Receipt(
            leaf_hash=_hex_bytes(receipt["leaf_hash"], "leaf_hash", 32),
            seq=_int(receipt["seq"], "seq", 2**64 - 1),
            log_id=log_id,
            received_at=receipt["received_at"],
            mmd=_int(receipt["mmd"], "mmd"),
            batch_root=_hex_bytes(batch["root"], "batch.root", 32),
            batch_size=_int(batch["size"], "batch.size", 2**64 - 1),
            batch_index=_int(batch["index"], "batch.index", 2**64 - 1),
            path=tuple(
                _hex_bytes(node, f"batch.path[{i}]", 32) for i, node in enumerate(batch["path"])
            ),
            signature=_hex_bytes(receipt["signature"], "signature", 65),
            domain=_domain(receipt["domain"], log_id),
            signer=receipt["signer"],
        )
    except (KeyError, TypeError) as error:
        raise ReceiptError(f"not a receipt: missing or malformed field {error}") from None
    if not isinstance(parsed.received_at, str) or len(parsed.received_at) > 64:
        raise ReceiptError("received_at must be a string of at most 64 characters")
    if not isinstance(parsed.signer, str):
        raise ReceiptError("signer must be an address")
    return parsed
