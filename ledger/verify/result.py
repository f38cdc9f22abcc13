"""What a verification finds: the checks run (in order), and how they end.

`Run` collects checks into a `VerificationResult`; `Run.fail` records the failed check
and raises it as a `VerificationError` whose `result` is attached. Every verifier of
evidence (bundles, packs) reports this way, so the CLI, the reports and the page show the
same check names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, NoReturn, Protocol

from ledger.core.errors import LedgerError
from ledger.formats.checkpoint import AnchorRef
from ledger.formats.fields import hex0x
from ledger.formats.identity import LogIdentity


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ChainAnchor:
    """Where the chain anchored a checkpoint: the root the contract holds, and the block
    (number, hash and header time) of the transaction that anchored it."""

    root: bytes
    block_number: int
    block_hash: bytes
    timestamp: int
    tx_hash: bytes
    index_root: bytes
    """The index root the log key signed with this checkpoint (zero: none)."""


@dataclass(frozen=True)
class KeyCompleteness:
    """What a verified completeness proof establishes: `leaf_indices` are all the
    entries of `key` whose leaf index lies in [start, end), among the first `tree_size`
    entries of the log (`count` of them)."""

    key: str
    tree_size: int
    start: int
    end: int
    leaf_indices: tuple[int, ...]
    query: str | None = None
    """In a complete pack: the query in words; `leaf_indices` are then the key's entries
    that match it, and `outside` counts the key's other entries in the window."""
    outside: int = 0
    erased: int = 0
    """Of the `outside` entries of a complete pack, those erased (docs/privacy.md)."""
    proven: int = 0
    """Of the `erased`, those whose markers were proven (the others are the operator's
    claim)."""

    @property
    def count(self) -> int:
        """Entries of the key in the window."""
        return len(self.leaf_indices)


@dataclass
class VerificationResult:
    """The checks run, in order; with a chain, the anchor the chain holds."""

    checks: list[Check] = field(default_factory=list)
    chain_consulted: bool = False
    identity: LogIdentity | None = None
    """The pinned log identity checked against (None: none was given, offline only)."""
    bundle: Checkpointed | None = None
    """The bundle (or pack, see ledger.verify.pack) once it parsed."""
    anchored: ChainAnchor | None = None
    complete: KeyCompleteness | None = None
    """For a completeness proof, what it proved (set once every check passed)."""
    complete_keys: tuple[KeyCompleteness, ...] = ()
    """For a complete pack, what it proved of each account (set once every check passed)."""

    @property
    def valid(self) -> bool:
        """Every check run passed (offline: the mathematics only)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def existed_no_later_than(self) -> datetime | None:
        """The anchor block's time, as read from its header (None offline)."""
        if self.anchored is None:
            return None
        return datetime.fromtimestamp(self.anchored.timestamp, UTC)

    def statement(self) -> str:
        """The conclusion in one line."""
        if self.anchored is not None and self.identity is not None:
            return (
                f"existed no later than {utc_text(self.anchored.timestamp)} (block"
                f" {self.anchored.block_number}), in {self.identity.describe()}"
            )
        if self.bundle is not None and not self.chain_consulted:
            claimed = self.bundle.anchor
            which = (
                "no log identity was pinned, so nothing says which log this is"
                if self.identity is None
                else f"it names the pinned {self.identity.describe()}"
            )
            return (
                "the chain was NOT consulted (offline): only the mathematics was"
                " checked. The entries are in the tree whose root the"
                f" {self.bundle.noun} states, but that this root was anchored (block"
                f" {claimed.block_number}, {utc_text(claimed.block_timestamp)}) is"
                f" the {self.bundle.noun}'s unverified claim; {which}"
            )
        return "not verified"


class VerificationError(LedgerError):
    """A check failed: `check` names it, `message` says why; `result` holds the checks
    run so far, the failed one last."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message
        self.result: VerificationResult | None = None


class BundleError(VerificationError):
    """The bundle cannot be read: not JSON, an unknown format, a missing or bad field."""

    def __init__(self, message: str) -> None:
        super().__init__("bundle", message)


class PackError(VerificationError):
    """The pack cannot be read: not JSON, a missing or bad field, bad leaf indices."""

    def __init__(self, message: str) -> None:
        super().__init__("pack", message)


class ChainReadError(VerificationError):
    """The chain could not be read (unreachable, or an unexpected answer): the bundle
    is neither proven nor refuted."""

    def __init__(self, message: str) -> None:
        super().__init__("chain", message)


def utc_text(timestamp: int) -> str:
    """A Unix time as RFC 3339 UTC, e.g. 2026-06-05T12:00:00Z; a time past year 9999 (a
    bundle may claim any uint64) as the number of seconds."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"{timestamp} (unix seconds, past year 9999)"


class Checkpointed(Protocol):
    """What the chain checks read from a parsed bundle or pack: where it is anchored
    and the checkpoint it proves against. `noun` names it in messages."""

    noun: ClassVar[str]

    @property
    def chain_id(self) -> int: ...
    @property
    def contract(self) -> bytes: ...
    @property
    def log_id(self) -> bytes: ...
    @property
    def tree_size(self) -> int: ...
    @property
    def root(self) -> bytes: ...
    @property
    def anchor(self) -> AnchorRef: ...


class Run:
    """Collects checks into a result; `fail` raises with the result attached."""

    def __init__(self, result: VerificationResult) -> None:
        self.result = result

    def ok(self, name: str, detail: str) -> None:
        """Record a passed check."""
        self.result.checks.append(Check(name, True, detail))

    def fail(self, error: VerificationError) -> NoReturn:
        """Record the failed check and raise it."""
        self.result.checks.append(Check(error.check, False, error.message))
        error.result = self.result
        raise error


__all__ = ["hex0x"]
