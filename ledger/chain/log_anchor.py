"""The LogAnchor contract's functions, through a `ChainClient`.

Writes build, sign and send through the client (`build_anchor` only signs, so the
anchorer can record the transaction first); views are eth_calls whose reverts come
back decoded (`LogAnchorUnknownSize` reads as None where a caller asks "is it there?").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from ledger.chain.binding import ContractBinding
from ledger.chain.client import Receipt, SignedTx
from ledger.chain.errors import ContractRevertError
from ledger.chain.reverts import hex0x


@dataclass(frozen=True)
class OnChainAnchor:
    """An anchor as the contract holds it: tree size, root, block number and time.

    A log with no anchor yet reads as size 0 with a zero root and block 0.
    """

    size: int
    root: bytes
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class AnchoredEvent:
    """One `Anchored(logId, size, root, prevSize)` event and the transaction that emitted it."""

    size: int
    root: bytes
    prev_size: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes


class LogAnchor(ContractBinding):
    """The LogAnchor contract at `address`, through `client`."""

    NAME = "LogAnchor"

    # -- writes ------------------------------------------------------------------------

    def create_log(self, log_id: bytes, admin: str) -> Receipt:
        """createLog(logId, admin): only the contract owner."""
        return self.client.transact(
            self.address, self._data("createLog", log_id, to_checksum_address(admin)), self.decoder, f"createLog({hex0x(log_id)})"
        )

    def add_anchorer(self, log_id: bytes, account: str) -> Receipt:
        """addAnchorer(logId, account): only the log's admin."""
        return self.client.transact(
            self.address,
            self._data("addAnchorer", log_id, to_checksum_address(account)),
            self.decoder,
            f"addAnchorer({hex0x(log_id)}, {account})",
        )

    def build_anchor(
        self,
        log_id: bytes,
        size: int,
        root: bytes,
        proof: Sequence[bytes],
        *,
        nonce: int | None = None,
        gas: int | None = None,
    ) -> SignedTx:
        """Sign anchor(logId, size, root, proof) with an explicit nonce; send nothing.

        The gas estimate runs the contract's checks first, so a doomed anchor (not an
        anchorer, size not increasing, inconsistent proof) raises ContractRevertError
        here. Pass `gas` to skip the estimate (the transaction may then fail in a block).
        """
        data = self._data("anchor", log_id, size, root, list(proof))
        return self.client.build(self.address, data, self.decoder, f"anchor(size {size})", nonce=nonce, gas=gas)

    def anchor(self, log_id: bytes, size: int, root: bytes, proof: Sequence[bytes]) -> Receipt:
        """Anchor and wait for the receipt (a convenience for tools and tests)."""
        data = self._data("anchor", log_id, size, root, list(proof))
        return self.client.transact(self.address, data, self.decoder, f"anchor(size {size})")

    # -- views -------------------------------------------------------------------------

    def latest(self, log_id: bytes) -> OnChainAnchor:
        """The log's latest anchor (size 0 when it has none)."""
        size, root, block_number, timestamp = self._read("latest", log_id)
        return OnChainAnchor(int(size), bytes(root), int(block_number), int(timestamp))

    def anchored_at(self, log_id: bytes, size: int) -> OnChainAnchor | None:
        """The anchor at exactly `size`, or None if nothing is anchored there."""
        try:
            root, block_number, timestamp = self._read("anchoredAt", log_id, size)
        except ContractRevertError as error:
            if error.name == "LogAnchorUnknownSize":
                return None
            raise
        return OnChainAnchor(size, bytes(root), int(block_number), int(timestamp))

    def root_at(self, log_id: bytes, size: int) -> bytes | None:
        """The root anchored at `size`, or None if nothing is anchored there."""
        try:
            return bytes(self._read("rootAt", log_id, size))
        except ContractRevertError as error:
            if error.name == "LogAnchorUnknownSize":
                return None
            raise

    def verify_inclusion(self, log_id: bytes, size: int, index: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bool:
        """The contract's own check of an inclusion proof against the root at `size`."""
        return bool(self._read("verifyInclusion", log_id, size, index, leaf_hash, list(proof)))

    def is_anchorer(self, log_id: bytes, account: str) -> bool:
        """Whether `account` may anchor log `log_id`."""
        return bool(self._read("isAnchorer", log_id, to_checksum_address(account)))

    def log_admin(self, log_id: bytes) -> str | None:
        """The log's admin, or None if the log does not exist."""
        admin = to_checksum_address(self._read("logAdmin", log_id))
        return None if int(admin, 16) == 0 else admin

    def anchored_events(self, log_id: bytes, from_block: int, to_block: int) -> list[AnchoredEvent]:
        """`Anchored` events of the log in blocks from_block..to_block, in order."""
        event = self.contract.events.Anchored()
        topic = keccak(text="Anchored(bytes32,uint64,bytes32,uint64)")
        logs = self.client.rpc(
            "eth_getLogs",
            lambda: self.client.w3.eth.get_logs(
                {
                    "address": self.address,
                    "fromBlock": from_block,
                    "toBlock": to_block,
                    "topics": [HexBytes(topic), HexBytes(log_id)],
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
                    prev_size=int(args["prevSize"]),
                    tx_hash=bytes(log["transactionHash"]),
                    block_number=int(log["blockNumber"]),
                    block_hash=bytes(log["blockHash"]),
                )
            )
        return found
