"""Errors of proof verification: one base class, and the cases callers branch on.

Every failure of `verify_inclusion` / `verify_consistency` (and of the `root_from_*`
functions) is a `ProofError`, so `except ProofError` catches them all; it is a
`ValueError` because a bad proof is a bad argument.
"""

from __future__ import annotations

from ledger.core.errors import InputError


class ProofError(InputError):
    """A proof does not verify, or the values it came with cannot describe a proof
    (a leaf index beyond the tree size, a hash of the wrong length, ...)."""


class RootMismatchError(ProofError):
    """The proof is well formed, but the root it leads to is not the expected one.

    `expected` is the root the caller asked about, `calculated` the one the proof gives.
    """

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        self.expected = expected
        self.calculated = calculated
        super().__init__(
            f"root mismatch: expected 0x{expected.hex()}, calculated 0x{calculated.hex()}"
        )

    def __reduce__(self) -> tuple[type[RootMismatchError], tuple[bytes, bytes]]:
        return type(self), (self.expected, self.calculated)


class ProofLengthError(ProofError):
    """The proof has the wrong number of nodes for the tree sizes and index given."""

    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"wrong proof length: expected {expected} nodes, got {got}")

    def __reduce__(self) -> tuple[type[ProofLengthError], tuple[int, int]]:
        return type(self), (self.expected, self.got)
