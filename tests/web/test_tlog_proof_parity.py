"""tlog-proofs through both verifiers: every case of tests/web/tlog_proofs.py, and seeded
random changes to a valid proof's bytes, go through ledger.verify.tlog_proof (what
`mledger verify PROOF.tlog-proof` prints) and through the page's verify-note.js under
Node (by verify-core.js's dispatch, as the page calls it); the lines must be equal, word
for word, and a failure must name the same check."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from typing import Any

import pytest

from ledger.formats.identity import parse_identity
from ledger.verify.tlog_proof import is_tlog_proof
from tests.web.corpus import ROOT, VECTORS
from tests.web.test_differential import change_bytes
from tests.web.tlog_proofs import IDENTITY, NOW, W1, W2, W3, Case, case, cases, expected_lines

CORE = ROOT / "ledger" / "web" / "verify-core.js"

DRIVER = r"""
const core = require(process.argv[1]);
const N = require(process.argv[1].replace(/verify-core\.js$/, 'verify-note.js'));
const bytes = (b64) => Uint8Array.from(Buffer.from(b64, 'base64'));
(async () => {
  const payload = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const out = [];
  for (const c of payload.cases) {
    const identity = c.identity === null ? null : core.parseIdentity(bytes(c.identity));
    const data = bytes(c.proof);
    if (core.documentKind(data) !== N.TLOG_PROOF_FORMAT) {
      throw new Error(`${c.name}: not dispatched as a tlog-proof`);
    }
    const result = await core.verifyDocument(data, {
      identity, record: bytes(c.record), witnesses: c.witnesses, quorum: c.quorum, now: c.now,
    });
    const check = result.error ? result.error.check : null;
    out.push({ lines: result.lines, check, verdict: result.verdict });
  }
  process.stdout.write(JSON.stringify(out));
})().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
"""


def run_node(batch: list[Case]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    done = subprocess.run(
        [node, "-e", DRIVER, str(CORE)],
        input=json.dumps({"cases": [c.as_payload() for c in batch]}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_every_case_reads_alike() -> None:
    batch = list(cases())
    browser = run_node(batch)
    differ = []
    for each, page in zip(batch, browser, strict=True):
        python = expected_lines(each)
        if page["lines"] != python:
            differ.append(f"{each.name}:\n  python {python}\n  node   {page['lines']}")
            continue
        if each.check is None:
            assert page["verdict"] == "valid" and python[0].startswith("VALID: "), each.name
        else:
            assert page["check"] == each.check, (each.name, page)
            assert python[0].startswith(f"INVALID: {each.check} check failed: "), (
                each.name,
                python,
            )
            assert each.hint in python[0], (each.name, python)
    assert not differ, "\n".join(differ)


def committed() -> list[tuple[Case, list[str]]]:
    """The cases as scripts/make_vectors.py wrote them to tests/vectors/tlog-proof/, each
    with the lines its manifest says `mledger verify` prints."""
    manifest = json.loads((VECTORS / "tlog-proof" / "manifest.json").read_text())
    assert manifest["now"] == NOW
    return [
        (
            Case(
                entry["name"],
                (VECTORS / entry["proof"]).read_bytes(),
                (VECTORS / entry["record"]).read_bytes(),
                parse_identity((VECTORS / entry["log"]).read_bytes()),
                tuple(entry["witnesses"]),
                entry["quorum"],
                entry["check"],
            ),
            entry["lines"],
        )
        for entry in manifest["cases"]
    ]


def test_the_committed_vectors_read_as_their_manifest_says() -> None:
    """Both verifiers print the manifest's lines for the committed files (so a verifier
    whose words change fails here until the vectors are written again)."""
    found = committed()
    assert [c.name for c, _ in found] == [c.name for c in cases()]
    browser = run_node([c for c, _ in found])
    for (each, lines), page in zip(found, browser, strict=True):
        assert expected_lines(each) == lines, each.name
        assert page["lines"] == lines, each.name
        assert page["check"] == each.check, each.name


def change_lines(rng: random.Random, proof: bytes) -> bytes:
    """A change to the proof's lines before the checkpoint: a proof hash replaced (by
    another valid one, or by junk), dropped, repeated or swapped, or another index."""
    head, note = proof.split(b"\n\n", 1)
    lines = head.split(b"\n")
    edit = rng.randrange(5)
    at = rng.randrange(2, len(lines))
    if edit == 0:
        lines[at] = base64.b64encode(rng.randbytes(rng.choice([32, 32, 31, 33])))
    elif edit == 1:
        del lines[at]
    elif edit == 2:
        lines.insert(at, lines[rng.randrange(2, len(lines))])
    elif edit == 3:
        other = rng.randrange(2, len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    else:
        lines[1] = b"index " + str(rng.choice([0, 4, 6, 12, 13, 2**63, rng.randrange(99)])).encode()
    return b"\n".join(lines) + b"\n\n" + note


def test_changed_proofs_read_alike() -> None:
    rng = random.Random(14)
    seeds = [case("valid-two-of-two"), case("valid-no-witness")]
    batch = []
    while len(batch) < 400:
        seed = seeds[len(batch) % 2]
        changed = (change_bytes if len(batch) % 3 else change_lines)(rng, seed.proof)
        if is_tlog_proof(changed):  # else it is read as JSON, as `mledger verify` does
            batch.append(
                Case(f"changed-{len(batch)}", changed, seed.record, seed.identity, seed.witnesses)
            )
    browser = run_node(batch)
    differ = [
        f"{each.proof[:400]!r}\n  python {expected_lines(each)}\n  node   {page['lines']}"
        for each, page in zip(batch, browser, strict=True)
        if page["lines"] != expected_lines(each)
    ]
    assert not differ, f"{len(differ)} of {len(batch)} differ:\n" + "\n".join(differ[:5])
    # The changes reach the reader, the signatures and the proof, not only the first line.
    checks = {expected_lines(each)[0].split(" check failed")[0] for each in batch}
    assert {"INVALID: checkpoint", "INVALID: inclusion"} <= checks, checks


def test_the_page_and_a_cosigned_note_alone() -> None:
    """verifyCosignedNote, the call an evidence bundle's checkpoint_note will use: the
    checkpoint and which of the given witnesses cosigned, in their lines' order."""
    good = case("valid-two-of-two")
    note = good.proof.split(b"\n\n", 1)[1]

    script = r"""
const N = require(process.argv[1]);
const [note, log, w1, w2, w3, now] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const text = Buffer.from(note, 'base64');
  const until = { maxTimestamp: now + 600 };
  const ok = await N.verifyCosignedNote(text, log, [w3, w2, w1], 2, until);
  let refused = null;
  try {
    await N.verifyCosignedNote(text, log, [w3, w2, w1], 3, until);
  } catch (error) {
    refused = error instanceof N.NoteError ? error.message : String(error);
  }
  process.stdout.write(JSON.stringify({
    origin: ok.checkpoint.origin, size: ok.checkpoint.size.toString(), root: ok.checkpoint.root,
    witnesses: ok.witnesses.map((w) => [w.name, w.timestamp.toString()]),
    trusted: ok.trusted, quorum: ok.quorum, refused,
  }));
})().catch((error) => { process.stderr.write(String(error.stack || error)); process.exit(1); });
"""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", script, str(ROOT / "ledger" / "web" / "verify-note.js")],
        input=json.dumps(
            [
                base64.b64encode(note).decode(),
                IDENTITY.note_vkey,
                W1.vkey(),
                W2.vkey(),
                W3.vkey(),
                NOW,
            ]
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    lines = note.decode().split("\n")
    assert shown["origin"] == lines[0] and shown["size"] == lines[1]
    assert base64.b64encode(bytes.fromhex(shown["root"][2:])).decode() == lines[2]
    assert shown["witnesses"] == [
        ["witness.example/w1", str(NOW - 100)],
        ["witness.example/w2", str(NOW - 80)],
    ]
    assert (shown["trusted"], shown["quorum"]) == (3, 2)
    assert shown["refused"] == (
        "2 of the 3 trusted witnesses cosigned the checkpoint, the policy needs 3"
    )
