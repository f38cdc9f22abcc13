"""The chain checks every evidence document shares (`check_anchor`), against the pinned
log identity: the node's chain, the shipped LogAnchor's code at the pinned address, the
log and its key, the root at the checkpoint's size, the anchor transaction and the
anchor block, whose header dates the evidence. See ledger.verify.bundle for the order.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from ledger.formats.abi import contract as shipped_contract
from ledger.formats.fields import hex0x
from ledger.formats.identity import LogIdentity
from ledger.verify.result import (
    ChainAnchor,
    ChainReadError,
    Checkpointed,
    Run,
    VerificationError,
    VerificationResult,
    utc_text,
)
from ledger.verify.rpc import (
    Block,
    ChainUnreadableError,
    ContractCallError,
    EventLog,
    LogInfo,
    TxReceipt,
)


class ChainReader(Protocol):
    """The chain reads verification needs (`ledger.verify.rpc.JsonRpcReader` has them). Each
    raises `ChainUnreadableError` if the chain cannot be read, and the contract calls
    `ContractCallError` for a revert or an answer that does not decode."""

    where: str

    def chain_id(self) -> int:
        """The chain id of the node."""

    def code(self, address: bytes) -> bytes:
        """The code at `address` (empty for none)."""

    def log_info(self, log_anchor: bytes, log_id: bytes) -> LogInfo:
        """LogAnchor.logInfo(logId)."""

    def root_at(self, log_anchor: bytes, log_id: bytes, size: int) -> bytes | None:
        """LogAnchor.rootAt(logId, size); None if nothing is anchored at `size`."""

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a mined transaction, with its logs; None if not mined."""

    def block(self, number: int) -> Block | None:
        """Block `number`'s header, or None if there is no such block."""


def check_identity(run: Run, document: Checkpointed, identity: LogIdentity | None) -> None:
    """2. The document names the pinned log (nothing to check without one)."""
    run.result.identity = identity
    if identity is None:
        return
    problem = identity.mismatch(
        chain_id=document.chain_id, log_anchor=document.contract, log_id=document.log_id
    )
    if problem is not None:
        run.fail(
            VerificationError(
                "log identity",
                f"the {document.noun} is not about the pinned log:"
                f" {problem.replace('the document', f'the {document.noun}')}",
            )
        )
    run.ok("log identity", f"the {document.noun} names the pinned {identity.describe()}")


def check_code(run: Run, chain: ChainReader, name: str, address: bytes, chain_id: int) -> None:
    """``contract``: the code at `address` is the runtime code of the shipped contract
    `name`, byte for byte (compared by SHA-256)."""
    code = chain.code(address)
    shipped = shipped_contract(name)
    if not code:
        run.fail(
            VerificationError("contract", f"no contract at {hex0x(address)} on chain id {chain_id}")
        )
    if code != shipped.runtime_code:
        run.fail(
            VerificationError(
                "contract",
                f"the code at {hex0x(address)} is not the {name} model-ledger ships:"
                f" its runtime code has SHA-256 {hashlib.sha256(code).hexdigest()},"
                f" {name}'s is {shipped.runtime_sha256.hex()} (another contract can"
                " answer the same calls with whatever it likes)",
            )
        )
    run.ok(
        "contract", f"{name} at {hex0x(address)}: its code is the runtime code this verifier ships"
    )


ANCHORED_DATA_BYTES = 96
"""Bytes of an Anchored event's data: root, indexRoot, prevSize."""


def anchored_event(receipt: TxReceipt, document: Checkpointed) -> EventLog | None:
    """LogAnchor's `Anchored(logId, size, root, indexRoot, prevSize)` event for the
    document's checkpoint in `receipt`, emitted by the document's contract (None: none)."""
    topic = shipped_contract("LogAnchor").event_topic("Anchored")
    size_word = document.tree_size.to_bytes(32, "big")
    for log in receipt.logs:
        if (
            log.address == document.contract
            and log.topics == (topic, document.log_id, size_word)
            and len(log.data) == ANCHORED_DATA_BYTES
            and log.data[:32] == document.root
        ):
            return log
    return None


