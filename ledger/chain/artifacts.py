"""The compiled contracts shipped inside the package (``ledger/chain/contracts/*.json``).

They are exported from the Hardhat build (a test proves they equal a fresh compile), so
the service never needs Node.js or a compiler to deploy or talk to its contracts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ledger.chain.errors import ArtifactError

CONTRACTS_PACKAGE = "ledger.chain"
CONTRACTS_FOLDER = "contracts"


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
    """Load ``ledger/chain/contracts/<name>.json`` ({"abi", "bytecode", ...})."""
    source = resources.files(CONTRACTS_PACKAGE).joinpath(CONTRACTS_FOLDER, f"{name}.json")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(
            f"the compiled contract {name} is not in the package ({CONTRACTS_FOLDER}/{name}.json):"
            " run `npm ci && npx hardhat run scripts/export_contracts.js`"
        ) from None
    except (OSError, ValueError) as error:
        raise ArtifactError(f"cannot read the compiled contract {name}: {error}") from None
    abi = document.get("abi") if isinstance(document, dict) else None
    code = document.get("bytecode") if isinstance(document, dict) else None
    if not isinstance(abi, list) or not isinstance(code, str):
        raise ArtifactError(f"{CONTRACTS_FOLDER}/{name}.json has no abi list and bytecode string")
    try:
        bytecode = bytes.fromhex(code.removeprefix("0x"))
    except ValueError:
        raise ArtifactError(f"{CONTRACTS_FOLDER}/{name}.json: bytecode is not hex") from None
    if not bytecode:
        raise ArtifactError(f"{CONTRACTS_FOLDER}/{name}.json: bytecode is empty")
    return ContractArtifact(name, abi, bytecode)
