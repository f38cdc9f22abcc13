"""`ledger verify PROOF.tlog-proof --record R --log log.json --witness VKEY --quorum M`:
a record's tlog-proof against the pinned note key and the witnesses the verifier trusts,
with the cosignature a real `ledger witness serve` returned."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import rfc8785

from ledger.core import merkle
from ledger.core.records import parse_object
from ledger.formats.cosignature import Cosigner
from ledger.formats.identity import LogIdentity
from ledger.formats.note import Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint
from ledger.formats.tlog_proof import TlogProof
from ledger.formats.tlog_witness import encode_add_checkpoint
from ledger.workload import interaction
from tests.service.test_witness import start, stop

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
IDENTITY = LogIdentity(
    "model-ledger", 31337, b"\x5f" * 20, b"\x8b" * 32, b"\x9f" * 20, b"\xc4" * 20, 1
)
OTHER_WITNESS = Cosigner("other.example/w", bytes([12]) * 32)


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("tlog")
    entries = [parse_object(interaction(i)) for i in range(13)]
    leaves = [e.leaf_hash for e in entries]
    checkpoint = Checkpoint(ORIGIN, len(leaves), merkle.root_hash(leaves))
    served = start(tmp / "witness", LOG.vkey())
    try:
        answer = httpx.post(
            served.url + "/add-checkpoint",
            content=encode_add_checkpoint(0, [], checkpoint.sign([LOG])),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    finally:
        stop(served)
    note = parse_note(checkpoint.sign([LOG]) + answer.content)
    out = {
        "proof": tmp / "e5.tlog-proof",
        "record": tmp / "e5.json",
        "other_record": tmp / "e6.json",
        "log": tmp / "log.json",
        "bare_log": tmp / "bare.json",
    }
    out["proof"].write_bytes(TlogProof(5, tuple(merkle.inclusion_proof(5, leaves)), note).encode())
    out["record"].write_bytes(entries[5].canonical)
    out["other_record"].write_bytes(entries[6].canonical)
    identity = LogIdentity(**{**IDENTITY.__dict__, "note_vkey": LOG.vkey()})
    out["log"].write_bytes(rfc8785.dumps(identity.as_json()))
    out["bare_log"].write_bytes(rfc8785.dumps(IDENTITY.as_json()))
    (tmp / "witness.vkey").write_text(served.vkey)
    out["vkey"] = tmp / "witness.vkey"
    return out


def verify(
    files: dict[str, Path], *extra: str, record: str = "record"
) -> subprocess.CompletedProcess[str]:
    return ledger(
        "verify",
        str(files["proof"]),
        "--record",
        str(files[record]),
        "--log",
        str(files["log"]),
        *extra,
    )


def test_a_witnessed_proof_verifies(files: dict[str, Path]) -> None:
    vkey = files["vkey"].read_text()
    done = verify(files, "--witness", vkey, "--quorum", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("VALID: the record (leaf 0x")
    assert "entry 5 of ledger.example/model-ledger's tree of 13" in done.stdout
    assert "cosigned by 1 of the 1 trusted witnesses (witness.example/w1; quorum 1)" in done.stdout
    assert "the chain was NOT consulted" in done.stdout
    as_json = json.loads(verify(files, "--witness", vkey, "--json").stdout)
    assert as_json["verdict"] == "VALID" and as_json["index"] == 5 and as_json["quorum"] == 1
    # Without --witness it verifies, and says no witness was asked for.
    alone = verify(files)
    assert alone.returncode == 0 and "witnessed by no one the verifier named" in alone.stdout


def test_what_fails_is_named(files: dict[str, Path]) -> None:
    vkey = files["vkey"].read_text()
    wrong = verify(files, "--witness", vkey, record="other_record")
    assert wrong.returncode == 1 and wrong.stdout.startswith("INVALID: inclusion check failed")
    # A quorum the proof does not meet: the other witness never cosigned.
    short = verify(files, "--witness", vkey, "--witness", OTHER_WITNESS.vkey())
    assert short.returncode == 1 and "1 of the 2 trusted witnesses cosigned" in short.stdout
    bad_vkey = verify(files, "--witness", LOG.vkey())
    assert bad_vkey.returncode == 1 and "INVALID: witnesses check failed" in bad_vkey.stdout
    too_many = verify(files, "--witness", vkey, "--quorum", "2")
    assert too_many.returncode == 1 and "quorum must be from 0 to the 1" in too_many.stdout
    bare = ledger(
        "verify",
        str(files["proof"]),
        "--record",
        str(files["record"]),
        "--log",
        str(files["bare_log"]),
    )
    assert bare.returncode == 1 and "has no note_vkey" in bare.stdout
    no_record = ledger("verify", str(files["proof"]), "--log", str(files["log"]))
    assert no_record.returncode == 2 and "give it with --record" in no_record.stderr
    no_log = ledger("verify", str(files["proof"]), "--record", str(files["record"]))
    assert no_log.returncode == 2 and "no log identity pinned" in no_log.stderr
    # A tampered checkpoint: the log's signature fails.
    tampered = files["proof"].with_name("tampered.tlog-proof")
    text = files["proof"].read_text()
    lines = text.split("\n")
    size_at = lines.index("13")
    lines[size_at] = "14"
    tampered.write_text("\n".join(lines))
    forged = ledger(
        "verify", str(tampered), "--record", str(files["record"]), "--log", str(files["log"])
    )
    assert forged.returncode == 1 and "INVALID: checkpoint check failed" in forged.stdout


def test_record_on_a_bundle_is_refused_and_a_bad_witness_key_too(files: dict[str, Path]) -> None:
    done = ledger("verify", str(files["log"]), "--offline", "--record", str(files["record"]))
    assert done.returncode == 2 and "--record applies to tlog-proofs only" in done.stderr
    # --witness applies to bundles and packs too (their checkpoint_note): a bad key is usage
    bad = ledger("verify", str(files["log"]), "--offline", "--witness", "x")
    assert bad.returncode == 2 and "error: --witness/--quorum: not a verifier key" in bad.stderr
