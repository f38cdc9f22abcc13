"""Relaying a signed checkpoint: anyone may anchor what the log key signed.

LogAnchor anchors a root only with the log key's signature over (chain, contract, log
id, size, root), so the account that sends the transaction is a mere relayer, paying
the gas. An auditor or a regulator who distrusts the operator's anchoring cadence can
anchor the latest checkpoint itself (`mledger relay`): the service is asked for the
signed checkpoint and for a consistency proof from the chain's latest anchor; both are
checked here, against the pinned log identity and the chain, before a transaction is
built. A checkpoint the chain cannot extend to is a split view: refused, with the
evidence in the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from ledger.chain.client import ChainClient, Receipt
from ledger.chain.deployment import attach
from ledger.core.merkle import ProofError, verify_consistency
from ledger.errors import LedgerError
from ledger.formats.eip712 import Domain, checkpoint_typed_data
from ledger.formats.identity import LogIdentity
from ledger.service.signer import compact_signature

ConsistencySource = Callable[[int, int], Mapping[str, Any]]
"""Gives the consistency proof between two tree sizes, as GET /v1/proofs/consistency
answers it ({"first", "second", "first_root", "second_root", "proof"})."""


class RelayError(LedgerError):
    """The checkpoint cannot be relayed; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint as GET /v1/checkpoints/{size} serves it."""

    tree_size: int
    root: bytes
    index_root: bytes
    signature: bytes


@dataclass(frozen=True)
class Relayed:
    """What a relay did: the anchored size, and the transaction (None when the chain
    held the checkpoint already)."""

    tree_size: int
    root: bytes
    prev_size: int
    receipt: Receipt | None


def _bytes(value: Any, what: str, size: int) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            data = bytes.fromhex(value[2:])
        except ValueError:
            data = b""
        if len(data) == size:
            return data
    raise RelayError(f"the checkpoint's {what} is not 0x and {2 * size} hex digits: {value!r:.80}")


def read_checkpoint(document: Mapping[str, Any], identity: LogIdentity) -> Checkpoint:
    """The checkpoint in `document`, checked to be the pinned log's and signed by its log
    key (RelayError otherwise)."""
    log_id = _bytes(document.get("log_id"), "log_id", 32)
    if log_id != identity.log_id:
        raise RelayError(
            f"the checkpoint is of log 0x{log_id.hex()}, not of the"
            f" pinned log 0x{identity.log_id.hex()}"
        )
    size = document.get("tree_size")
    if type(size) is not int or not 0 < size < 2**64:
        raise RelayError(f"the checkpoint's tree_size is not a size: {size!r:.80}")
    checkpoint = Checkpoint(
        size,
        _bytes(document.get("root"), "root", 32),
        _bytes(document.get("index_root"), "index_root", 32),
        _bytes(document.get("signature"), "signature", 65),
    )
    domain = Domain(identity.log_id, identity.chain_id, identity.log_anchor).as_json()
    typed = checkpoint_typed_data(
        domain, identity.log_id, checkpoint.tree_size, checkpoint.root, checkpoint.index_root
    )
    try:
        signer = Account.recover_message(
            encode_typed_data(full_message=typed), signature=checkpoint.signature
        )
    except Exception as error:  # noqa: BLE001 - a malformed signature
        raise RelayError(
            f"the checkpoint's signature does not verify: {type(error).__name__}"
        ) from None
    if bytes.fromhex(signer[2:]) != identity.log_signer:
        raise RelayError(
            f"the checkpoint is signed by {signer}, not by the pinned log key"
            f" 0x{identity.log_signer.hex()} (or for another chain or contract)"
        )
    return checkpoint


def _check_extends(
    checkpoint: Checkpoint, size: int, root: bytes, consistency: ConsistencySource
) -> None:
    """Raise RelayError (a split view) unless the anchored tree of `size` leaves with
    `root` extends the signed `checkpoint`."""
    answer = consistency(checkpoint.tree_size, size)
    nodes = answer.get("proof")
    if not isinstance(nodes, list):
        raise RelayError(
            f"the service answered no consistency proof from {checkpoint.tree_size} to {size}"
        )
    proof = [_bytes(node, f"proof[{i}]", 32) for i, node in enumerate(nodes)]
    try:
        verify_consistency(checkpoint.tree_size, size, proof, checkpoint.root, root)
    except ProofError as error:
        raise RelayError(
            f"the log key signed root 0x{checkpoint.root.hex()} for tree"
            f" size {checkpoint.tree_size}, but the anchored tree of size"
            f" {size} (root 0x{root.hex()}) does not extend it ({error}):"
            " two views of one log (keep this checkpoint as evidence)"
        ) from None


def relay(
    client: ChainClient,
    identity: LogIdentity,
    checkpoint: Checkpoint,
    consistency: ConsistencySource,
) -> Relayed:
    """Anchor `checkpoint` (already checked by `read_checkpoint`) on the pinned LogAnchor
    with `client`'s key, from the chain's latest anchor; wait for the receipt."""
    contract = attach(
        client,
        identity.chain_id,
        identity.log_anchor,
        identity.log_id,
        from_block=identity.deployment_block,
        log_signer="0x" + identity.log_signer.hex(),
    )
    latest = contract.latest(identity.log_id)
    if latest.size >= checkpoint.tree_size:
        held = contract.root_at(identity.log_id, checkpoint.tree_size)
        if held is not None and held != checkpoint.root:
            raise RelayError(
                f"the chain anchors tree size {checkpoint.tree_size} with root"
                f" 0x{held.hex()}, but the log key also signed root 0x{checkpoint.root.hex()}"
                " for it: two views of one log (keep this checkpoint as evidence)"
            )
        if held is not None:
            event = contract.anchored_at(identity.log_id, checkpoint.tree_size)
            if event is not None and event.index_root != checkpoint.index_root:
                raise RelayError(
                    f"the chain anchors tree size {checkpoint.tree_size} with index root"
                    f" 0x{event.index_root.hex()}, but the log key also signed index root"
                    f" 0x{checkpoint.index_root.hex()} for it: two indexes of one checkpoint"
                    " (keep this checkpoint as evidence)"
                )
            return Relayed(checkpoint.tree_size, checkpoint.root, latest.size, None)
        if checkpoint.tree_size < latest.size:
            _check_extends(checkpoint, latest.size, latest.root, consistency)
        raise RelayError(
            f"the chain anchors tree size {latest.size} already, past this checkpoint's"
            f" {checkpoint.tree_size}; the anchored tree extends it, so there is nothing to relay"
        )
    proof: list[bytes] = []
    if latest.size:
        answer = consistency(latest.size, checkpoint.tree_size)
        nodes = answer.get("proof")
        if not isinstance(nodes, list):
            raise RelayError(
                "the service answered no consistency proof from"
                f" {latest.size} to {checkpoint.tree_size}"
            )
        proof = [_bytes(node, f"proof[{i}]", 32) for i, node in enumerate(nodes)]
        try:
            verify_consistency(
                latest.size, checkpoint.tree_size, proof, latest.root, checkpoint.root
            )
        except ProofError as error:
            raise RelayError(
                f"the checkpoint of size {checkpoint.tree_size} does not extend the chain's"
                f" latest anchor (size {latest.size}, root 0x{latest.root.hex()}): {error}."
                " The service's log is not the anchored one: keep this checkpoint as evidence"
            ) from None
    receipt = contract.anchor(
        identity.log_id,
        checkpoint.tree_size,
        checkpoint.root,
        proof,
        compact_signature(checkpoint.signature),
        index_root=checkpoint.index_root,
    )
    return Relayed(checkpoint.tree_size, checkpoint.root, latest.size, receipt)