def check_anchor(
    run: Run, document: Checkpointed, chain: ChainReader, identity: LogIdentity
) -> None:
    """4. The checkpoint of `document` (a bundle or a pack that names the pinned log) is
    anchored on the pinned LogAnchor, in the block the document names."""
    contract, size = hex0x(document.contract), document.tree_size
    chain_id = chain.chain_id()
    if chain_id != identity.chain_id:
        run.fail(
            VerificationError(
                "chain id",
                f"the node at {chain.where} serves chain id {chain_id};"
                f" the pinned log is on chain id {identity.chain_id}",
            )
        )
    run.ok("chain id", f"{chain_id} (node {chain.where})")
    check_code(run, chain, "LogAnchor", identity.log_anchor, chain_id)
    try:
        info = chain.log_info(identity.log_anchor, identity.log_id)
    except ContractCallError as error:
        run.fail(
            VerificationError(
                "log",
                f"the LogAnchor at {contract} holds no log {hex0x(identity.log_id)} ({error})",
            )
        )
    if info.signer != identity.log_signer:
        run.fail(
            VerificationError(
                "log",
                f"log {hex0x(identity.log_id)} on {contract} is signed by"
                f" {hex0x(info.signer)}, but the pinned log identity names log key"
                f" {hex0x(identity.log_signer)}: the identity document is not this log's",
            )
        )
    if info.retired and size > info.trusted_size:
        run.fail(
            VerificationError(
                "log",
                f"log {hex0x(identity.log_id)} was retired (its log key leaked)"
                " and its admin trusts its anchors up to tree size"
                f" {info.trusted_size} only; this checkpoint is of size {size}",
            )
        )
    retired = f"; retired, trusted up to size {info.trusted_size}" if info.retired else ""
    run.ok(
        "log",
        f"{hex0x(identity.log_id)} exists, anchored only with log key"
        f" {hex0x(info.signer)}{retired}",
    )
    root = chain.root_at(identity.log_anchor, identity.log_id, size)
    if root is None:
        run.fail(
            VerificationError(
                "root on chain",
                f"nothing is anchored at tree size {size} of log {hex0x(identity.log_id)}"
                f" in {contract}: this checkpoint was never anchored",
            )
        )
    if root != document.root:
        run.fail(
            VerificationError(
                "root on chain",
                f"the contract holds root {hex0x(root)} for tree size {size};"
                f" the {document.noun}'s checkpoint has {hex0x(document.root)}",
            )
        )
    run.ok("root on chain", f"rootAt({hex0x(identity.log_id)}, {size}) = {hex0x(root)}")
    claimed = document.anchor
    receipt = chain.receipt(claimed.tx_hash)
    problem = None
    if receipt is None:
        problem = f"transaction {hex0x(claimed.tx_hash)} is not on chain"
    elif not receipt.succeeded:
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} failed (its receipt's status is not success)"
        )
    elif (receipt.block_number, receipt.block_hash) != (claimed.block_number, claimed.block_hash):
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} is in block {receipt.block_number}"
            f" ({hex0x(receipt.block_hash)}); the {document.noun} says block"
            f" {claimed.block_number} ({hex0x(claimed.block_hash)})"
        )
    elif (event := anchored_event(receipt, document)) is None:
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} did not anchor tree size {size} with"
            f" root {hex0x(document.root)} (no such Anchored event of {contract} in it)"
        )
    if problem is not None:
        run.fail(VerificationError("anchor transaction", problem))
    run.ok(
        "anchor transaction",
        f"{hex0x(claimed.tx_hash)} anchored tree size {size} in block {claimed.block_number}",
    )
    block = chain.block(claimed.block_number)
    if block is None or block.hash != claimed.block_hash:
        shown = "no block" if block is None else hex0x(block.hash)
        run.fail(
            VerificationError(
                "anchor block",
                f"block {claimed.block_number} is {shown} on chain; the {document.noun}"
                f" says {hex0x(claimed.block_hash)} (reorganised away?)",
            )
        )
    if block.timestamp != claimed.block_timestamp:
        run.fail(
            VerificationError(
                "anchor block",
                f"block {block.number}'s header says time"
                f" {block.timestamp} ({utc_text(block.timestamp)});"
                f" the {document.noun} says {claimed.block_timestamp}",
            )
        )
    run.ok(
        "anchor block",
        f"block {block.number} ({hex0x(block.hash)}) at"
        f" {utc_text(block.timestamp)}, from its header",
    )
    assert event is not None
    run.result.anchored = ChainAnchor(
        root, block.number, block.hash, block.timestamp, claimed.tx_hash, event.data[32:64]
    )


def check_chain(
    run: Run, document: Checkpointed, chain: ChainReader, identity: LogIdentity
) -> None:
    """`check_anchor`, with an unreadable chain recorded as the failed ``chain`` check."""
    try:
        check_anchor(run, document, chain, identity)
    except ChainUnreadableError as error:
        run.fail(ChainReadError(str(error)))
    except ContractCallError as error:
        run.fail(
            VerificationError(
                "contract",
                f"the contract at {hex0x(identity.log_anchor)} answered unexpectedly: {error}",
            )
        )


def start(chain: ChainReader | None, identity: LogIdentity | None) -> Run:
    """A new run; refuses a chain check without a pinned log identity."""
    if chain is not None and identity is None:
        raise ValueError(
            "checking against the chain needs a pinned log identity (which contract and log count)"
        )
    return Run(VerificationResult(chain_consulted=chain is not None, identity=identity))
