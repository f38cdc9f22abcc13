"""Domain errors: one base, carrying values; the CLI and the API map them in one place."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error this service reports to a user."""


class NotFoundError(LedgerError):
    """The thing asked for does not exist (unknown leaf hash, checkpoint, ...)."""


class NotSequencedError(LedgerError):
    """The entry exists but has no leaf index yet: seal, then ask again."""


class InvalidRequestError(LedgerError, ValueError):
    """A request whose values cannot be answered (sizes out of range and the like)."""


class NotAnchoredError(LedgerError):
    """The entry is sealed, but no confirmed anchor covers it yet: anchor, then ask again."""
