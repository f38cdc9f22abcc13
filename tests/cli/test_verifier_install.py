"""The verifier installs alone: `pip install ./model-ledger` (the checkout, no extras) in a
fresh venv gives `mledger verify`, `audit`, `licence check` and `verify-receipt` without
FastAPI, SQLAlchemy, uvicorn, web3 or eth-account, and they accept what the full install
(this process's) wrote against a real Anvil. A server command run there says which extra
it needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import ledger
from ledger.chain.anvil import Anvil, find_anvil, free_port
from ledger.core.records import now_ts
from ledger.formats.eip712 import Domain
from ledger.service.signer import LogSigner, load_log_key
from ledger.workload import interaction

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULES = ("fastapi", "sqlalchemy", "uvicorn", "web3", "eth_account", "alembic", "psycopg")


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)) if cwd is None else _clean_env(),
        cwd=cwd,
        timeout=300,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    """The environment of the fresh venv's commands: nothing that would let them import
    this checkout or the test venv's packages."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
        and not name.startswith("LEDGER_")
    }


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def full(*args: str | Path) -> str:
    """`mledger ARGS` with the full install (this test's interpreter and checkout)."""
    return ok(run(sys.executable, "-m", "ledger", *args))


@dataclass
class Made:
    """What the operator's full install wrote, for the verifier to check."""

    rpc: str
    identity: Path
    bundle: Path
    pack: Path
    export: Path
    licence: Path
    receipt: Path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, building: VenvBuild) -> Iterator[Made]:
    """Made with the full install while `building` builds the plain one."""
    work = tmp_path_factory.mktemp("operator")
    node = Anvil(
        free_port(), work / "anvil-state.json", work / "anvil.log", binary=find_anvil()
    ).start()
    try:
        data = ["--data-dir", str(work / "data")]
        rpc = ["--rpc-url", node.url]
        full("deploy", *data, *rpc)
        records = [
            interaction(i, seed=3, account="acct-1" if i % 2 else "acct-2") for i in range(12)
        ]
        (work / "r.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records))
        leaves = full("ingest", work / "r.ndjson", *data).split()
        full("anchor", *data, *rpc)
        licence = json.loads(
            full(
                "licence",
                "grant",
                "--licence-id",
                "lic-1",
                "--licensee",
                "acme",
                "--model",
                "coder-2",
                "--scope",
                "inference",
                "--terms-sha256",
                "ab" * 32,
                "--valid-from",
                "2026-01-01T00:00:00.000Z",
                "--valid-until",
                "2036-01-01T00:00:00.000Z",
                *data,
                *rpc,
            )
        )
        full("anchor", *data, *rpc)
        made = Made(
            node.url,
            work / "log.json",
            work / "bundle.json",
            work / "pack.json",
            work / "export.ndjson",
            work / "licence.json",
            work / "receipt.json",
        )
        full("identity", *data, "--out", made.identity)
        made.bundle.write_text(full("evidence", json.loads(leaves[0])["leaf_hash"], *data))
        (work / "accounts.txt").write_text("acct-1\n")
        full(
            "report",
            "--accounts",
            work / "accounts.txt",
            "--from",
            "2026-06-01",
            "--to",
            "2026-07-01",
            "--out",
            work / "report.html",
            "--pack",
            made.pack,
            "--json",
            work / "report.json",
            *data,
        )
        report = json.loads((work / "report.json").read_text())
        assert report["producer"] == f"mledger {ledger.__version__}"
        full("export", "--out", made.export, *data)
        made.licence.write_text(json.dumps(licence))
        # The receipts of the first two records, as POST /v1/entries signs them.
        deployment = json.loads(made.identity.read_text())
        signer = LogSigner(
            load_log_key(work / "data"),
            Domain(
                bytes.fromhex(deployment["log_id"][2:]),
                deployment["chain_id"],
                bytes.fromhex(deployment["log_anchor"][2:]),
            ),
        )
        first = [
            (bytes.fromhex(json.loads(line)["leaf_hash"][2:]), i)
            for i, line in enumerate(leaves[:2])
        ]
        made.receipt.write_text(signer.receipts_json(first, now_ts())[0])
        yield made
    finally:
        node.stop()


class VenvBuild(threading.Thread):
    """A fresh venv with the checkout installed without extras: `pip install .`, from a
    copy of the files a build reads (so the build leaves nothing in the checkout). Built
    on a thread, beside the operator's work (`made`): most of it is waiting."""

    def __init__(self, work: Path) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.bin = work / "venv" / "bin"
        self.failure: str | None = None

    def run(self) -> None:
        source = self.work / "source"
        shutil.copytree(
            ROOT / "ledger", source / "ledger", ignore=shutil.ignore_patterns("__pycache__")
        )
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, source / name)
        pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", source]
        for command in (
            [sys.executable, "-m", "venv", self.work / "venv"],
            [self.bin / "python", *pip],
        ):
            result = run(*command, cwd=self.work)
            if result.returncode != 0:
                self.failure = result.stdout + result.stderr
                return

    def wait(self) -> Path:
        self.join(timeout=600)
        assert not self.is_alive(), "the venv was not built in 10 minutes"
        assert self.failure is None, self.failure
        return self.bin


