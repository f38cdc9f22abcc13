"""The service's domain errors, on the one base (`ledger.core.errors.LedgerError`); the CLI
and the API map them in one place."""

from __future__ import annotations

from ledger.core.errors import InputError, LedgerError

__all__ = [
    "ErasedError",
    "InputError",
    "InvalidRequestError",
    "LedgerError",
    "NotAnchoredError",
    "NotFoundError",
    "NotPublishedError",
    "NotSequencedError",
]


class NotFoundError(LedgerError):
    """The thing asked for does not exist (unknown leaf hash, checkpoint, ...)."""


class NotSequencedError(LedgerError):
    """The entry exists but has no leaf index yet: seal, then ask again."""


class ErasedError(LedgerError):
    """The entry's record was erased: only its leaf hash (and its proofs) remain."""


class InvalidRequestError(InputError):
    """A request whose values cannot be answered (sizes out of range and the like)."""


class NotAnchoredError(LedgerError):
    """The entry is sealed, but no confirmed anchor covers it yet: anchor, then ask again."""


class NotPublishedError(NotAnchoredError):
    """The entry is anchored, but no confirmed anchor holding it counts as published yet
    (too few of the log's witnesses cosigned its checkpoint): ask again later, or choose
    an anchor explicitly."""
