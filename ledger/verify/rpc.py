"""The verifiers' one JSON-RPC reader: plain HTTP POST, no web3, no key.

Every contract call is derived from the shipped ABI (`ledger.formats.abi`): selectors,
return types, event topics and custom errors. Answers are checked before use: a node
that answers something malformed is treated like one that cannot be reached.

Two failures, kept apart because they mean different things to a verifier:

- `ChainUnreadableError`: the node could not be reached or answered nonsense. Nothing
  was decided; try again or another node.
- `ContractCallError`: the contract reverted (`error_name` holds the custom error, when
  the ABI knows it) or returned words that do not decode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from ledger.core.errors import LedgerError
from ledger.formats.abi import AbiError, Contract, contract
from ledger.formats.strict_json import StrictJsonError, load_strict

RPC_TIMEOUT = 10.0
"""Seconds to wait for one JSON-RPC answer."""

RPC_BATCH = 200
"""Calls sent in one JSON-RPC batch by the `*_many` reads."""

LOG_BLOCK_CHUNK = 10_000
"""Blocks per eth_getLogs request (many nodes refuse wide ranges)."""

MAX_ANSWER_BYTES = 256 * 1024 * 1024
"""Largest JSON-RPC answer read (a batch of RPC_BATCH block headers, or a range of logs)."""

_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})")
"""A JSON-RPC quantity: 0x and at most 64 hex digits, without leading zeros."""

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
"""JSON-RPC data: 0x and pairs of hex digits (either case), nothing else (no spaces:
bytes.fromhex alone would skip them). The page (verify-rpc.js HEX) reads the same."""


class ChainUnreadableError(LedgerError):
    """The chain could not be read: unreachable, or an answer that makes no sense."""


class ContractCallError(LedgerError):
    """A contract call reverted or answered something that does not decode."""

    def __init__(self, message: str, error_name: str | None = None) -> None:
        super().__init__(message)
        self.error_name = error_name


def redact_url(url: str) -> str:
    """The URL without credentials, path or query (they often hold an API key)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    tail = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}{tail}"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@dataclass(frozen=True)
class Block:
    """A block header's number, hash and time (unix seconds)."""

    number: int
    hash: bytes
    timestamp: int


@dataclass(frozen=True)
class EventLog:
    """One log entry of a receipt or of eth_getLogs."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int


@dataclass(frozen=True)
class TxReceipt:
    """A mined transaction: where it landed, whom it called, whether it succeeded, its logs."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    to: bytes | None
    succeeded: bool
    logs: tuple[EventLog, ...]


@dataclass(frozen=True)
class LogInfo:
    """LogAnchor.logInfo(logId): the log key, the admin, the latest anchored size, and
    whether the log was retired (its admin trusting it up to `trusted_size` only)."""

    signer: bytes
    admin: bytes
    latest_size: int
    retired: bool
    trusted_size: int


@dataclass(frozen=True)
class LicenceStatus:
    """LicenceRegistry.status(commitment) at one block: the state, the validity window,
    the blocks it was granted and revoked in, and the issuer key that signed the grant
    (20 zero bytes: never granted)."""

    state: int
    valid_from: int
    valid_until: int
    granted_block: int
    revoked_block: int
    issuer: bytes


