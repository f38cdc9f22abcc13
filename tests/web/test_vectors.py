"""One corpus, two verifiers: every document of tests/vectors/ goes through the Python
verifiers (in process) and through the page's JavaScript core (under Node; the same in
Chromium: tests/web/test_verify_page.py), and both must give the verdict, and name the
check (and field), that the manifest states.

Evidence and licences run twice: with no log identity pinned, and with the vector's
identity pinned (offline both times; tests/web/test_chain_parity.py adds the chain).
Evidence must also get the same words (the verdict line `ledger verify` prints and every
check's detail), accepted JSON documents must be read as the same value, and readable
licences must have the same commitment. The corpus is what scripts/make_vectors.py writes: a
stale file fails here."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from ledger.formats.identity import parse_identity
from tests.web.corpus import (
    ROOT,
    RUN_VECTORS,
    VECTORS,
    comparable,
    data,
    differences,
    payload,
    vectors,
)
from tests.web.outcomes import evidence_outcome, identity_outcome, json_outcome, licence_outcome

CORE = ROOT / "ledger" / "web" / "verify-core.js"

NODE_DRIVER = (
    RUN_VECTORS
    + r"""
const core = require(process.argv[1]);
const J = require(process.argv[1].replace(/verify-core\.js$/, 'verify-json.js'));
runVectors(core, J, JSON.parse(require('fs').readFileSync(0, 'utf8')))
  .then((out) => process.stdout.write(JSON.stringify(out)))
  .catch((error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
  });
"""
)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_vectors", ROOT / "scripts" / "make_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def python_outcomes() -> list[dict[str, Any]]:
    """What the Python side concludes on every vector."""
    out = []
    for vector in vectors():
        raw = data(vector)
        if vector["kind"] == "json":
            out.append({"expect": json_outcome(raw)})
        elif vector["kind"] == "identity":
            out.append({"expect": identity_outcome(raw)})
        else:
            check = licence_outcome if vector["kind"] == "licence" else evidence_outcome
            pinned = parse_identity((VECTORS / vector["identity"]).read_bytes())
            out.append({"offline": check(raw, None), "pinned": check(raw, pinned)})
    return out


@cache
def node_outcomes() -> list[dict[str, Any]]:
    """What the page's core concludes on every vector, under Node."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    done = subprocess.run(
        [node, "-e", NODE_DRIVER, str(CORE)],
        input=json.dumps(payload()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return comparable(json.loads(done.stdout))


def test_corpus_is_what_the_script_writes() -> None:
    generator = _generator()
    written, committed = generator.build(), generator.on_disk(VECTORS)
    stale = sorted(
        set(written) ^ set(committed)
        | {p for p in written if committed.get(p) not in (None, written[p])}
    )
    assert not stale, (
        f"tests/vectors is stale ({stale[:5]}...): run .venv/bin/python scripts/make_vectors.py"
    )


def test_corpus_covers_every_kind_and_check() -> None:
    failed = {(v["kind"], v["pinned"].get("check")) for v in vectors() if "pinned" in v}
    for check in (
        "bundle",
        "pack",
        "log identity",
        "record",
        "records",
        "query",
        "leaf hash",
        "inclusion",
    ):
        assert ("evidence", check) in failed, check
    for check in ("licence", "log identity"):
        assert ("licence", check) in failed, check
    kinds = [v["kind"] for v in vectors()]
    assert min(kinds.count(kind) for kind in ("evidence", "licence", "identity", "json")) >= 15


@pytest.mark.parametrize("side", ["python", "node"])
def test_verdicts_are_the_manifests(side: str) -> None:
    wrong = differences(python_outcomes() if side == "python" else node_outcomes())
    assert not wrong, f"{side}: {len(wrong)} vectors differ:\n" + "\n".join(wrong)


def test_both_read_the_same_values_and_commitments() -> None:
    differ = []
    for vector, python, browser in zip(vectors(), python_outcomes(), node_outcomes(), strict=True):
        if python != browser:
            differ.append(f"{vector['file']}:\n  python  {python}\n  browser {browser}")
    assert not differ, "\n".join(differ)
    licences = [
        outcome["offline"]
        for outcome, v in zip(python_outcomes(), vectors(), strict=True)
        if v["kind"] == "licence"
    ]
    assert sum("commitment" in outcome for outcome in licences) >= 10
