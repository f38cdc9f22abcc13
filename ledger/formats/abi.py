"""The shipped contracts (``ledger/formats/contracts/<name>.json``), read without web3.

The JSON files are exported from the Hardhat build (tests/chain/test_artifacts.py
proves they equal a fresh compile). The verifiers derive everything they ask the chain
from them: function selectors, event topics, custom-error selectors and the SHA-256 of
each contract's runtime code, which a verifier compares with the code at a pinned
address (an address holding other code is not the contract model-ledger ships, whatever
it answers).

Only static ABI types are encoded and decoded here (`bytes32`, `uintN`, `address`,
`bool`): every view a verifier calls takes and returns only those.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from Crypto.Hash import keccak as _keccak

from ledger.core.errors import InputError

CONTRACTS = ("LogAnchor", "LicenceRegistry")
"""The contracts model-ledger ships."""

WORD = 32
"""Bytes in one ABI word."""


class AbiError(InputError):
    """A shipped artifact is missing or damaged, or a value does not fit its ABI type."""


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's hash, not SHA3-256)."""
    return _keccak.new(digest_bits=256, data=data).digest()


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(item['type'] for item in entry['inputs'])})"


@dataclass(frozen=True)
class Function:
    """One function of a contract's ABI: its selector and its static inputs and outputs."""

    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def encode(self, *args: Any) -> bytes:
        """Calldata for a call with `args` (static types only)."""
        if len(args) != len(self.inputs):
            raise AbiError(f"{self.name} takes {len(self.inputs)} arguments, got {len(args)}")
        return self.selector + b"".join(
            encode_word(kind, value) for kind, value in zip(self.inputs, args)
        )

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The return values of a call (static types only); AbiError if `data` is not
        exactly those words with every value in range."""
        if len(data) != WORD * len(self.outputs):
            raise AbiError(f"{self.name} returned {len(data)} bytes, not {len(self.outputs)} words")
        return tuple(
            decode_word(kind, data[i * WORD : (i + 1) * WORD])
            for i, kind in enumerate(self.outputs)
        )


@dataclass(frozen=True)
class Contract:
    """A shipped contract: ABI entries by name, its runtime code and that code's hash."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    runtime_code: bytes

    @property
    def runtime_sha256(self) -> bytes:
        """SHA-256 of the runtime code: what `eth_getCode` returns at a deployment."""
        return hashlib.sha256(self.runtime_code).digest()

    def _entry(self, kind: str, name: str) -> dict[str, Any]:
        for entry in self.abi:
            if entry.get("type") == kind and entry.get("name") == name:
                return entry
        raise AbiError(f"{self.name} has no {kind} {name!r}")

    def function(self, name: str) -> Function:
        """The function `name`."""
        entry = self._entry("function", name)
        return Function(
            name,
            keccak256(_signature(entry).encode())[:4],
            tuple(item["type"] for item in entry["inputs"]),
            tuple(item["type"] for item in entry["outputs"]),
        )

    def event_topic(self, name: str) -> bytes:
        """Topic 0 of event `name`: keccak256 of its signature."""
        return keccak256(_signature(self._entry("event", name)).encode())

    def event_inputs(self, name: str) -> tuple[tuple[str, str, bool], ...]:
        """Event `name`'s inputs as (name, type, indexed)."""
        return tuple(
            (item["name"], item["type"], bool(item["indexed"]))
            for item in self._entry("event", name)["inputs"]
        )

    def error_selector(self, name: str) -> bytes:
        """The 4-byte selector of custom error `name` (the start of its revert data)."""
        return keccak256(_signature(self._entry("error", name)).encode())[:4]


@cache
def contract(name: str) -> Contract:
    """The shipped contract `name` (one of CONTRACTS)."""
    if name not in CONTRACTS:
        raise AbiError(f"model-ledger ships no contract {name!r}")
    source = resources.files(__package__ or "ledger.formats").joinpath("contracts", f"{name}.json")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        abi, bytecode, runtime = document["abi"], document["bytecode"], document["deployedBytecode"]
        return Contract(name, tuple(abi), bytes.fromhex(bytecode[2:]), bytes.fromhex(runtime[2:]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AbiError(
            f"the shipped contract {name} (ledger/formats/contracts/{name}.json) cannot be read:"
            f" {type(error).__name__}: {error}; reinstall model-ledger"
        ) from None


def encode_word(kind: str, value: Any) -> bytes:
    """One static ABI value as a 32-byte word."""
    if kind == "bytes32":
        if not isinstance(value, bytes) or len(value) != WORD:
            raise AbiError(f"bytes32 needs 32 bytes, got {value!r:.80}")
        return value
    if kind == "address":
        if not isinstance(value, bytes) or len(value) != 20:
            raise AbiError(f"address needs 20 bytes, got {value!r:.80}")
        return bytes(12) + value
    if kind == "bool":
        return (1 if value else 0).to_bytes(WORD, "big")
    if kind.startswith("uint"):
        bits = int(kind[4:])
        if type(value) is not int or not 0 <= value < 1 << bits:
            raise AbiError(f"{kind} needs an integer in 0..2^{bits}-1, got {value!r:.80}")
        return value.to_bytes(WORD, "big")
    raise AbiError(f"ABI type {kind} is not supported here (static types only)")


def decode_word(kind: str, word: bytes) -> Any:
    """One static ABI value from its word; AbiError if the word is out of the type's range."""
    if kind == "bytes32":
        return word
    number = int.from_bytes(word, "big")
    if kind == "address":
        if number >> 160:
            raise AbiError(f"an address word has non-zero high bytes: 0x{word.hex()}")
        return word[12:]
    if kind == "bool":
        if number > 1:
            raise AbiError(f"a bool word is {number}")
        return number == 1
    if kind.startswith("uint"):
        bits = int(kind[4:])
        if number >> bits:
            raise AbiError(f"a {kind} word holds {number}, out of range")
        return number
    raise AbiError(f"ABI type {kind} is not supported here (static types only)")
