"""The log's EIP-712 typed data: one domain, five messages, their digests. Pure.

Domain: name "model-ledger", version "1", plus chainId and verifyingContract once the
log has a deployment (the LogAnchor for receipts, checkpoints and retirements; the
LicenceRegistry for grants and revocations). The messages:

    Receipt(bytes32 logId, bytes32 batchRoot, uint256 batchSize, string receivedAt,
            uint256 maximumMergeDelay)
    Checkpoint(bytes32 logId, uint64 treeSize, bytes32 root, bytes32 indexRoot)
        LogAnchor.anchor checks it
    Grant(bytes32 commitment, uint64 validFrom, uint64 validUntil)
        LicenceRegistry.grant
    Revoke(bytes32 commitment, bytes32 revocation)
        LicenceRegistry.revoke
    Retire(bytes32 logId, uint64 trustedSize)
        LogAnchor.retireLog (the admin's)

The signing side (ledger.service.signer) and the verifiers compute digests here; the
tests prove them equal to eth-account's `encode_typed_data` and to the contracts' own
`checkpointDigest`, `grantDigest`, `revokeDigest` and `retireDigest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.formats.abi import keccak256

DOMAIN_NAME = "model-ledger"
DOMAIN_VERSION = "1"

RECEIPT_TYPE = [
    {"name": "logId", "type": "bytes32"},
    {"name": "batchRoot", "type": "bytes32"},
    {"name": "batchSize", "type": "uint256"},
    {"name": "receivedAt", "type": "string"},
    {"name": "maximumMergeDelay", "type": "uint256"},
]
CHECKPOINT_TYPE = [
    {"name": "logId", "type": "bytes32"},
    {"name": "treeSize", "type": "uint64"},
    {"name": "root", "type": "bytes32"},
    {"name": "indexRoot", "type": "bytes32"},
]
GRANT_TYPE = [
    {"name": "commitment", "type": "bytes32"},
    {"name": "validFrom", "type": "uint64"},
    {"name": "validUntil", "type": "uint64"},
]
REVOKE_TYPE = [
    {"name": "commitment", "type": "bytes32"},
    {"name": "revocation", "type": "bytes32"},
]
RETIRE_TYPE = [
    {"name": "logId", "type": "bytes32"},
    {"name": "trustedSize", "type": "uint64"},
]

NO_INDEX_ROOT = bytes(32)
"""The index root of a checkpoint that commits to no verifiable index."""


def type_string(name: str, fields: list[dict[str, str]]) -> bytes:
    """EIP-712 `encodeType` of a struct without nested structs."""
    return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in fields)})".encode()


RECEIPT_TYPEHASH = keccak256(type_string("Receipt", RECEIPT_TYPE))
CHECKPOINT_TYPEHASH = keccak256(type_string("Checkpoint", CHECKPOINT_TYPE))
GRANT_TYPEHASH = keccak256(type_string("Grant", GRANT_TYPE))
REVOKE_TYPEHASH = keccak256(type_string("Revoke", REVOKE_TYPE))
RETIRE_TYPEHASH = keccak256(type_string("Retire", RETIRE_TYPE))


def uint_word(value: int, bits: int = 256, name: str = "value") -> bytes:
    """An unsigned integer as a 32-byte word; ValueError outside 0 .. 2^bits - 1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must be a uint{bits} (0 to 2^{bits} - 1), got {value!r:.80}")
    return value.to_bytes(32, "big")


def bytes32(value: bytes, name: str = "value") -> bytes:
    """`value`, checked to be 32 bytes."""
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")
    return value


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of a log: chain id and contract when it has a deployment."""

    log_id: bytes
    chain_id: int | None = None
    contract: bytes | None = None

    def as_json(self) -> dict[str, Any]:
        """The domain as eth-account's typed data expects it (and as receipts carry it)."""
        domain: dict[str, Any] = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION}
        if self.chain_id is not None and self.contract is not None:
            domain["chainId"] = self.chain_id
            domain["verifyingContract"] = "0x" + self.contract.hex()
        return domain

    def separator(self) -> bytes:
        """keccak256 of the encoded domain (EIP-712 `hashStruct(domain)`)."""
        fields = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}]
        values = keccak256(DOMAIN_NAME.encode()) + keccak256(DOMAIN_VERSION.encode())
        if self.chain_id is not None and self.contract is not None:
            fields += [
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ]
            values += uint_word(self.chain_id) + bytes(12) + self.contract
        return keccak256(keccak256(type_string("EIP712Domain", fields)) + values)


def digest(separator: bytes, struct_hash: bytes) -> bytes:
    """The EIP-712 digest of a message: keccak256(0x1901 || separator || struct hash)."""
    return keccak256(b"\x19\x01" + separator + struct_hash)


