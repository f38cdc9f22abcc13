"""The page's JavaScript core (ledger/web/verify-*.js) against the Python side, run
under Node (which the project needs anyway): the same leaf hash as ledger.core.records for
records full of awkward text, the same answer as ledger.core.merkle on every
transparency-dev inclusion probe, and the same root and proof length as
ledger.core.merkle.multiproof for many-leaf proofs of trees of every shape."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.core.merkle import ProofLengthError, hash_leaf, root_hash
from ledger.core.merkle.multiproof import multi_inclusion_ranges, root_from_multi_proof
from ledger.core.records import parse_object
from ledger.workload import interaction
from tests.core.merkle.test_vectors import VECTORS_DIR

CORE = Path(__file__).parents[2] / "ledger" / "web" / "verify-core.js"

DRIVER = """
const core = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const hashes = [];
  for (const line of input.records) {
    try {
      const record = core.canonicalRecord(core.loadStrict(line, 1 << 20));
      hashes.push(core.toHex(await core.hashLeaf(record.bytes)));
    } catch (error) {
      hashes.push(`error: ${error.message}`);
    }
  }
  const b64 = (text) => Uint8Array.from(Buffer.from(text, 'base64'));
  const probes = [];
  for (const p of input.probes) {
    try {
      const root = await core.rootFromInclusionProof(
        BigInt(p.leafIdx), BigInt(p.treeSize), b64(p.leafHash), (p.proof || []).map(b64));
      probes.push(core.toHex(root) === core.toHex(b64(p.root)) ? 'verified' : 'root mismatch');
    } catch (error) {
      probes.push(`error: ${error.message}`);
    }
  }
  const multi = [];
  for (const m of input.multi || []) {
    try {
      const root = await core.rootFromMultiProof(
        m.indices.map(BigInt), BigInt(m.size),
        m.leaves.map(core.fromHex), m.proof.map(core.fromHex));
      multi.push(core.toHex(root));
    } catch (error) {
      multi.push(`error: ${error.message}`);
    }
  }
  process.stdout.write(JSON.stringify({hashes, probes, multi}));
})();
"""

AWKWARD = [
    "",
    "plain",
    'quote " and \\ backslash',
    "\u0000\u0001\u001f control",
    "tab\tnew\nline\r\b\f",
    "\u007f del",
    "é ü ß",
    "日本語",
    "emoji 🙂 pair",
    "\u2028\u2029 separators",
    "/ slash",
    "\ufeff bom",
    "𝄞 clef",
    "<script>",
]


def records(count: int) -> list[str]:
    """Interaction records with awkward text in every free-text field, as JSON lines."""
    rng = random.Random(5)
    out = []
    for i in range(count):
        record = interaction(i, seed=61)
        body = record["body"]
        body["endpoint"] = rng.choice(AWKWARD) + rng.choice(AWKWARD)
        body["client"] = {"user_agent": rng.choice(AWKWARD), "asn": rng.randrange(2**53)}
        body["metadata"] = {
            f"k{n}.{rng.choice('aZ_:-')}": rng.choice([rng.choice(AWKWARD), -(2**53) + 1, True])
            for n in range(4)
        }
        out.append(
            json.dumps(record, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
        )
    return out


def run_core(payload: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    done = subprocess.run(
        [node, "-e", DRIVER, str(CORE)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_leaf_hashes_match_ledger_records() -> None:
    lines = records(300)
    lines += [
        json.dumps(
            {
                "v": 1,
                "kind": "model",
                "ts": "2026-06-05T12:00:00.123Z",
                "salt": "ab" * 16,
                "body": {
                    "model_id": "org/m",
                    "version": "1",
                    "artifact_sha256": "cd" * 32,
                    "parents": [],
                },
            }
        )
    ]
    result = run_core({"records": lines, "probes": []})
    assert result["hashes"] == [
        "0x" + parse_object(json.loads(line)).leaf_hash.hex() for line in lines
    ]


def test_inclusion_probes_agree_with_ledger_merkle() -> None:
    paths = sorted(VECTORS_DIR.glob("inclusion/**/*.json"))
    assert len(paths) > 90, f"only {len(paths)} inclusion probes under {VECTORS_DIR}"
    probes = [json.loads(path.read_text()) for path in paths]
    result = run_core({"records": [], "probes": probes})
    for path, probe, answer in zip(paths, probes, result["probes"], strict=True):
        assert (answer == "verified") == (not probe["wantErr"]), (path.name, probe["desc"], answer)
    b64 = base64.b64encode(b"\0" * 32).decode()
    short = run_core(
        {
            "records": [],
            "probes": [
                {"leafIdx": 0, "treeSize": 1, "leafHash": b64[:8], "root": b64, "proof": []}
            ],
        }
    )
    assert short["probes"] == ["error: leaf_hash must be 32 bytes, got 6"]


def test_multi_entry_proofs_agree_with_ledger_multiproof() -> None:
    rng = random.Random(9162)
    cases = []
    for size in [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 64, 100, 257]:
        leaves = [hash_leaf(f"leaf {size}/{i}".encode()) for i in range(size)]
        for _ in range(4):
            indices = sorted(rng.sample(range(size), rng.randint(1, min(size, 9))))
            proof = [root_hash(leaves[a:b]) for a, b in multi_inclusion_ranges(indices, size)]
            variants = [proof, proof[:-1], [*proof, proof[0] if proof else leaves[0]]]
            for nodes in variants:
                try:
                    want = (
                        "0x"
                        + root_from_multi_proof(
                            indices, size, [leaves[i] for i in indices], nodes
                        ).hex()
                    )
                except ProofLengthError as error:
                    want = (
                        "error: wrong proof length: expected"
                        f" {error.expected} nodes, got {error.got}"
                    )
                cases.append(
                    (
                        {
                            "indices": indices,
                            "size": size,
                            "leaves": ["0x" + leaves[i].hex() for i in indices],
                            "proof": ["0x" + n.hex() for n in nodes],
                        },
                        want,
                    )
                )
    result = run_core({"records": [], "probes": [], "multi": [case for case, _ in cases]})
    assert result["multi"] == [want for _, want in cases]
    assert sum(want.startswith("0x") for _, want in cases) >= 60


EXPORT_DRIVER = """
const D = require(process.argv[1]);
const heads = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const found = heads.map((hex) => D.isExport(Uint8Array.from(Buffer.from(hex, 'hex'))));
process.stdout.write(JSON.stringify(found));
"""


def test_the_page_tells_an_export_by_mledger_verifys_rule() -> None:
    """verify-documents.js isExport and ledger/formats/export_line.py is_export agree on
    what opens an export: whitespace is JSON's and the ASCII controls \\v and \\f (a
    bytes pattern's \\s), not JavaScript's Unicode spaces (a no-break space, U+2028, a
    byte order mark after whitespace), which would send a document that is not JSON to
    `mledger audit` on the page while `mledger verify` says it is not JSON."""
    from ledger.formats.export_line import is_export

    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    line = '{"leaf_index":0,"record":{}}'
    heads = [
        line,
        " \t\r\n" + line,
        "\v\f" + line,
        "\ufeff" + line,
        "\ufeff \n" + line,
        '{\n  "erased" : {}}',
        "\u00a0" + line,
        "\u2028" + line,
        "\u3000" + line,
        " \ufeff" + line,
        '{"leaf_index"\u00a0:0}',
        "{\u2003" + line[1:],
        '{"record":{},"leaf_index":0}',
        "[" + line + "]",
    ]
    data = [head.encode() for head in heads]
    done = subprocess.run(
        [node, "-e", EXPORT_DRIVER, str(CORE.parent / "verify-documents.js")],
        input=json.dumps([d.hex() for d in data]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    python = [is_export(d) for d in data]
    assert python == [True] * 6 + [False] * 8
    assert json.loads(done.stdout) == python