class JsonRpcReader:
    """The chain reads every verifier needs, over JSON-RPC at `url`."""

    def __init__(self, url: str, timeout: float = RPC_TIMEOUT) -> None:
        import httpx  # the offline verifier never needs HTTP

        self.url = url
        self.where = redact_url(url)
        self._http = httpx.Client(timeout=timeout)
        self._ids = 0

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _post(self, method: str, body: Any) -> Any:
        import httpx

        try:
            response = self._http.post(self.url, json=body)
            response.raise_for_status()
            content = response.content
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise ChainUnreadableError(
                f"{method}: the chain at {self.where} is unreachable ({type(error).__name__})"
            ) from None
        try:
            return load_strict(content, MAX_ANSWER_BYTES, "the answer")
        except StrictJsonError as error:
            raise ChainUnreadableError(
                f"{method}: the node at {self.where} did not answer readable JSON: {error}"
            ) from None

    def _send(self, method: str, params: list[Any]) -> dict[str, Any]:
        self._ids += 1
        answer = self._post(
            method, {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}
        )
        if not isinstance(answer, dict):
            raise ChainUnreadableError(
                f"{method}: the node at {self.where} answered {answer!r:.80}"
            )
        return answer

    def _batch(self, method: str, params: Sequence[list[Any]]) -> list[dict[str, Any]]:
        """Answers to `method` with each of `params`, RPC_BATCH per request (one by one
        if the node does not answer batches)."""
        answers: list[dict[str, Any]] = []
        for start in range(0, len(params), RPC_BATCH):
            chunk = params[start : start + RPC_BATCH]
            first = self._ids + 1
            self._ids += len(chunk)
            body = [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": p}
                for i, p in enumerate(chunk)
            ]
            found = self._post(method, body)
            by_id = (
                {a["id"]: a for a in found if isinstance(a, dict) and type(a.get("id")) is int}
                if isinstance(found, list)
                else {}
            )
            ordered = [by_id.get(first + i) for i in range(len(chunk))]
            if any(answer is None for answer in ordered):
                answers.extend(self._send(method, p) for p in chunk)
            else:
                answers.extend(a for a in ordered if a is not None)
        return answers

    def _result(self, method: str, params: list[Any]) -> Any:
        return self._checked(method, self._send(method, params))

    def _checked(self, method: str, answer: dict[str, Any]) -> Any:
        if "error" in answer:
            raise ChainUnreadableError(f"{method} failed at {self.where}: {answer['error']!r:.200}")
        return answer.get("result")

    # -- decoding --------------------------------------------------------------------------

    def _data(self, value: Any, what: str) -> bytes:
        if isinstance(value, str) and _HEX.fullmatch(value):
            return bytes.fromhex(value[2:])
        raise ChainUnreadableError(
            f"{what}: expected 0x hex from the node at {self.where}, got {value!r:.80}"
        )

    def _fixed(self, value: Any, what: str, size: int) -> bytes:
        data = self._data(value, what)
        if len(data) != size:
            raise ChainUnreadableError(
                f"{what}: expected {size} bytes from the node at {self.where}, got {len(data)}"
            )
        return data

    def _quantity(self, value: Any, what: str) -> int:
        if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
            raise ChainUnreadableError(
                f"{what}: expected a 0x quantity from the node at {self.where}, got {value!r:.80}"
            )
        return int(value, 16)

    def _block(self, found: Any, what: str) -> Block | None:
        if found is None:
            return None
        if not isinstance(found, dict):
            raise ChainUnreadableError(f"{what} answered {found!r:.80}")
        return Block(
            self._quantity(found.get("number"), f"{what} number"),
            self._fixed(found.get("hash"), f"{what} hash", 32),
            self._quantity(found.get("timestamp"), f"{what} timestamp"),
        )

    def _log(self, found: Any, what: str) -> EventLog:
        if not isinstance(found, dict) or not isinstance(found.get("topics"), list):
            raise ChainUnreadableError(f"{what}: a log entry without topics: {found!r:.120}")
        return EventLog(
            address=self._fixed(found.get("address"), f"{what} address", 20),
            topics=tuple(self._fixed(t, f"{what} topic", 32) for t in found["topics"]),
            data=self._data(found.get("data"), f"{what} data"),
            block_number=self._quantity(found.get("blockNumber"), f"{what} block number"),
            block_hash=self._fixed(found.get("blockHash"), f"{what} block hash", 32),
            tx_hash=self._fixed(found.get("transactionHash"), f"{what} transaction hash", 32),
            log_index=self._quantity(found.get("logIndex"), f"{what} log index"),
        )

    # -- plain reads -----------------------------------------------------------------------

    def chain_id(self) -> int:
        """The node's chain id."""
        return self._quantity(self._result("eth_chainId", []), "eth_chainId")

    def block_number(self) -> int:
        """The number of the node's latest block."""
        return self._quantity(self._result("eth_blockNumber", []), "eth_blockNumber")

    def block(self, number: int | str = "latest") -> Block | None:
        """Block `number` (or "latest"), None if there is no such block."""
        tag = number if isinstance(number, str) else hex(number)
        return self._block(
            self._result("eth_getBlockByNumber", [tag, False]), "eth_getBlockByNumber"
        )

    def blocks(self, numbers: Sequence[int]) -> list[Block | None]:
        """`block` for each number, batched."""
        answers = self._batch("eth_getBlockByNumber", [[hex(n), False] for n in numbers])
        return [
            self._block(self._checked("eth_getBlockByNumber", a), "eth_getBlockByNumber")
            for a in answers
        ]

    def code(self, address: bytes, block: int | str = "latest") -> bytes:
        """The code at `address` (empty: none)."""
        tag = block if isinstance(block, str) else hex(block)
        return self._data(self._result("eth_getCode", [_hex(address), tag]), "eth_getCode")

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a mined transaction, with its logs; None if not mined."""
        found = self._result("eth_getTransactionReceipt", [_hex(tx_hash)])
        if found is None:
            return None
        if not isinstance(found, dict) or not isinstance(found.get("logs"), list):
            raise ChainUnreadableError(f"eth_getTransactionReceipt answered {found!r:.80}")
        to = found.get("to")
        return TxReceipt(
            tx_hash=self._fixed(found.get("transactionHash"), "receipt transaction hash", 32),
            block_number=self._quantity(found.get("blockNumber"), "receipt block number"),
            block_hash=self._fixed(found.get("blockHash"), "receipt block hash", 32),
            to=None if to is None else self._fixed(to, "receipt recipient", 20),
            succeeded=found.get("status") == "0x1",
            logs=tuple(self._log(entry, "receipt") for entry in found["logs"]),
        )

    def transaction_input(self, tx_hash: bytes) -> tuple[bytes | None, bytes] | None:
        """(recipient, calldata) of a transaction; None if the node does not know it."""
        found = self._result("eth_getTransactionByHash", [_hex(tx_hash)])
        if found is None:
            return None
        if not isinstance(found, dict):
            raise ChainUnreadableError(f"eth_getTransactionByHash answered {found!r:.80}")
        to = found.get("to")
        return (
            None if to is None else self._fixed(to, "transaction recipient", 20),
            self._data(found.get("input"), "transaction input"),
        )

    def logs(
        self, address: bytes, topics: Sequence[bytes], from_block: int, to_block: int
    ) -> list[EventLog]:
        """Logs of `address` whose leading topics are `topics`, in blocks from..to, in
        LOG_BLOCK_CHUNK requests; removed (reorganised) logs are left out."""
        found: list[EventLog] = []
        for start in range(from_block, to_block + 1, LOG_BLOCK_CHUNK):
            query = {
                "address": _hex(address),
                "fromBlock": hex(start),
                "toBlock": hex(min(start + LOG_BLOCK_CHUNK - 1, to_block)),
                "topics": [_hex(topic) for topic in topics],
            }
            answer = self._result("eth_getLogs", [query])
            if not isinstance(answer, list):
                raise ChainUnreadableError(f"eth_getLogs answered {answer!r:.80}")
            found.extend(
                self._log(entry, "eth_getLogs")
                for entry in answer
                if not (isinstance(entry, dict) and entry.get("removed"))
            )
        return found

    # -- contract calls --------------------------------------------------------------------

    def _call_answer(
        self, shipped: Contract, function: str, answer: dict[str, Any]
    ) -> tuple[Any, ...]:
        fn = shipped.function(function)
        error = answer.get("error")
        if error is not None:
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict):  # some nodes nest it one level deeper
                data = data.get("data")
            revert = (
                bytes.fromhex(data[2:]) if isinstance(data, str) and _HEX.fullmatch(data) else b""
            )
            name = next(
                (
                    e["name"]
                    for e in shipped.abi
                    if e.get("type") == "error" and shipped.error_selector(e["name"]) == revert[:4]
                ),
                None,
            )
            if name is None and not revert:
                message = error.get("message") if isinstance(error, dict) else error
                raise ChainUnreadableError(
                    f"eth_call {function} failed at {self.where}: {message!r:.200}"
                )
            raise ContractCallError(
                f"{shipped.name}.{function} reverted with {name or '0x' + revert.hex()}", name
            )
        result = self._data(answer.get("result"), f"{function} result")
        try:
            return fn.decode(result)
        except AbiError as failed:
            raise ContractCallError(
                f"{shipped.name}.{function} answered {failed}: is this a {shipped.name}?"
            ) from None

    def call(
        self, name: str, address: bytes, function: str, *args: Any, block: int | str = "latest"
    ) -> tuple[Any, ...]:
        """`function(*args)` of the shipped contract `name` at `address`, decoded."""
        shipped = contract(name)
        tag = block if isinstance(block, str) else hex(block)
        request = {"to": _hex(address), "data": _hex(shipped.function(function).encode(*args))}
        return self._call_answer(shipped, function, self._send("eth_call", [request, tag]))

    def call_many(
        self, name: str, address: bytes, function: str, args: Sequence[tuple[Any, ...]]
    ) -> list[tuple[Any, ...] | ContractCallError]:
        """`call` for each argument tuple, batched; a revert is returned, not raised."""
        shipped = contract(name)
        fn = shipped.function(function)
        requests = [[{"to": _hex(address), "data": _hex(fn.encode(*a))}, "latest"] for a in args]
        out: list[tuple[Any, ...] | ContractCallError] = []
        for answer in self._batch("eth_call", requests):
            try:
                out.append(self._call_answer(shipped, function, answer))
            except ContractCallError as error:
                out.append(error)
        return out

    # -- LogAnchor ---------------------------------------------------------------------------

    def log_info(self, log_anchor: bytes, log_id: bytes, block: int | str = "latest") -> LogInfo:
        """LogAnchor.logInfo(logId); ContractCallError (`LogAnchorUnknownLog`) if no such log."""
        signer, admin, latest, retired, trusted = self.call(
            "LogAnchor", log_anchor, "logInfo", log_id, block=block
        )
        return LogInfo(signer, admin, latest, retired, trusted)

    def root_at(self, log_anchor: bytes, log_id: bytes, size: int) -> bytes | None:
        """LogAnchor.rootAt(logId, size); None if nothing is anchored at `size`."""
        try:
            (root,) = self.call("LogAnchor", log_anchor, "rootAt", log_id, size)
        except ContractCallError as error:
            if error.error_name == "LogAnchorUnknownSize":
                return None
            raise
        return bytes(root)

    def roots_at(
        self, log_anchor: bytes, log_id: bytes, sizes: Sequence[int]
    ) -> list[bytes | None]:
        """`root_at` for each size, batched."""
        out: list[bytes | None] = []
        for answer in self.call_many(
            "LogAnchor", log_anchor, "rootAt", [(log_id, size) for size in sizes]
        ):
            if isinstance(answer, ContractCallError):
                if answer.error_name != "LogAnchorUnknownSize":
                    raise answer
                out.append(None)
            else:
                out.append(bytes(answer[0]))
        return out

    # -- LicenceRegistry -------------------------------------------------------------------

    def licence_status(self, registry: bytes, commitment: bytes, block: int) -> LicenceStatus:
        """LicenceRegistry.status(commitment) as of block `block`."""
        state, valid_from, valid_until, granted, revoked, issuer = self.call(
            "LicenceRegistry", registry, "status", commitment, block=block
        )
        return LicenceStatus(state, valid_from, valid_until, granted, revoked, bytes(issuer))
