"""Revert data -> readable errors, from a contract's ABI.

A revert carries a 4-byte selector and ABI-encoded arguments. `RevertDecoder` matches
the selector against the ABI's custom errors (and Solidity's Error(string) and
Panic(uint256)) and builds a `ContractRevertError` whose text names the error, its
arguments, and what it means: ``anchor(size 5) reverted: LogAnchorSizeNotIncreasing(
logId=0x.., last=5, newSize=5): log 0x.. has size 5 anchored; size 5 is not larger``.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.errors import ContractRevertError

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

_EXPLANATIONS = {
    "LogAnchorUnknownLog": "log {logId} does not exist on this contract",
    "LogAnchorLogExists": "log {logId} exists already",
    "LogAnchorInvalidAdmin": (
        "{admin} cannot be a log admin (the zero address, or the log key itself)"
    ),
    "LogAnchorInvalidSigner": "the zero address cannot be a log key",
    "LogAnchorNotAdmin": "{account} is not the admin of log {logId}",
    "LogAnchorNotPendingAdmin": "{account} is not the pending admin of log {logId}",
    "LogAnchorBadSignature": (
        "the checkpoint is not signed by the log key of log {logId}"
        " (the signature recovers to {recovered})"
    ),
    "LogAnchorSizeNotIncreasing": (
        "log {logId} has size {last} anchored; size {newSize} is not larger"
    ),
    "LogAnchorZeroRoot": "a root of zero bytes cannot be anchored (size {newSize} of log {logId})",
    "LogAnchorInconsistent": "the consistency proof from anchored size {prevSize} to size {newSize}"
    " of log {logId} does not verify",
    "LogAnchorUnknownSize": "nothing is anchored at size {size} of log {logId}",
    "LogAnchorRetired": (
        "log {logId} is retired (its admin trusts it up to size"
        " {trustedSize}): it takes no more anchors"
    ),
    "LogAnchorRenounceDisabled": "the owner of a LogAnchor cannot renounce ownership",
    "LogAnchorUntrustedSize": (
        "log {logId} was retired and its admin trusts it up to size"
        " {trustedSize} only, not size {size}"
    ),
    "OwnableUnauthorizedAccount": "{account} is not the contract owner",
    "LogAnchorNotAdminSignature": (
        "the retirement of log {logId} is not signed by its admin (the"
        " signature recovers to {recovered})"
    ),
    "LicenceRegistryNotIssuer": (
        "the grant or revocation of commitment {commitment} is not signed by the"
        " issuer key of this LicenceRegistry (the signature recovers to {recovered})"
    ),
    "LicenceRegistryInvalidIssuer": "the zero address cannot be an issuer",
    "LicenceRegistryUnknownCommitment": "commitment {commitment} was never granted",
    "LicenceRegistryAlreadyGranted": (
        "commitment {commitment} was granted already, in block {grantedBlock}"
    ),
    "LicenceRegistryAlreadyRevoked": (
        "commitment {commitment} was revoked already, in block {revokedBlock}"
    ),
    "LicenceRegistryBadValidity": (
        "the validity window of commitment {commitment} is empty or ends too late"
        " (validUntil {validUntil} must be after validFrom {validFrom} and at most 2^40 - 1)"
    ),
    "LicenceRegistryNoRevocationRecord": (
        "the revocation of commitment {commitment} names no log record (a zero hash)"
    ),
}


def hex0x(data: bytes) -> str:
    """0x-prefixed lowercase hex."""
    return "0x" + data.hex()


def show(value: Any) -> str:
    """A decoded ABI value as text: bytes as 0x hex, lists element by element."""
    if isinstance(value, bytes):
        return hex0x(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


class RevertDecoder:
    """Turns revert data into `ContractRevertError` using a contract's ABI errors."""

    def __init__(self, artifact: ContractArtifact) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for entry in artifact.entries("error"):
            types = [abi_type(i) for i in entry.get("inputs", [])]
            names = [i.get("name") or f"arg{n}" for n, i in enumerate(entry.get("inputs", []))]
            selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
            self._errors[selector] = (entry["name"], types, names)

    def decode(self, data: bytes, context: str) -> ContractRevertError:
        """The error that revert `data` encodes; `context` says what reverted."""
        selector, body = data[:4], data[4:]
        name, args = "unknown", {}
        try:
            if selector == ERROR_SELECTOR:
                name, args = "Error", {"reason": abi_decode(["string"], body)[0]}
            elif selector == PANIC_SELECTOR:
                name, args = "Panic", {"code": hex(abi_decode(["uint256"], body)[0])}
            elif selector in self._errors:
                name, types, names = self._errors[selector]
                values = [
                    to_checksum_address(v) if t == "address" else v
                    for t, v in zip(types, abi_decode(types, body), strict=True)
                ]
                args = dict(zip(names, values, strict=True))
        except Exception:  # noqa: BLE001 - malformed revert data is reported raw
            name, args = "unknown", {}
        shown = {key: show(value) for key, value in args.items()}
        signature = f"{name}({', '.join(f'{k}={v}' for k, v in shown.items())})"
        if name == "unknown":
            signature = f"unknown error (revert data {hex0x(data) if data else 'empty'})"
        explanation = _EXPLANATIONS.get(name)
        text = f"{context} reverted: {signature}"
        if explanation:
            try:
                text += f": {explanation.format(**shown)}"
            except (
                KeyError,
                IndexError,
            ):  # an explanation out of step with the ABI: the name and values still say it
                pass
        return ContractRevertError(text, name, args, data)


def abi_type(entry: dict[str, Any]) -> str:
    """The canonical type of an ABI input/output entry (tuples spelled out)."""
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in entry["components"]) + ")" + kind[len("tuple") :]
    return kind


def revert_data(error: ContractLogicError) -> bytes:
    """The raw revert data web3 attached to `error` (empty when it has none)."""
    data = error.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str):
        text = data.removeprefix("Reverted ").strip()
        try:
            return bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            return b""
    return b""
