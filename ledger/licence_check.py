"""Checking a licence with nothing but its record and the chain.

A licensee keeps its licence record (the `record` of ``GET /v1/licences/{id}``, or that
whole response, which also names the registry). `check_licence` recomputes the record's
commitment, its leaf hash ``SHA-256(0x00 || RFC8785(record))``, and reads
``status(commitment)`` from the LicenceRegistry contract with one plain JSON-RPC
``eth_call`` at the latest block: the operator's service is never asked. The licence is
valid only when the chain says active and holds the same validity window as the record.

Imports nothing from the store, the API or web3.
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.records import RecordError, parse_object

STATUS_SELECTOR = bytes.fromhex("52ad0d5e")
"""First 4 bytes of keccak256("status(bytes32)")."""

STATES = ("unknown", "not_yet_valid", "active", "expired", "revoked")
"""The contract's `Status` enum, by value."""

RPC_TIMEOUT = 10.0
"""Seconds to wait for one JSON-RPC answer."""


def unix_seconds(ts: str) -> int:
    """A record timestamp (``2026-06-05T12:00:00.123Z``) in whole unix seconds, rounded
    down: how the registry holds a validity window."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


class LicenceCheckError(Exception):
    """The check could not be made; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LicenceFileError(LicenceCheckError):
    """The licence document is unreadable, not a licence grant, or names no registry."""


class ChainUnreadableError(LicenceCheckError):
    """The chain could not be read: the licence is neither confirmed nor refuted."""


@dataclass(frozen=True)
class LicenceDocument:
    """What a licence file holds: the record, its commitment, and where to check it."""

    record: dict[str, Any]
    commitment: bytes
    licence_id: str
    licensee: str
    valid_from: str
    valid_until: str
    chain_id: int | None
    contract: bytes | None


@dataclass(frozen=True)
class LicenceCheck:
    """The registry's answer for a licence, at one block."""

    document: LicenceDocument
    chain_id: int
    contract: bytes
    block_number: int
    block_time: int
    state: str
    valid_from: int
    valid_until: int
    granted_block: int
    revoked_block: int
    problem: str | None
    """Why the licence is not valid although the chain says active (a window that
    differs from the record's), else None."""

    @property
    def active(self) -> bool:
        """Whether the licence is valid now: active on chain, with the record's window."""
        return self.state == "active" and self.problem is None

    def as_json(self) -> dict[str, Any]:
        """The result as printed by `ledger licence check`."""
        return {
            "active": self.active,
            "status": self.state,
            "licence_id": self.document.licence_id,
            "licensee": self.document.licensee,
            "commitment": _hex(self.document.commitment),
            "valid_from": self.document.valid_from,
            "valid_until": self.document.valid_until,
            "on_chain": {
                "valid_from": self.valid_from,
                "valid_until": self.valid_until,
                "granted_block": self.granted_block or None,
                "revoked_block": self.revoked_block or None,
            },
            "chain_id": self.chain_id,
            "contract": _hex(self.contract),
            "block_number": self.block_number,
            "block_time": _time(self.block_time),
            "problem": self.problem,
        }

    def sentence(self) -> str:
        """The result in one plain sentence."""
        which = f"licence {self.document.licence_id!r} of {self.document.licensee!r}"
        where = f"at block {self.block_number} ({_time(self.block_time)}) of chain {self.chain_id}"
        if self.problem is not None:
            return f"NOT VALID: {which}: {self.problem} ({where})"
        if self.state == "active":
            return f"ACTIVE: {which} is active until {self.document.valid_until} {where}"
        if self.state == "revoked":
            return (f"REVOKED: {which} was revoked (or superseded by an amendment) in block {self.revoked_block};"
                    f" {where}")
        if self.state == "expired":
            return f"EXPIRED: {which} expired at {self.document.valid_until} {where}"
        if self.state == "not_yet_valid":
            return f"NOT YET VALID: {which} becomes active at {self.document.valid_from} {where}"
        return f"UNKNOWN: {which} was never granted on registry {_hex(self.contract)} {where}"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(value: Any, what: str) -> bytes:
    text = value[2:] if isinstance(value, str) and value[:2].lower() == "0x" else value
    try:
        data = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        data = b""
    if len(data) != 20:
        raise LicenceFileError(f"{what} is not a contract address (0x + 40 hex digits): {value!r:.80}")
    return data


