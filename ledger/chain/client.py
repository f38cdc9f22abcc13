"""A thin web3 client, signing locally.

`ChainClient` talks JSON-RPC to one endpoint: chain id, blocks, receipts, fees, and
EIP-1559 transactions built, signed with the anchor key and sent raw (the node never
holds a key). `ledger.chain.log_anchor.LogAnchor` binds the contract on top of it.

Guarantees callers rely on:

- Every failure to reach the node (refused, reset, timeout, HTTP error) raises
  `ChainUnavailableError`, which is transient: retry later. Nothing retries inside.
- A revert, from a call, a gas estimate or a replayed failed transaction, raises
  `ContractRevertError` with the custom error decoded from the ABI
  (``LogAnchorSizeNotIncreasing(logId=0x.., last=5, newSize=5)``) and a readable text.
- `build_*` only signs: nothing reaches the chain until `send` is called, so a caller
  can record the transaction's hash and nonce first.
- RPC URLs are shown without their path and query (they often embed an API key).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)

from ledger.chain.errors import (
    ChainError,
    ChainTimeoutError,
    ChainUnavailableError,
    ContractRevertError,
    TransactionFailedError,
    TransactionRejectedError,
)
from ledger.chain.keys import AnchorKey
from ledger.chain.reverts import RevertDecoder, hex0x, revert_data

RPC_TIMEOUT = 10.0
"""Seconds to wait for one JSON-RPC answer before calling the node unavailable."""

GAS_HEADROOM_PERCENT = 25
"""Gas limit = estimate + this many percent: state can shift between estimate and block."""

FEE_HISTORY_BLOCKS = 10
"""Recent blocks whose median priority fee (50th percentile) sets ours."""

BASE_FEE_MULTIPLIER = 2
"""maxFeePerGas = this x the next block's base fee + the priority fee: the transaction
stays includable through several blocks of rising base fee (EIP-1559 caps the rise at
12.5% a block), and only the actual base fee is paid."""

T = TypeVar("T")


def redact_url(url: str) -> str:
    """The URL without credentials, path or query: ``https://host:port/...``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


@dataclass(frozen=True)
class Receipt:
    """A mined transaction: where it landed and what it cost."""

    tx_hash: bytes
    status: int
    block_number: int
    block_hash: bytes
    gas_used: int
    effective_gas_price: int
    contract_address: str | None
    logs: tuple[Any, ...]


@dataclass(frozen=True)
class Block:
    """A block's number, hash and timestamp (seconds since the epoch)."""

    number: int
    hash: bytes
    timestamp: int


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fees per gas, in wei (legacy chains: `gas_price` only)."""

    max_fee: int
    priority_fee: int
    gas_price: int | None = None


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction, not yet sent: record its hash and nonce first."""

    tx_hash: bytes
    nonce: int
    gas: int
    fees: Fees
    raw: bytes

    def __repr__(self) -> str:
        return f"SignedTx(tx_hash={hex0x(self.tx_hash)}, nonce={self.nonce}, gas={self.gas})"


