"""The LogAnchor contract's functions, through a `ChainClient`.

Writes build, sign and send through the client (`build_anchor` only signs, so the
anchorer can record the transaction first); views are eth_calls whose reverts come
back decoded (`LogAnchorUnknownSize` reads as None where a caller asks "is it there?").

The contract stores only the root of each anchored size; where and when a size was
anchored is its `Anchored` event (indexed by log id and size), found with eth_getLogs
from the deployment block on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from ledger.chain.binding import ContractBinding, Signature
from ledger.chain.client import ChainClient, Receipt, SignedTx
from ledger.chain.errors import ChainError, ContractRevertError
from ledger.chain.reverts import hex0x
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.eip712 import NO_INDEX_ROOT

ANCHORED_TOPIC = shipped_contract("LogAnchor").event_topic("Anchored")
"""Topic 0 of every Anchored event."""


@dataclass(frozen=True)
class OnChainAnchor:
    """The latest anchor of a log as the contract holds it: tree size and root (size 0
    and a zero root for a log with no anchor yet)."""

    size: int
    root: bytes


@dataclass(frozen=True)
class AnchoredEvent:
    """One `Anchored(logId, size, root, indexRoot, prevSize)` event and the transaction
    that emitted it."""

    size: int
    root: bytes
    index_root: bytes
    prev_size: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes


@dataclass(frozen=True)
class LogInfo:
    """LogAnchor.logInfo(logId)."""

    signer: str
    admin: str
    latest_size: int
    retired: bool
    trusted_size: int


class LogAnchor(ContractBinding):
    """The LogAnchor contract at `address`, through `client`; its events are searched from
    block `from_block` (the deployment's) on."""

    NAME = "LogAnchor"

    def __init__(self, client: ChainClient, address: str | bytes, from_block: int = 0) -> None:
        super().__init__(client, address)
        self.from_block = from_block

    # -- writes ------------------------------------------------------------------------

    def create_log(self, log_id: bytes, admin: str, signer: str) -> Receipt:
        """createLog(logId, admin, signer): only the contract owner."""
        return self.client.transact(
            self.address,
            self._data(
                "createLog", log_id, to_checksum_address(admin), to_checksum_address(signer)
            ),
            self.decoder,
            f"createLog({hex0x(log_id)})",
        )

    def retire_log(self, log_id: bytes, trusted_size: int, signature: Signature) -> Receipt:
        """retireLog(logId, trustedSize, r, vs) and wait for the receipt: no anchor is
        accepted after it. `signature` is the log admin's over `Retire(logId,
        trustedSize)` (`ledger.admin_key.sign_retire`); the client's key only pays the gas."""
        r, vs = signature
        return self.client.transact(
            self.address,
            self._data("retireLog", log_id, trusted_size, r, vs),
            self.decoder,
            f"retireLog({hex0x(log_id)}, {trusted_size})",
        )

    def _anchor_data(
        self,
        log_id: bytes,
        size: int,
        root: bytes,
        proof: Sequence[bytes],
        signature: Signature,
        index_root: bytes,
    ) -> bytes:
        r, vs = signature
        return self._data("anchor", log_id, size, root, index_root, list(proof), r, vs)

    def build_anchor(
        self,
        log_id: bytes,
        size: int,
        root: bytes,
        proof: Sequence[bytes],
        signature: Signature,
        *,
        index_root: bytes = NO_INDEX_ROOT,
        nonce: int | None = None,
        gas: int | None = None,
    ) -> SignedTx:
        """Sign anchor(logId, size, root, indexRoot, proof, r, vs) with an explicit nonce;
        send nothing.

        `signature` is the log key's over the checkpoint (`index_root` included). The
        gas estimate runs the contract's checks first, so a doomed anchor (bad
        signature, size not increasing, inconsistent proof, retired log) raises
        ContractRevertError here. Pass `gas` to skip the estimate (the transaction may
        then fail in a block).
        """
        data = self._anchor_data(log_id, size, root, proof, signature, index_root)
        return self.client.build(
            self.address, data, self.decoder, f"anchor(size {size})", nonce=nonce, gas=gas
        )

    def anchor(
        self,
        log_id: bytes,
        size: int,
        root: bytes,
        proof: Sequence[bytes],
        signature: Signature,
        *,
        index_root: bytes = NO_INDEX_ROOT,
    ) -> Receipt:
        """Anchor and wait for the receipt (a convenience for tools and tests)."""
        data = self._anchor_data(log_id, size, root, proof, signature, index_root)
        return self.client.transact(self.address, data, self.decoder, f"anchor(size {size})")

    # -- views -------------------------------------------------------------------------

    def latest(self, log_id: bytes) -> OnChainAnchor:
        """The log's latest anchor (size 0 when it has none)."""
        size, root = self._read("latest", log_id)
        return OnChainAnchor(int(size), bytes(root))

    def log_info(self, log_id: bytes) -> LogInfo | None:
        """The log's key, admin, latest size and retirement; None if the log does not exist."""
        try:
            signer, admin, latest, retired, trusted = self._read("logInfo", log_id)
        except ContractRevertError as error:
            if error.name == "LogAnchorUnknownLog":
                return None
            raise
        return LogInfo(
            to_checksum_address(signer),
            to_checksum_address(admin),
            int(latest),
            bool(retired),
            int(trusted),
        )

    def root_at(self, log_id: bytes, size: int) -> bytes | None:
        """The root anchored at `size`, or None if nothing is anchored there."""
        try:
            return bytes(self._read("rootAt", log_id, size))
        except ContractRevertError as error:
            if error.name == "LogAnchorUnknownSize":
                return None
            raise

    def anchored_at(self, log_id: bytes, size: int) -> AnchoredEvent | None:
        """The anchor at exactly `size` (its root, and the event naming its transaction and
        block), or None if nothing is anchored there."""
        root = self.root_at(log_id, size)
        if root is None:
            return None
        found = self.anchored_events(log_id, self.from_block, self.client.block_number(), size=size)
        if not found:
            raise ChainError(
                f"size {size} of log {hex0x(log_id)} is anchored, but no Anchored event for"
                f" it was found from block {self.from_block} (the node's logs are incomplete)"
            )
        return found[-1]

    def checkpoint_digest(
        self, log_id: bytes, size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
    ) -> bytes:
        """The EIP-712 digest the log key signs for this checkpoint."""
        return bytes(self._read("checkpointDigest", log_id, size, root, index_root))

    def retire_digest(self, log_id: bytes, trusted_size: int) -> bytes:
        """The EIP-712 digest the log's admin signs to retire it, trusting it up to
        `trusted_size`."""
        return bytes(self._read("retireDigest", log_id, trusted_size))

    def verify_inclusion(
        self, log_id: bytes, size: int, index: int, leaf_hash: bytes, proof: Sequence[bytes]
    ) -> bool:
        """The contract's own check of an inclusion proof against the root at `size`."""
        return bool(self._read("verifyInclusion", log_id, size, index, leaf_hash, list(proof)))

    def log_admin(self, log_id: bytes) -> str | None:
        """The log's admin, or None if the log does not exist."""
        admin = to_checksum_address(self._read("logAdmin", log_id))
        return None if int(admin, 16) == 0 else admin

    def anchored_events(
        self, log_id: bytes, from_block: int, to_block: int, *, size: int | None = None
    ) -> list[AnchoredEvent]:
        """`Anchored` events of the log (of one `size`, if given) in blocks
        from_block..to_block, in order."""
        event = self.contract.events.Anchored()
        topics = [HexBytes(ANCHORED_TOPIC), HexBytes(log_id)]
        if size is not None:
            topics.append(HexBytes(size.to_bytes(32, "big")))
        logs = self.client.rpc(
            "eth_getLogs",
            lambda: self.client.w3.eth.get_logs(
                {
                    "address": self.address,
                    "fromBlock": from_block,
                    "toBlock": to_block,
                    "topics": topics,
                }
            ),
        )
        found = []
        for log in logs:
            args = event.process_log(log)["args"]
            found.append(
                AnchoredEvent(
                    size=int(args["size"]),
                    root=bytes(args["root"]),
                    index_root=bytes(args["indexRoot"]),
                    prev_size=int(args["prevSize"]),
                    tx_hash=bytes(log["transactionHash"]),
                    block_number=int(log["blockNumber"]),
                    block_hash=bytes(log["blockHash"]),
                )
            )
        return found