def read_document(data: bytes, contract: str | None = None) -> LicenceDocument:
    """The licence record in `data`: a ``GET /v1/licences/{id}`` response (its `record`
    and `registry`) or a bare record. `contract` overrides the registry address."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise LicenceFileError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise LicenceFileError("not a JSON object: expected a licence record or a GET /v1/licences/{id} response")
    record = document.get("record", document)
    registry = document.get("registry") if "record" in document else None
    if not isinstance(record, dict) or record.get("kind") != "licence":
        raise LicenceFileError("holds no licence record (kind 'licence')")
    if "salt" not in record or "ts" not in record:
        raise LicenceFileError("the record has no salt or ts: it is not a record as the log stored it")
    try:
        entry = parse_object(record)
    except RecordError as error:
        raise LicenceFileError(f"the licence record is invalid: {error}") from None
    body = json.loads(entry.canonical)["body"]
    if body["action"] not in ("grant", "amend"):
        raise LicenceFileError(f"the record is a {body['action']!r} record: check the grant or amend record instead")
    chain_id: int | None = None
    address: bytes | None = None
    if isinstance(registry, dict):
        if isinstance(registry.get("chain_id"), int):
            chain_id = registry["chain_id"]
        if registry.get("contract") is not None:
            address = _address(registry["contract"], "registry.contract")
    if contract is not None:
        address = _address(contract, "--contract")
    if address is None:
        raise LicenceFileError("names no registry: pass --contract ADDRESS (the LicenceRegistry of the licence's issuer)")
    return LicenceDocument(
        record, entry.leaf_hash, body["licence_id"], body["licensee"], body["valid_from"], body["valid_until"],
        chain_id, address,
    )


class JsonRpc:
    """Plain JSON-RPC over HTTP POST: the three reads a licence check needs."""

    def __init__(self, url: str, timeout: float = RPC_TIMEOUT) -> None:
        import httpx

        self.url = url
        self._http = httpx.Client(timeout=timeout)
        self._ids = 0

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()

    def request(self, method: str, params: list[Any]) -> Any:
        """The result of one JSON-RPC call; ChainUnreadableError on any failure."""
        import httpx

        self._ids += 1
        try:
            response = self._http.post(self.url, json={"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise ChainUnreadableError(f"{method}: the chain at {self.url} is unreachable ({type(error).__name__})") from None
        except ValueError:
            raise ChainUnreadableError(f"{method}: the node at {self.url} did not answer JSON") from None
        if not isinstance(answer, dict) or "error" in answer:
            failure = answer.get("error") if isinstance(answer, dict) else answer
            raise ChainUnreadableError(f"{method} failed at {self.url}: {failure!r:.200}")
        return answer.get("result")

    def quantity(self, method: str, params: list[Any]) -> int:
        """A call whose result is a hex quantity."""
        value = self.request(method, params)
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ChainUnreadableError(f"{method}: expected a hex quantity, got {value!r:.80}")
        return int(value, 16)


def check_licence(document: LicenceDocument, rpc: JsonRpc) -> LicenceCheck:
    """Read the licence's commitment from its registry at the chain's latest block."""
    assert document.contract is not None  # read_document insists on one
    chain_id = rpc.quantity("eth_chainId", [])
    if document.chain_id is not None and document.chain_id != chain_id:
        raise ChainUnreadableError(
            f"the licence's registry is on chain id {document.chain_id}, but {rpc.url} serves chain id {chain_id}:"
            " use an RPC endpoint of that chain"
        )
    block = rpc.request("eth_getBlockByNumber", ["latest", False])
    if not isinstance(block, dict):
        raise ChainUnreadableError(f"eth_getBlockByNumber answered {block!r:.80}")
    number, timestamp = int(block["number"], 16), int(block["timestamp"], 16)
    code = rpc.request("eth_getCode", [_hex(document.contract), hex(number)])
    if code in (None, "0x"):
        raise ChainUnreadableError(f"no contract at {_hex(document.contract)} on chain id {chain_id}")
    call = {"to": _hex(document.contract), "data": _hex(STATUS_SELECTOR + document.commitment)}
    result = rpc.request("eth_call", [call, hex(number)])
    try:
        words = bytes.fromhex(result[2:]) if isinstance(result, str) and result.startswith("0x") else b""
    except ValueError:
        words = b""
    if len(words) != 5 * 32:
        raise ChainUnreadableError(f"status() answered {len(words)} bytes, not 5 words: is {_hex(document.contract)} a LicenceRegistry?")
    state, valid_from, valid_until, granted, revoked = (int.from_bytes(words[i : i + 32], "big") for i in range(0, 160, 32))
    if state >= len(STATES):
        raise ChainUnreadableError(f"status() answered an unknown state {state}")
    problem = None
    expected = (unix_seconds(document.valid_from), unix_seconds(document.valid_until))
    if state != 0 and (valid_from, valid_until) != expected:
        problem = (
            f"the registry holds the validity window {valid_from}..{valid_until} (unix seconds), but the record"
            f" says {expected[0]}..{expected[1]}"
        )
    return LicenceCheck(
        document, chain_id, document.contract, number, timestamp, STATES[state],
        valid_from, valid_until, granted, revoked, problem,
    )
