"""Checking a receipt: the log key's signed promise that an entry was received and will
be in the anchored log within the maximum merge delay. A receipt whose entry is missing
from the anchored log after `received_at + mmd` is proof of misbehaviour, so a receipt
is only worth something from the log's own key:

1. its batch path leads from its item to the signed batch root;
2. its EIP-712 signature (ledger.formats.eip712, recovered with libsecp256k1) is by the
   key it names;
3. with the pinned log identity: it names the pinned log id (and, once deployed, chain
   and LogAnchor), and its key is the pinned log key;
4. with a chain (`check_receipt_log`): the pinned LogAnchor still vouches for that key,
   i.e. the log exists with it and was not retired. A retired log's key may have leaked,
   and whoever holds it can sign receipts for entries the log never received.

No web3, no eth-account: the verifier installs without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.core.merkle import ProofError, root_from_inclusion_proof
from ledger.core.records import RecordError, parse_object
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.eip712 import checksum_address, digest, receipt_struct, recover
from ledger.formats.identity import LogIdentity
from ledger.formats.receipt import ReceiptError, parse_receipt, receipt_item
from ledger.verify.rpc import ChainUnreadableError, ContractCallError, JsonRpcReader


def verify_receipt(receipt: Mapping[str, Any], identity: LogIdentity | None = None) -> str:
    """Check a receipt (steps 1 to 3 above); the address that signed it.

    Raises ReceiptError with the reason. Without `identity` only the receipt's
    self-consistency is checked: any key can sign a well-formed receipt.
    """
    parsed = parse_receipt(receipt)
    try:
        calculated = root_from_inclusion_proof(
            parsed.batch_index,
            parsed.batch_size,
            receipt_item(parsed.leaf_hash, parsed.seq),
            parsed.path,
        )
    except ProofError as error:
        raise ReceiptError(f"batch path does not fit: {error}") from None
    if calculated != parsed.batch_root:
        raise ReceiptError(
            "leaf hash and seq do not lead to the signed batch root: calculated"
            f" 0x{calculated.hex()}, receipt has 0x{parsed.batch_root.hex()}"
        )
    message = digest(
        parsed.domain.separator(),
        receipt_struct(
            parsed.log_id, parsed.batch_root, parsed.batch_size, parsed.received_at, parsed.mmd
        ),
    )
    try:
        recovered = checksum_address(recover(message, parsed.signature))
    except ValueError as error:
        raise ReceiptError(f"signature does not verify: {error}") from None
    if recovered.lower() != parsed.signer.lower():
        raise ReceiptError(
            f"signature is by {recovered}, not by the receipt's signer {parsed.signer}"
        )
    if identity is not None:
        problem = identity.mismatch(
            chain_id=parsed.domain.chain_id,
            log_anchor=parsed.domain.contract,
            log_id=parsed.log_id,
            log_signer=bytes.fromhex(recovered[2:]),
        )
        if problem is not None:
            raise ReceiptError(
                f"not a receipt of the pinned log: {problem.replace('the document', 'the receipt')}"
            )
    return recovered


def check_receipt_log(identity: LogIdentity, rpc: JsonRpcReader) -> None:
    """Step 4: the pinned chain, the shipped LogAnchor at the pinned address, the log with
    the pinned key and not retired. ReceiptError otherwise; ChainUnreadableError when
    the chain cannot be read."""
    chain_id = rpc.chain_id()
    if chain_id != identity.chain_id:
        raise ReceiptError(
            f"the node at {rpc.where} serves chain id {chain_id}; the"
            f" pinned log is on {identity.chain_id}"
        )
    if rpc.code(identity.log_anchor) != shipped_contract("LogAnchor").runtime_code:
        raise ReceiptError(
            f"the code at 0x{identity.log_anchor.hex()} is not the LogAnchor model-ledger ships"
        )
    try:
        info = rpc.log_info(identity.log_anchor, identity.log_id)
    except ContractCallError as error:
        raise ReceiptError(
            f"the pinned LogAnchor holds no log 0x{identity.log_id.hex()} ({error})"
        ) from None
    if info.signer != identity.log_signer:
        raise ReceiptError(
            "the pinned log is anchored with key"
            f" 0x{info.signer.hex()}, not 0x{identity.log_signer.hex()}"
        )
    if info.retired:
        raise ReceiptError(
            f"log 0x{identity.log_id.hex()} was retired by its admin (its log key"
            " may have leaked): a receipt signed with that key cannot be trusted"
        )


__all__ = ["ChainUnreadableError", "ReceiptError", "check_receipt_log", "verify_receipt"]


def check_kept_record(record: Any, receipt: Mapping[str, Any]) -> None:
    """A record kept beside its receipt must be the receipt's: a valid record whose leaf
    hash (RFC 8785 bytes, salted) is the receipt's `leaf_hash`. Raises ReceiptError."""
    if not isinstance(record, dict):
        raise ReceiptError("record must be a JSON object (the record as it was sent)")
    try:
        leaf = parse_object(record).leaf_hash
    except RecordError as error:
        raise ReceiptError(f"record: {error}") from None
    named = str(receipt.get("leaf_hash", "")).lower()
    if "0x" + leaf.hex() != named:
        raise ReceiptError(
            f"the record kept with the receipt hashes to 0x{leaf.hex()}, the receipt is for {named}"
        )
