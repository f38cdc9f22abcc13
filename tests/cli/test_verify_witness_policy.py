"""`mledger verify` holds bundles and tlog-proofs to the pinned identity's witnesses
(hostile review 3: H1, H2, H3, M1), with the real CLI, offline."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from ledger.core.merkle import inclusion_proof, root_hash
from ledger.formats.cosignature import Cosigner, generate_cosigner
from ledger.formats.identity import IdentityError, parse_identity
from ledger.formats.note import Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures
from ledger.formats.tlog_proof import TlogProof
from tests.api.conftest import ledger
from tests.verify.test_bundle import IDENTITY, LEAVES, RECORDS, SIZE, bundle_for

ORIGIN = "localhost/model-ledger"
LOG_SEED = bytes([7]) * 32
LOG = Signer(ORIGIN, LOG_SEED)
W1 = generate_cosigner("witness.example/w1")
W2 = generate_cosigner("witness.example/w2")
FAR = 2**63 - 1


def note(*cosigs: tuple[Cosigner, int]) -> str:
    checkpoint = Checkpoint(ORIGIN, SIZE, root_hash(LEAVES[:SIZE]))
    signed = checkpoint.sign([LOG])
    return add_signatures(signed, [c.cosign(checkpoint.text(), t) for c, t in cosigs]).decode()


def identity_file(tmp: Path, witnesses: list[str], quorum: int) -> str:
    identity = dataclasses.replace(
        IDENTITY, note_vkey=LOG.vkey(), witnesses=tuple(witnesses), witness_quorum=quorum
    )
    (tmp / "log.json").write_text(json.dumps(identity.as_json()))
    return str(tmp / "log.json")


def files(tmp: Path, witnesses: list[str], quorum: int, bundle: dict[str, Any]) -> list[str]:
    (tmp / "b.json").write_text(json.dumps(bundle))
    log = identity_file(tmp, witnesses, quorum)
    return [str(tmp / "b.json"), "--log", log, "--offline"]


def verify(*args: str) -> tuple[int, str]:
    run = ledger("verify", *args, check=False)
    return run.returncode, run.stdout + run.stderr


def test_a_bundle_without_a_note_fails_an_identity_that_asks_witnesses(tmp_path: Path) -> None:
    now = int(time.time())
    bundle = bundle_for(3)
    code, out = verify(*files(tmp_path, [W1.vkey()], 1, dict(bundle, checkpoint_note=note())))
    assert code == 1 and "quorum 1 not met" in out, out
    ok = dict(bundle, checkpoint_note=note((W1, now)))
    code, out = verify(*files(tmp_path, [W1.vkey()], 1, ok))
    assert code == 0 and "quorum 1 met" in out, out
    # the field deleted: the identity's quorum is not met
    code, out = verify(*files(tmp_path, [W1.vkey()], 1, bundle))
    assert code == 1, out
    assert (
        "INVALID: witnesses check failed: the log's identity requires 1 witnesses'"
        " cosignatures and this bundle carries no cosigned checkpoint note" in out
    )
    # the verifier's own --quorum 0 passes, and says so
    code, out = verify(*files(tmp_path, [W1.vkey()], 1, bundle), "--quorum", "0")
    assert code == 0, out
    assert "no cosignature counted, as the verifier's quorum 0 asks" in out
    # an identity without witnesses: as before, no witnesses line
    code, out = verify(*files(tmp_path, [], 0, bundle))
    assert code == 0 and "witnesses" not in out, out


def test_a_future_dated_cosignature_is_left_out_not_fatal(tmp_path: Path) -> None:
    now = int(time.time())
    bundle = dict(bundle_for(3), checkpoint_note=note((W1, now), (W2, FAR)))
    code, out = verify(*files(tmp_path, [W1.vkey(), W2.vkey()], 1, bundle))
    assert code == 0, out
    assert "1 of the 2 trusted witnesses cosigned the checkpoint (witness.example/w1)" in out
    assert f"'witness.example/w2' at {FAR})" in out and "left out, dated after" in out
    # the quorum of 2 is then not met, naming the line left out
    code, out = verify(*files(tmp_path, [W1.vkey(), W2.vkey()], 2, bundle))
    assert code == 1 and "quorum 2 not met (left out, dated after" in out, out


def test_a_witness_with_the_log_key_is_refused(tmp_path: Path) -> None:
    sock = Cosigner("witness.example/independent", LOG_SEED)
    bundle = dict(bundle_for(3), checkpoint_note=note((sock, int(time.time()))))
    identity = dataclasses.replace(
        IDENTITY, note_vkey=LOG.vkey(), witnesses=(sock.vkey(),), witness_quorum=1
    )
    try:
        parse_identity(json.dumps(identity.as_json()).encode())
    except IdentityError as error:
        assert "shares its public key with the log" in str(error)
    else:
        raise AssertionError("the identity was accepted")
    code, out = verify(*files(tmp_path, [], 0, bundle), "--witness", sock.vkey())
    assert code == 1, out
    assert "witnesses check failed: a witness shares its public key with the log" in out


def test_a_tlog_proof_is_held_to_the_identitys_quorum(tmp_path: Path) -> None:
    log = identity_file(tmp_path, [W1.vkey()], 1)
    (tmp_path / "r.json").write_text(json.dumps(RECORDS[3]))
    args = ["--record", str(tmp_path / "r.json"), "--log", log]

    def proof(*cosigs: tuple[Cosigner, int]) -> str:
        encoded = TlogProof(
            3, tuple(inclusion_proof(3, LEAVES[:SIZE])), parse_note(note(*cosigs))
        ).encode()
        (tmp_path / "p.tlog-proof").write_bytes(encoded)
        return str(tmp_path / "p.tlog-proof")

    code, out = verify(proof(), *args)
    assert code == 1 and "the policy needs 1" in out, out
    code, out = verify(proof((W1, int(time.time()))), *args)
    assert code == 0 and "cosigned by 1 of the 1 trusted witnesses" in out, out
    code, out = verify(proof(), *args, "--quorum", "0")
    assert code == 0 and "quorum 0" in out, out