def receipt_struct(
    log_id: bytes, batch_root: bytes, batch_size: int, received_at: str, mmd: int
) -> bytes:
    """hashStruct of a Receipt."""
    return keccak256(
        RECEIPT_TYPEHASH
        + bytes32(log_id, "logId")
        + bytes32(batch_root, "batchRoot")
        + uint_word(batch_size, name="batchSize")
        + keccak256(received_at.encode())
        + uint_word(mmd, name="maximumMergeDelay")
    )


def checkpoint_struct(
    log_id: bytes, tree_size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
) -> bytes:
    """hashStruct of a Checkpoint."""
    return keccak256(
        CHECKPOINT_TYPEHASH
        + bytes32(log_id, "logId")
        + uint_word(tree_size, 64, "treeSize")
        + bytes32(root, "root")
        + bytes32(index_root, "indexRoot")
    )


def grant_struct(commitment: bytes, valid_from: int, valid_until: int) -> bytes:
    """hashStruct of a Grant."""
    return keccak256(
        GRANT_TYPEHASH
        + bytes32(commitment, "commitment")
        + uint_word(valid_from, 64, "validFrom")
        + uint_word(valid_until, 64, "validUntil")
    )


def revoke_struct(commitment: bytes, revocation: bytes) -> bytes:
    """hashStruct of a Revoke."""
    return keccak256(
        REVOKE_TYPEHASH + bytes32(commitment, "commitment") + bytes32(revocation, "revocation")
    )


def retire_struct(log_id: bytes, trusted_size: int) -> bytes:
    """hashStruct of a Retire."""
    return keccak256(
        RETIRE_TYPEHASH + bytes32(log_id, "logId") + uint_word(trusted_size, 64, "trustedSize")
    )


def checksum_address(address: bytes) -> str:
    """A 20-byte address in EIP-55 mixed case."""
    digits = address.hex()
    hashed = keccak256(digits.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(digits, hashed[:40], strict=True)
    )


def recover(message_digest: bytes, signature: bytes) -> bytes:
    """The address whose key made the 65-byte signature (r || s || v, v 27 or 28) of
    `message_digest`; ValueError for a malformed signature."""
    from coincurve import PublicKey  # libsecp256k1: recovery in C

    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("a signature is 65 bytes ending in v = 27 or 28")
    try:
        key = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), message_digest, hasher=None
        )
    except Exception as error:  # noqa: BLE001 - libsecp256k1 refuses an invalid signature
        raise ValueError(f"the signature recovers no key ({type(error).__name__})") from None
    return keccak256(key.format(compressed=False)[1:])[-20:]


def _domain_types(domain: Mapping[str, Any]) -> list[dict[str, str]]:
    fields = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}]
    if "chainId" in domain:
        fields.append({"name": "chainId", "type": "uint256"})
    if "verifyingContract" in domain:
        fields.append({"name": "verifyingContract", "type": "address"})
    return fields


def checkpoint_typed_data(
    domain: Mapping[str, Any],
    log_id: bytes,
    tree_size: int,
    root: bytes,
    index_root: bytes = NO_INDEX_ROOT,
) -> dict[str, Any]:
    """A checkpoint as EIP-712 typed data (what `sign_checkpoint` signs)."""
    return {
        "types": {"EIP712Domain": _domain_types(domain), "Checkpoint": CHECKPOINT_TYPE},
        "primaryType": "Checkpoint",
        "domain": dict(domain),
        "message": {"logId": log_id, "treeSize": tree_size, "root": root, "indexRoot": index_root},
    }


def grant_typed_data(
    domain: Mapping[str, Any], commitment: bytes, valid_from: int, valid_until: int
) -> dict[str, Any]:
    """A grant as EIP-712 typed data (what `LogSigner.sign_grant` signs); `domain` is
    the LicenceRegistry's."""
    return {
        "types": {"EIP712Domain": _domain_types(domain), "Grant": GRANT_TYPE},
        "primaryType": "Grant",
        "domain": dict(domain),
        "message": {"commitment": commitment, "validFrom": valid_from, "validUntil": valid_until},
    }


def revoke_typed_data(
    domain: Mapping[str, Any], commitment: bytes, revocation: bytes
) -> dict[str, Any]:
    """A revocation as EIP-712 typed data (what `LogSigner.sign_revoke` signs); `domain`
    is the LicenceRegistry's."""
    return {
        "types": {"EIP712Domain": _domain_types(domain), "Revoke": REVOKE_TYPE},
        "primaryType": "Revoke",
        "domain": dict(domain),
        "message": {"commitment": commitment, "revocation": revocation},
    }


def retire_typed_data(
    domain: Mapping[str, Any], log_id: bytes, trusted_size: int
) -> dict[str, Any]:
    """A retirement as EIP-712 typed data (what `sign_retirement` signs); `domain` is the
    LogAnchor's."""
    return {
        "types": {"EIP712Domain": _domain_types(domain), "Retire": RETIRE_TYPE},
        "primaryType": "Retire",
        "domain": dict(domain),
        "message": {"logId": log_id, "trustedSize": trusted_size},
    }