class ChainClient:
    """JSON-RPC to one endpoint, signing locally with `key` (None: read-only)."""

    def __init__(
        self, rpc_url: str, key: AnchorKey | None = None, *, timeout: float = RPC_TIMEOUT
    ) -> None:
        self.rpc_url = rpc_url
        self.key = key
        self.where = redact_url(rpc_url)
        provider = Web3.HTTPProvider(
            rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        self.w3 = Web3(provider)

    def __repr__(self) -> str:
        return f"ChainClient({self.where}, key={self.key!r})"

    # -- plumbing ----------------------------------------------------------------------

    def rpc(self, what: str, call: Callable[[], T]) -> T:
        """Run one web3 call, turning 'node unreachable' into ChainUnavailableError."""
        try:
            return call()
        except requests.exceptions.RequestException as error:
            reason = type(error).__name__
            if isinstance(error, requests.exceptions.ConnectionError):
                reason = "connection refused or reset"
            elif isinstance(error, requests.exceptions.Timeout):
                reason = "timed out"
            raise ChainUnavailableError(
                f"{what}: the chain at {self.where} is unreachable ({reason})"
            ) from None
        except OSError as error:
            raise ChainUnavailableError(
                f"{what}: the chain at {self.where} is unreachable ({error})"
            ) from None

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """A raw JSON-RPC request (for node-specific methods such as anvil_*)."""
        response = self.rpc(method, lambda: self.w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]
        error = response.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise ChainError(f"{method} failed at {self.where}: {message}")
        return response.get("result")

    def require_key(self) -> AnchorKey:
        """The signing key, or a clear error for a read-only client."""
        if self.key is None:
            raise ChainError("this operation signs a transaction: no anchor key is configured")
        return self.key

    # -- reads -------------------------------------------------------------------------

    @cached_property
    def chain_id(self) -> int:
        """The chain id the node reports (asked once)."""
        return int(self.rpc("eth_chainId", lambda: self.w3.eth.chain_id))

    def block_number(self) -> int:
        """The number of the node's latest block."""
        return int(self.rpc("eth_blockNumber", lambda: self.w3.eth.block_number))

    def head(self) -> Block:
        """The node's latest block."""
        found = self.block("latest")
        if found is None:
            raise ChainError(f"the chain at {self.where} has no latest block")
        return found

    def block(self, number: int | str) -> Block | None:
        """Block `number` (or a tag such as ``latest``), or None if the chain has no
        such block (yet, or any more)."""

        def read() -> Block | None:
            try:
                found = self.w3.eth.get_block(number)  # type: ignore[arg-type]
            except BlockNotFound:
                return None
            return Block(int(found["number"]), bytes(found["hash"]), int(found["timestamp"]))

        return self.rpc("eth_getBlockByNumber", read)

    def code(self, address: str | bytes) -> bytes:
        """The code deployed at `address` (empty: no contract)."""
        target = to_checksum_address(address)
        return bytes(self.rpc("eth_getCode", lambda: self.w3.eth.get_code(target)))

    def balance(self, address: str | bytes) -> int:
        """The balance of `address`, in wei."""
        target = to_checksum_address(address)
        return int(self.rpc("eth_getBalance", lambda: self.w3.eth.get_balance(target)))

    def nonce(self, address: str | bytes | None = None, block: str = "pending") -> int:
        """The next nonce of `address` (default: the key's), counting the node's pool
        for ``pending``; ``latest`` counts mined transactions only."""
        target = to_checksum_address(address if address is not None else self.require_key().address)
        tag: Any = block  # "pending" or "latest": web3 types it as a literal
        return int(
            self.rpc(
                "eth_getTransactionCount", lambda: self.w3.eth.get_transaction_count(target, tag)
            )
        )

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a mined transaction; None while it is pending or unknown."""

        def read() -> Receipt | None:
            try:
                found = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None
            if found is None or found.get("blockNumber") is None:
                return None
            return Receipt(
                tx_hash=bytes(found["transactionHash"]),
                status=int(found["status"]),
                block_number=int(found["blockNumber"]),
                block_hash=bytes(found["blockHash"]),
                gas_used=int(found["gasUsed"]),
                effective_gas_price=int(found.get("effectiveGasPrice") or 0),
                contract_address=found.get("contractAddress"),
                logs=tuple(found.get("logs") or ()),
            )

        return self.rpc("eth_getTransactionReceipt", read)

    def transaction(self, tx_hash: bytes) -> dict[str, Any] | None:
        """The transaction as the node knows it (pending or mined); None if unknown."""

        def read() -> dict[str, Any] | None:
            try:
                return dict(self.w3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self.rpc("eth_getTransactionByHash", read)

    def call(
        self,
        transaction: dict[str, Any],
        decoder: RevertDecoder,
        what: str,
        block: int | str = "latest",
    ) -> bytes:
        """eth_call; a revert raises the decoded ContractRevertError."""

        def run() -> bytes:
            try:
                return bytes(self.w3.eth.call(transaction, block))  # type: ignore[arg-type]
            except ContractLogicError as error:
                raise decoder.decode(revert_data(error), what) from None

        return self.rpc("eth_call", run)

    # -- fees and gas ------------------------------------------------------------------

    def fees(self) -> Fees:
        """Fees for a transaction now: EIP-1559 from eth_feeHistory (next block's base
        fee, median recent priority fee), or the legacy gas price on older chains."""
        history = self.rpc(
            "eth_feeHistory", lambda: self.w3.eth.fee_history(FEE_HISTORY_BLOCKS, "latest", [50])
        )
        base_fees = history.get("baseFeePerGas") or []
        if not base_fees or not base_fees[-1]:
            price = int(self.rpc("eth_gasPrice", lambda: self.w3.eth.gas_price))
            return Fees(max_fee=price, priority_fee=0, gas_price=price)
        next_base_fee = int(base_fees[-1])
        rewards = [int(r[0]) for r in history.get("reward") or [] if r and int(r[0]) > 0]
        if rewards:
            priority = int(statistics.median(rewards))
        else:  # empty recent blocks: ask the node
            priority = int(
                self.rpc("eth_maxPriorityFeePerGas", lambda: self.w3.eth.max_priority_fee)
            )
        return Fees(max_fee=BASE_FEE_MULTIPLIER * next_base_fee + priority, priority_fee=priority)

    def estimate_gas(self, transaction: dict[str, Any], decoder: RevertDecoder, what: str) -> int:
        """Gas for `transaction` plus GAS_HEADROOM_PERCENT; a revert raises decoded."""

        def run() -> int:
            try:
                return int(self.w3.eth.estimate_gas(transaction))  # type: ignore[arg-type]
            except ContractLogicError as error:
                raise decoder.decode(revert_data(error), what) from None
            except Web3RPCError as error:
                raise ChainError(
                    f"{what}: gas estimate failed at {self.where}: {error.message}"
                ) from None

        estimate = self.rpc("eth_estimateGas", run)
        return estimate + estimate * GAS_HEADROOM_PERCENT // 100

    # -- transactions ------------------------------------------------------------------

    def build(
        self,
        to: str | None,
        data: bytes,
        decoder: RevertDecoder,
        what: str,
        *,
        nonce: int | None = None,
        gas: int | None = None,
    ) -> SignedTx:
        """Build and sign a transaction (estimating gas unless `gas` is given); send
        nothing. `nonce` defaults to the key's pending nonce."""
        key = self.require_key()
        transaction: dict[str, Any] = {
            "chainId": self.chain_id,
            "from": key.address,
            "value": 0,
            "data": data,
        }
        if to is not None:
            transaction["to"] = to_checksum_address(to)
        if gas is None:
            gas = self.estimate_gas(transaction, decoder, what)
        if nonce is None:
            nonce = self.nonce(key.address, "pending")
        fees = self.fees()
        del transaction["from"]
        transaction.update(nonce=nonce, gas=gas)
        if fees.gas_price is not None:
            transaction["gasPrice"] = fees.gas_price
        else:
            transaction.update(
                type=2, maxFeePerGas=fees.max_fee, maxPriorityFeePerGas=fees.priority_fee
            )
        signed = key.sign_transaction(transaction)
        return SignedTx(bytes(signed.hash), nonce, gas, fees, bytes(signed.raw_transaction))

    def send(self, signed: SignedTx) -> None:
        """Hand a signed transaction to the node. Sending one it already has is fine;
        a refusal raises TransactionRejectedError."""

        def run() -> None:
            try:
                self.w3.eth.send_raw_transaction(signed.raw)
            except Web3RPCError as error:
                message = error.message or str(error)
                if "already known" in message.lower() or "known transaction" in message.lower():
                    return
                raise TransactionRejectedError(
                    f"the node at {self.where} refused transaction {hex0x(signed.tx_hash)}"
                    f" (nonce {signed.nonce}): {message}",
                    signed.tx_hash,
                ) from None

        self.rpc("eth_sendRawTransaction", run)

    def wait_for_receipt(
        self, tx_hash: bytes, timeout: float = 120.0, poll: float = 0.05
    ) -> Receipt:
        """Poll until the transaction is mined; ChainTimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            found = self.receipt(tx_hash)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise ChainTimeoutError(
                    f"transaction {hex0x(tx_hash)} was not mined within {timeout:g} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def failure_reason(
        self, receipt: Receipt, decoder: RevertDecoder, what: str
    ) -> ContractRevertError | None:
        """Why a mined transaction failed: replayed with eth_call on the state after its
        block (so a duplicate anchor shows as LogAnchorSizeNotIncreasing)."""
        sent = self.transaction(receipt.tx_hash)
        if sent is None:
            return None
        replay = {
            "from": sent["from"],
            "to": sent["to"],
            "data": sent["input"],
            "value": sent.get("value", 0),
        }
        try:
            self.call(replay, decoder, what, receipt.block_number)
        except ContractRevertError as error:
            return error
        return None

    def transact(
        self, to: str | None, data: bytes, decoder: RevertDecoder, what: str, timeout: float = 120.0
    ) -> Receipt:
        """Build, sign, send and wait for one transaction; a failure raises decoded."""
        signed = self.build(to, data, decoder, what)
        self.send(signed)
        receipt = self.wait_for_receipt(signed.tx_hash, timeout)
        if receipt.status != 1:
            reason = self.failure_reason(receipt, decoder, what)
            raise TransactionFailedError(
                f"{what}: transaction {hex0x(receipt.tx_hash)} failed"
                f" in block {receipt.block_number}" + (f": {reason}" if reason else ""),
                receipt.tx_hash,
                reason,
            )
        return receipt
