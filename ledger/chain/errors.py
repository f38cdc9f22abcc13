"""Errors of the chain layer: one base under `LedgerError`, each carrying its values."""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerError


class ChainError(LedgerError):
    """Base of every error talking to the chain or preparing to."""


class ArtifactError(ChainError):
    """The shipped contract ABI/bytecode is missing or unreadable."""


class AnchorKeyError(ChainError):
    """No usable anchor key. The message never contains key material."""


class AnvilError(ChainError):
    """The embedded Anvil chain could not be started or answered wrongly."""


class ChainUnavailableError(ChainError):
    """The RPC endpoint did not answer (connection refused, timeout, HTTP error).

    Transient by nature: callers retry with backoff.
    """


class ContractRevertError(ChainError):
    """A contract call or transaction reverted; `name` and `args` are the decoded error.

    `name` is the custom error's name (``LogAnchorSizeNotIncreasing``), ``Error`` for a
    string revert, ``Panic`` for a Solidity panic, or ``unknown`` when the revert data
    matches nothing in the ABI.
    """

    def __init__(self, message: str, name: str, args: dict[str, Any], data: bytes) -> None:
        super().__init__(message)
        self.name = name
        self.args_by_name = args
        self.data = data


class TransactionFailedError(ChainError):
    """A transaction was mined but failed (status 0); `reason` is the decoded revert,
    when the node could replay it."""

    def __init__(self, message: str, tx_hash: bytes, reason: ContractRevertError | None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.reason = reason


class TransactionRejectedError(ChainError):
    """The node refused a signed transaction (nonce too low, underpriced, no funds...)."""

    def __init__(self, message: str, tx_hash: bytes) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class ChainTimeoutError(ChainError):
    """A transaction was not mined (or not confirmed) within the time allowed."""
