"""Signed receipts and checkpoints: the log's promise, in EIP-712.

Every accepted entry gets a receipt: the log key's promise that the entry (its leaf
hash, at arrival number `seq`) was received at `received_at` and will be in the
anchored log within the maximum merge delay (MMD). A receipt whose entry is missing
from the anchored log after `received_at + mmd` is proof of misbehaviour.

One signature covers one commit group (the entries of one or more requests stored in
one transaction): the signed EIP-712 message holds the root of a small RFC 9162 tree
over the group's entries, and each receipt carries its entry's path to that root. So
every receipt is self-contained and checkable alone, and a batch of thousands costs
one signature::

    item        = SHA-256(0x00 || leaf_hash || seq as 8 bytes big-endian)
    batch_root  = RFC 9162 root of the items, in commit order
    Receipt(bytes32 logId, bytes32 batchRoot, uint256 batchSize,
            string receivedAt, uint256 maximumMergeDelay)

Domain: name "model-ledger", version "1", plus chainId and verifyingContract (the
LogAnchor) when the log has a deployment. Checkpoints are signed the same way as
``Checkpoint(bytes32 logId, uint64 treeSize, bytes32 root, bytes32 indexRoot)``: the
very signature the LogAnchor contract checks before it anchors a root (in EIP-2098
compact form, see `compact_signature`), so anyone holding a signed checkpoint may
anchor it. `indexRoot` is the root of the log's verifiable index at that size
(NO_INDEX_ROOT, all zero, while the log commits to none).

The log key is also the issuer of the log's LicenceRegistry: it signs each grant,
``Grant(bytes32 commitment, uint64 validFrom, uint64 validUntil)``, and each revocation,
``Revoke(bytes32 commitment, bytes32 revocation)``, in the registry's domain (the same
name and version, verifyingContract the registry), and anyone may send them. The log's
admin key, never the log key, signs ``Retire(bytes32 logId, uint64 trustedSize)`` in the
LogAnchor's domain (`sign_retirement`).

The signing side computes the EIP-712 digest itself (fast); `verify_receipt` goes
through eth-account's `encode_typed_data`, an independent implementation, and the
tests check both agree.

The log key comes from LEDGER_LOG_KEY (64 hex digits) or from ``log-key.json`` in the
data dir, an Ethereum V3 keystore created on first use; its password comes from
LEDGER_LOG_KEY_PASSWORD or from ``log-key.password`` (created 0600 next to it). The key
is never printed, logged or returned: only its address.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey

from ledger.core.merkle import ProofError, root_from_inclusion_proof
from ledger.core.merkle.hashing import hash_pairs
from ledger.formats.identity import LogIdentity
from ledger.keystore import KeystoreError, account_from_hex, create_keystore, open_keystore

DOMAIN_NAME = "model-ledger"
DOMAIN_VERSION = "1"
DEFAULT_MMD = 3600
"""Default maximum merge delay, in seconds."""

LOG_KEY_ENV = "LEDGER_LOG_KEY"
LOG_KEY_PASSWORD_ENV = "LEDGER_LOG_KEY_PASSWORD"
LOG_KEY_FILE = "log-key.json"
LOG_KEY_PASSWORD_FILE = "log-key.password"

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


class ReceiptError(ValueError):
    """A receipt that does not check out; the message says why."""


class LogKeyError(KeystoreError):
    """The log key cannot be loaded or created; the message never quotes key material."""


def _type_string(name: str, fields: list[dict[str, str]]) -> bytes:
    return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in fields)})".encode()


def _uint(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _uint64(value: int, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise ValueError(f"{name} must be a uint64 (0 to 2^64 - 1), got {value!r}")
    return _uint(value)


def _bytes32(value: bytes, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")
    return value


def _sign_digest(key: PrivateKey, separator: bytes, struct_hash: bytes) -> str:
    """The 65-byte signature (r || s || v, v 27 or 28) of the EIP-712 digest of
    `struct_hash` in the domain whose separator is `separator`, as 0x hex."""
    digest = keccak(b"\x19\x01" + separator + struct_hash)
    signature = key.sign_msg_hash(digest)
    r, s, v = int(signature.r), int(signature.s), int(signature.v)
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + v])).hex()


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
        values = keccak(DOMAIN_NAME.encode()) + keccak(DOMAIN_VERSION.encode())
        if self.chain_id is not None and self.contract is not None:
            fields += [
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ]
            values += _uint(self.chain_id) + bytes(12) + self.contract
        return keccak(keccak(_type_string("EIP712Domain", fields)) + values)


def _domain_types(domain: Mapping[str, Any]) -> list[dict[str, str]]:
    fields = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}]
    if "chainId" in domain:
        fields.append({"name": "chainId", "type": "uint256"})
    if "verifyingContract" in domain:
        fields.append({"name": "verifyingContract", "type": "address"})
    return fields


_RECEIPT_TYPEHASH = keccak(_type_string("Receipt", RECEIPT_TYPE))
_CHECKPOINT_TYPEHASH = keccak(_type_string("Checkpoint", CHECKPOINT_TYPE))
_GRANT_TYPEHASH = keccak(_type_string("Grant", GRANT_TYPE))
_REVOKE_TYPEHASH = keccak(_type_string("Revoke", REVOKE_TYPE))
_RETIRE_TYPEHASH = keccak(_type_string("Retire", RETIRE_TYPE))


def receipt_item(leaf_hash: bytes, seq: int) -> bytes:
    """The leaf of the batch tree for one entry."""
    return hashlib.sha256(b"\x00" + leaf_hash + seq.to_bytes(8, "big")).digest()


def batch_paths(items: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The RFC 9162 root of `items` and every item's inclusion path.

    Built level by level (an odd last node is carried up unchanged, which gives the
    RFC's tree); a path takes the sibling of its node at each level that has one.
    """
    levels = [list(items)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        parents = hash_pairs(level)
        if len(level) & 1:
            parents.append(level[-1])
        levels.append(parents)
    below = levels[:-1]
    paths: list[list[bytes]] = []
    for index in range(len(items)):
        path = []
        for level in below:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        paths.append(path)
    return levels[-1][0], paths


class LogSigner:
    """Signs receipts and checkpoints with the log key; shows only its address."""

    __slots__ = ("_account", "_key", "_registry_separators", "_separator", "domain", "mmd")

    def __init__(self, account: LocalAccount, domain: Domain, mmd: int = DEFAULT_MMD) -> None:
        self._account = account
        self._key = PrivateKey(bytes(account.key))
        self.domain = domain
        self.mmd = mmd
        self._separator = domain.separator()
        self._registry_separators: dict[bytes, bytes] = {}

    @property
    def address(self) -> str:
        """The signer's checksummed address."""
        return str(self._account.address)

    def __repr__(self) -> str:
        return f"LogSigner(address={self.address})"

    def __reduce__(self) -> Any:
        raise TypeError("a LogSigner cannot be pickled")

    def _sign(self, struct_hash: bytes) -> str:
        return _sign_digest(self._key, self._separator, struct_hash)

    def receipts_json(self, entries: Sequence[tuple[bytes, int]], received_at: str) -> list[str]:
        """One receipt per (leaf_hash, seq), all under one signature, as JSON texts.

        Rendered straight to text (the hot path of ingest); `receipts` parses them.
        """
        root, paths = batch_paths([receipt_item(leaf, seq) for leaf, seq in entries])
        size = len(entries)
        struct = keccak(
            _RECEIPT_TYPEHASH
            + self.domain.log_id
            + root
            + _uint(size)
            + keccak(received_at.encode())
            + _uint(self.mmd)
        )
        # Every value below is hex, a decimal or a timestamp: nothing needs escaping
        # except received_at, which json.dumps quotes.
        common = f'"log_id":"0x{self.domain.log_id.hex()}","received_at":{json.dumps(received_at)},"mmd":{self.mmd},'
        tail = (
            f'"signer":"{self.address}","signature":"{self._sign(struct)}",'
            f'"domain":{json.dumps(self.domain.as_json(), separators=(",", ":"))}}}'
        )
        batch = f'"batch":{{"root":"0x{root.hex()}","size":{size},"index":'
        return [
            f'{{"leaf_hash":"0x{leaf.hex()}","seq":{seq},{common}{batch}{i},"path":['
            + ",".join(f'"0x{node.hex()}"' for node in path)
            + f"]}},{tail}"
            for i, ((leaf, seq), path) in enumerate(zip(entries, paths))
        ]

    def receipts(
        self, entries: Sequence[tuple[bytes, int]], received_at: str
    ) -> list[dict[str, Any]]:
        """One receipt per (leaf_hash, seq), all under one signature."""
        return [json.loads(text) for text in self.receipts_json(entries, received_at)]

    def sign_checkpoint(
        self, tree_size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
    ) -> str:
        """The signature of a checkpoint (EIP-712 `Checkpoint`), 65 bytes as 0x hex: what
        LogAnchor.anchor checks (after `compact_signature`)."""
        struct = keccak(
            _CHECKPOINT_TYPEHASH + self.domain.log_id + _uint(tree_size) + root + index_root
        )
        return self._sign(struct)

    def anchor_signature(
        self, tree_size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
    ) -> tuple[bytes, bytes]:
        """The checkpoint's signature as LogAnchor.anchor takes it: (r, vs). Needs a
        domain naming the chain and the contract (the log's deployment)."""
        if self.domain.chain_id is None or self.domain.contract is None:
            raise LogKeyError(
                "the log has no deployment yet: its checkpoints cannot be signed for a chain"
            )
        return compact_signature(self.sign_checkpoint(tree_size, root, index_root))

    # -- the log's LicenceRegistry: the log key is its issuer ----------------------------

    def registry_domain(self, registry: bytes) -> Domain:
        """The EIP-712 domain of the LicenceRegistry at `registry` (20 bytes) on the log's
        chain: where grants and revocations are signed. Needs the log's deployment."""
        if self.domain.chain_id is None or self.domain.contract is None:
            raise LogKeyError(
                "the log has no deployment yet: its licences cannot be signed for a chain"
            )
        if len(registry) != 20:
            raise ValueError(f"a LicenceRegistry address is 20 bytes, got {len(registry)}")
        return Domain(self.domain.log_id, self.domain.chain_id, registry)

    def _registry_separator(self, registry: bytes) -> bytes:
        separator = self._registry_separators.get(registry)
        if separator is None:
            separator = self._registry_separators[registry] = self.registry_domain(
                registry
            ).separator()
        return separator

    def sign_grant(
        self, registry: bytes, commitment: bytes, valid_from: int, valid_until: int
    ) -> str:
        """The signature of a grant (EIP-712 `Grant`) in the domain of the LicenceRegistry
        `registry`, 65 bytes as 0x hex: what LicenceRegistry.grant and grantMany check
        (after `compact_signature`). ValueError for a value the contract cannot take."""
        struct = keccak(
            _GRANT_TYPEHASH
            + _bytes32(commitment, "commitment")
            + _uint64(valid_from, "valid_from")
            + _uint64(valid_until, "valid_until")
        )
        return _sign_digest(self._key, self._registry_separator(registry), struct)

    def sign_revoke(self, registry: bytes, commitment: bytes, revocation: bytes) -> str:
        """The signature of a revocation (EIP-712 `Revoke`: the commitment and the leaf
        hash of the record that revokes it) in the domain of the LicenceRegistry
        `registry`, 65 bytes as 0x hex: what LicenceRegistry.revoke checks."""
        struct = keccak(
            _REVOKE_TYPEHASH
            + _bytes32(commitment, "commitment")
            + _bytes32(revocation, "revocation")
        )
        return _sign_digest(self._key, self._registry_separator(registry), struct)


def sign_retirement(account: LocalAccount, domain: Domain, trusted_size: int) -> str:
    """The log admin's signature retiring the log of `domain` (EIP-712 `Retire(logId,
    trustedSize)` in the domain of its LogAnchor), 65 bytes as 0x hex: what
    LogAnchor.retireLog checks (after `compact_signature`). `account` is the admin key,
    never the log key."""
    if domain.chain_id is None or domain.contract is None:
        raise LogKeyError(
            "a retirement is signed for a deployed log: its domain names no chain or contract"
        )
    struct = keccak(
        _RETIRE_TYPEHASH + _bytes32(domain.log_id, "log_id") + _uint64(trusted_size, "trusted_size")
    )
    return _sign_digest(PrivateKey(bytes(account.key)), domain.separator(), struct)


def compact_signature(signature: str | bytes) -> tuple[bytes, bytes]:
    """A 65-byte signature (r || s || v, v 27 or 28) in EIP-2098 compact form (r, vs),
    as LogAnchor.anchor takes it."""
    data = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else signature
    if len(data) != 65 or data[64] not in (27, 28):
        raise ReceiptError("a signature is 65 bytes ending in v = 27 or 28")
    r, s, v = data[:32], int.from_bytes(data[32:64], "big"), data[64] - 27
    return r, (s | (v << 255)).to_bytes(32, "big")


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


def _domain(value: Any) -> dict[str, Any]:
    """A receipt's EIP-712 domain, exactly one of the two forms the log signs: the name
    and version, plus (once deployed) an integer chainId and a 0x-lowercase contract."""
    if not isinstance(value, dict) or set(value) not in _DOMAIN_KEYS:
        raise ReceiptError(
            "domain must be {name, version} or {name, version, chainId, verifyingContract}"
        )
    if value["name"] != DOMAIN_NAME or value["version"] != DOMAIN_VERSION:
        raise ReceiptError(f"domain must be name {DOMAIN_NAME!r}, version {DOMAIN_VERSION!r}")
    if "chainId" in value:
        _int(value["chainId"], "domain.chainId")
        contract = value["verifyingContract"]
        if not isinstance(contract, str) or contract != contract.lower():
            raise ReceiptError("domain.verifyingContract must be 0x and 40 lowercase hex digits")
        _hex_bytes(contract, "domain.verifyingContract", 20)
    return dict(value)


def verify_receipt(receipt: Mapping[str, Any], identity: LogIdentity | None = None) -> str:
    """Check a receipt: path to the batch root, then the EIP-712 signature.

    Returns the address that signed it; raises ReceiptError with the reason. With the
    pinned log `identity`, the receipt must name its log id (and, when its domain names
    a chain and a contract, the pinned ones) and be signed by its log key: any key can
    sign a well-formed receipt, so without an identity only its self-consistency is
    checked.
    """
    try:
        leaf = _hex_bytes(receipt["leaf_hash"], "leaf_hash", 32)
        seq = _int(receipt["seq"], "seq", 2**64 - 1)
        log_id = _hex_bytes(receipt["log_id"], "log_id", 32)
        received_at = receipt["received_at"]
        mmd = _int(receipt["mmd"], "mmd")
        batch = receipt["batch"]
        root = _hex_bytes(batch["root"], "batch.root", 32)
        size = _int(batch["size"], "batch.size", 2**64 - 1)
        index = _int(batch["index"], "batch.index", 2**64 - 1)
        if not isinstance(batch["path"], list) or len(batch["path"]) > 64:
            raise ReceiptError("batch.path must be a list of at most 64 hashes")
        path = [_hex_bytes(node, f"batch.path[{i}]", 32) for i, node in enumerate(batch["path"])]
        signature = _hex_bytes(receipt["signature"], "signature", 65)
        domain = _domain(receipt["domain"])
        claimed = receipt["signer"]
    except (KeyError, TypeError) as error:
        raise ReceiptError(f"not a receipt: missing or malformed field {error}") from None
    if not isinstance(received_at, str) or len(received_at) > 64:
        raise ReceiptError("received_at must be a string of at most 64 characters")
    if not isinstance(claimed, str):
        raise ReceiptError("signer must be an address")
    try:
        calculated = root_from_inclusion_proof(index, size, receipt_item(leaf, seq), path)
    except ProofError as error:
        raise ReceiptError(f"batch path does not fit: {error}") from None
    if calculated != root:
        raise ReceiptError(
            f"leaf hash and seq do not lead to the signed batch root: calculated 0x{calculated.hex()}, receipt has 0x{root.hex()}"
        )
    typed = {
        "types": {"EIP712Domain": _domain_types(domain), "Receipt": RECEIPT_TYPE},
        "primaryType": "Receipt",
        "domain": domain,
        "message": {
            "logId": log_id,
            "batchRoot": root,
            "batchSize": size,
            "receivedAt": received_at,
            "maximumMergeDelay": mmd,
        },
    }
    try:
        recovered = str(
            Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
        )
    except Exception as error:  # noqa: BLE001 - a malformed signature or domain
        raise ReceiptError(f"signature does not verify: {type(error).__name__}: {error}") from None
    if recovered.lower() != str(claimed).lower():
        raise ReceiptError(f"signature is by {recovered}, not by the receipt's signer {claimed}")
    if identity is not None:
        contract = domain.get("verifyingContract")
        problem = identity.mismatch(
            chain_id=domain.get("chainId"),
            log_anchor=None if contract is None else bytes.fromhex(contract[2:]),
            log_id=log_id,
            log_signer=bytes.fromhex(recovered[2:]),
        )
        if problem is not None:
            raise ReceiptError(
                f"not a receipt of the pinned log: {problem.replace('the document', 'the receipt')}"
            )
    return recovered


# -- the log key -----------------------------------------------------------------------


def load_log_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> LocalAccount:
    """The log key: LEDGER_LOG_KEY, else the keystore in `data_dir` (created on first use)."""
    env = os.environ if environ is None else environ
    try:
        configured = env.get(LOG_KEY_ENV)
        if configured:
            return account_from_hex(configured, LOG_KEY_ENV)
        keystore, password_file = data_dir / LOG_KEY_FILE, data_dir / LOG_KEY_PASSWORD_FILE
        password = env.get(LOG_KEY_PASSWORD_ENV)
        if not keystore.exists():
            return create_keystore(
                keystore, password_file, password, password_env=LOG_KEY_PASSWORD_ENV
            )
        return open_keystore(keystore, password_file, password, password_env=LOG_KEY_PASSWORD_ENV)
    except KeystoreError as error:
        raise LogKeyError(str(error)) from None
