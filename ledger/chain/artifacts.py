"""The compiled contracts shipped inside the package (``ledger/formats/contracts/*.json``),
as the bindings use them.

They are exported from the Hardhat build (a test proves they equal a fresh compile), so
the service never needs Node.js or a compiler to deploy or talk to its contracts. The
files are read by `ledger.formats.abi`, which the verifiers use too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ledger.chain.errors import ArtifactError
from ledger.formats.abi import AbiError, contract


@dataclass(frozen=True)
class ContractArtifact:
    """A contract's ABI and creation bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes

    def entries(self, kind: str) -> list[dict[str, Any]]:
        """The ABI entries of one type: ``function``, ``event``, ``error``..."""
        return [entry for entry in self.abi if entry.get("type") == kind]


@cache
def load_artifact(name: str = "LogAnchor") -> ContractArtifact:
    """The shipped contract `name` ({"abi", "bytecode", ...})."""
    try:
        shipped = contract(name)
    except AbiError as error:
        raise ArtifactError(str(error)) from None
    return ContractArtifact(name, list(shipped.abi), shipped.bytecode)