@pytest.fixture(scope="module")
def building(tmp_path_factory: pytest.TempPathFactory) -> VenvBuild:
    build = VenvBuild(tmp_path_factory.mktemp("verifier"))
    build.start()
    return build


@pytest.fixture(scope="module")
def venv(building: VenvBuild) -> Path:
    """The `bin` folder of the fresh venv."""
    return building.wait()


def test_the_plain_install_has_no_server_packages(made: Made, venv: Path, tmp_path: Path) -> None:
    for module in SERVER_MODULES:
        found = run(venv / "python", "-c", f"import {module}", cwd=tmp_path)
        assert found.returncode != 0 and "ModuleNotFoundError" in found.stderr, module
    assert ok(run(venv / "mledger", "--version", cwd=tmp_path)) == f"mledger {ledger.__version__}\n"
    assert ok(run(venv / "ledger", "--version", cwd=tmp_path)) == f"mledger {ledger.__version__}\n"
    usage = ok(run(venv / "mledger", "--help", cwd=tmp_path))
    assert all(command in usage for command in ("verify", "audit", "licence", "verify-receipt"))


def test_the_plain_install_verifies_what_the_service_wrote(
    made: Made, venv: Path, tmp_path: Path
) -> None:
    pin = ["--log", made.identity, "--rpc-url", made.rpc]
    version = f"mledger {ledger.__version__}"
    assert json.loads(made.bundle.read_text())["producer"] == version
    assert json.loads(made.pack.read_text())["producer"] == version
    mledger = venv / "mledger"

    bundle = run(mledger, "verify", made.bundle, *pin, cwd=tmp_path)
    assert bundle.returncode == 0 and "VALID" in bundle.stdout, bundle.stdout + bundle.stderr
    pack = run(mledger, "verify", made.pack, *pin, "--json", cwd=tmp_path)
    assert pack.returncode == 0, pack.stdout + pack.stderr
    assert json.loads(pack.stdout)["valid"] is True

    audit = run(mledger, "audit", made.export, *pin, "--json", "--workers", "0", cwd=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    summary = json.loads(audit.stdout)
    assert summary["passed"] is True and summary["entries"] == 13
    assert summary["producer"] == version

    licence = run(mledger, "licence", "check", made.licence, *pin, cwd=tmp_path)
    assert licence.returncode == 0, licence.stdout + licence.stderr
    assert json.loads(licence.stdout)["active"] is True
    assert licence.stderr.startswith("ACTIVE: licence 'lic-1' of 'acme'")

    receipt = run(mledger, "verify-receipt", made.receipt, *pin, cwd=tmp_path)
    assert receipt.returncode == 0 and "VALID" in receipt.stdout, receipt.stdout + receipt.stderr

    # An altered bundle is refused by the plain install too: it does check.
    altered = json.loads(made.bundle.read_text())
    altered["entries"][0]["record"]["body"]["output_tokens"] += 1
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    refused = run(mledger, "verify", tmp_path / "altered.json", *pin, cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "INVALID" in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("program", "command", "named"),
    [
        ("mledger", ["up"], "mledger up"),
        ("mledger", ["serve"], "mledger serve"),
        ("ledger", ["deploy", "--rpc-url", "http://127.0.0.1:1"], "ledger deploy"),
        ("mledger", ["licence", "grant", "lic.json"], "mledger licence grant"),
        ("mledger", ["keys", "create", "--role", "auditor"], "mledger keys create"),
    ],
)
def test_a_server_command_names_the_extra_it_needs(
    venv: Path, tmp_path: Path, program: str, command: list[str], named: str
) -> None:
    result = run(venv / program, *command, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        f"error: '{named}' needs the server extra: install it with the extra,"
        ' pip install ".[server]" in its checkout\n'
    )
    assert list(tmp_path.iterdir()) == []  # nothing created: no ./ledger-data
