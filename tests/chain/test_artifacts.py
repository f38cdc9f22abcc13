"""The compiled contracts shipped in ledger/formats/contracts/ equal a fresh compile.

The service deploys and calls LogAnchor and LicenceRegistry from the JSON shipped
inside the package, never from a local build. This test copies the Hardhat project
(config, package.json, contracts/, the export script) to a temporary folder, with
node_modules linked in, compiles it from scratch (`hardhat compile --force`), exports it with
scripts/export_contracts.js, and requires the result to equal the shipped file: the
same ABI, creation and runtime bytecode, compiler version, and the same bytes.

When it fails after a change to contracts/ or to the compiler settings, run
`npx hardhat run scripts/export_contracts.js` and commit the new JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DIR = REPO_ROOT / "ledger" / "formats" / "contracts"
CONTRACTS = ["LogAnchor", "LicenceRegistry"]
FUNCTIONS = {
    "LogAnchor": {
        "createLog",
        "anchor",
        "checkpointDigest",
        "rootAt",
        "latest",
        "logInfo",
        "retireLog",
        "retireDigest",
        "verifyInclusion",
        "logAdmin",
        "transferLogAdmin",
        "acceptLogAdmin",
        "pendingLogAdmin",
    },
    "LicenceRegistry": {
        "grant",
        "grantMany",
        "revoke",
        "status",
        "issuerKey",
        "grantDigest",
        "revokeDigest",
    },
}
GONE = {
    # No anchorer role (anyone relays a checkpoint the log key signed), and the block an
    # anchor landed in is not stored (its Anchored event and the block header say it).
    "LogAnchor": {"addAnchorer", "removeAnchorer", "isAnchorer", "anchoredAt"},
    # Issuers are signing keys: the issuer of a commitment is status()'s sixth value. One
    # issuer key, fixed at construction, and no owner: nobody adds or removes issuers.
    "LicenceRegistry": {
        "issuerOf",
        "addIssuer",
        "removeIssuer",
        "isIssuer",
        "owner",
        "pendingOwner",
        "transferOwnership",
        "acceptOwnership",
        "renounceOwnership",
    },
}
PROJECT_FILES = ["hardhat.config.js", "package.json", "contracts", "scripts/export_contracts.js"]
HARDHAT_TIMEOUT_SECONDS = 600


def _hardhat(project: Path, *args: str) -> None:
    """Runs the project's own Hardhat (no download) in `project`; fails with its output."""
    command = [str(project / "node_modules" / ".bin" / "hardhat"), *args]
    result = subprocess.run(
        command,
        cwd=project,
        env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
        capture_output=True,
        text=True,
        timeout=HARDHAT_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`hardhat {' '.join(args)}` failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of <contract>.json files exported from a fresh compile."""
    if not (REPO_ROOT / "node_modules" / ".bin" / "hardhat").exists():
        pytest.fail("node_modules is missing or has no Hardhat: run npm ci")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20, then run npm ci")
    project = tmp_path_factory.mktemp("hardhat-project")
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    (project / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)
    _hardhat(project, "compile", "--force", "--quiet")
    _hardhat(project, "run", "scripts/export_contracts.js")
    return project / "ledger" / "formats" / "contracts"


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a JSON object"
    return document


@pytest.mark.parametrize("name", CONTRACTS)
def test_shipped_contract_equals_fresh_compile(fresh_export: Path, name: str) -> None:
    shipped_path = SHIPPED_DIR / f"{name}.json"
    assert shipped_path.is_file(), f"{shipped_path} is missing: run scripts/export_contracts.js"
    shipped = _load(shipped_path)
    fresh = _load(fresh_export / f"{name}.json")

    assert list(shipped) == ["contractName", "abi", "bytecode", "deployedBytecode", "solcVersion"]
    assert shipped["contractName"] == fresh["contractName"] == name
    assert shipped["solcVersion"] == fresh["solcVersion"]
    assert shipped["abi"] == fresh["abi"], "the shipped ABI differs from the contract's"
    assert shipped["bytecode"] == fresh["bytecode"], "the shipped creation bytecode is stale"
    assert shipped["deployedBytecode"] == fresh["deployedBytecode"], (
        "the shipped runtime bytecode is stale"
    )
    assert shipped_path.read_bytes() == (fresh_export / f"{name}.json").read_bytes(), (
        "same content, different formatting: regenerate with scripts/export_contracts.js"
    )


@pytest.mark.parametrize("name", CONTRACTS)
def test_shipped_contract_is_usable(name: str) -> None:
    shipped = _load(SHIPPED_DIR / f"{name}.json")
    assert shipped["solcVersion"].startswith("0.8.24+")
    for key in ("bytecode", "deployedBytecode"):
        code = shipped[key]
        assert code.startswith("0x") and len(code) > 2
        bytes.fromhex(code[2:])
    functions = {entry["name"] for entry in shipped["abi"] if entry["type"] == "function"}
    assert FUNCTIONS[name] <= functions
    assert not GONE[name] & functions
