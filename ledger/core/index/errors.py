"""The error of index proofs: `check` names what failed, as the verifiers report it."""

from __future__ import annotations

from ledger.core.merkle import ProofError


class IndexProofError(ProofError):
    """An index proof does not verify: `check` names the failed check (``duplicated``,
    ``reordered``, ``tree size``, ``omitted``, ``index map``, ``index root``...)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message

    def __reduce__(self) -> tuple[type[IndexProofError], tuple[str, str]]:
        return type(self), (self.check, self.message)
