"""Offline proofs (c2sp.org/tlog-proof@v1): the spec's layout, a strict reader, and the
four verification steps (leaf, log signature and origin, witness quorum, inclusion)."""

from __future__ import annotations

import base64

import pytest

from ledger.core.merkle import ProofError, RootMismatchError, hash_leaf, inclusion_proof, root_hash
from ledger.formats.cosignature import CosignatureError, Cosigner, witness_policy
from ledger.formats.note import NoteError, Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures
from ledger.formats.tlog_proof import (
    HEADER,
    TlogProof,
    TlogProofError,
    parse_tlog_proof,
    verify_tlog_proof,
)

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESS = Cosigner("witness.example/w1", bytes([5]) * 32)
LEAVES = [hash_leaf(f"record {i}".encode()) for i in range(11)]
CHECKPOINT = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES))
NOTE = parse_note(
    add_signatures(CHECKPOINT.sign([LOG]), [WITNESS.cosign(CHECKPOINT.text(), 1_700_000_000)])
)
POLICY = witness_policy([WITNESS.vkey()], 1)


def proof_of(index: int, extra: bytes | None = None) -> TlogProof:
    return TlogProof(index, tuple(inclusion_proof(index, LEAVES)), NOTE, extra)


def test_layout_is_the_specs() -> None:
    proof = proof_of(6, b"context")
    text = proof.encode().decode()
    hashes = "".join(base64.b64encode(h).decode() + "\n" for h in proof.hashes)
    assert text == (
        f"{HEADER}\nextra {base64.b64encode(b'context').decode()}\nindex 6\n{hashes}\n"
        + NOTE.encode().decode()
    )
    assert parse_tlog_proof(text) == proof
    assert parse_tlog_proof(proof_of(3).encode()) == proof_of(3)
    assert proof_of(3).encode().startswith(f"{HEADER}\nindex 3\n".encode())


def test_every_leaf_verifies_and_nothing_else_does() -> None:
    for index, leaf in enumerate(LEAVES):
        verified = verify_tlog_proof(
            proof_of(index).encode(), leaf, ORIGIN, [LOG.verifier()], POLICY
        )
        assert verified.index == index and verified.cosigned.checkpoint == CHECKPOINT
    data = proof_of(4).encode()
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(data, LEAVES[5], ORIGIN, [LOG.verifier()], POLICY)
    moved = TlogProof(5, proof_of(4).hashes, NOTE)
    with pytest.raises(ProofError):
        verify_tlog_proof(moved, LEAVES[4], ORIGIN, [LOG.verifier()], POLICY)
    with pytest.raises(NoteError, match="origin"):
        verify_tlog_proof(data, LEAVES[4], "other.example/log", [LOG.verifier()], POLICY)
    uncosigned = TlogProof(4, proof_of(4).hashes, parse_note(CHECKPOINT.sign([LOG])))
    with pytest.raises(CosignatureError, match="needs 1"):
        verify_tlog_proof(uncosigned, LEAVES[4], ORIGIN, [LOG.verifier()], POLICY)


def test_a_changed_proof_hash_or_checkpoint_is_caught() -> None:
    text = proof_of(2).encode().decode()
    first = base64.b64encode(proof_of(2).hashes[0]).decode()
    changed = text.replace(first, base64.b64encode(bytes(32)).decode())
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(changed, LEAVES[2], ORIGIN, [LOG.verifier()], POLICY)
    bigger = text.replace(f"\n{len(LEAVES)}\n", f"\n{len(LEAVES) + 1}\n")
    with pytest.raises(NoteError, match="does not verify"):
        verify_tlog_proof(bigger, LEAVES[2], ORIGIN, [LOG.verifier()], POLICY)


GOOD = proof_of(1).encode().decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace(HEADER, "c2sp.org/tlog-proof@v2"), "starts with"),
        (GOOD.replace("index 1\n", "index 01\n"), "leading zeroes"),
        (GOOD.replace("index 1\n", "index -1\n"), "decimal"),
        (GOOD.replace("index 1\n", ""), "index"),
        (GOOD.replace("index 1\n", "index 1\nextra AAAA\n"), "base64"),
        (GOOD.replace("index 1\n", "extra !!\nindex 1\n"), "base64"),
        (GOOD.replace("index 1\n", "index 1\nAAAA\n"), "not 32"),
        (f"{HEADER}\nindex 1\n", "empty line"),
        (GOOD.replace("index 1\n", "index 1\n" + "AAAA\n" * 65), "at most 64"),
        (GOOD.replace("index 1\n", "index 1\n\u00e9\n"), "ASCII"),
    ],
)
def test_malformed_proofs_are_refused(text: str, message: str) -> None:
    with pytest.raises(TlogProofError, match=message):
        parse_tlog_proof(text)


REKOR_ORIGIN = "log2025-1.rekor.sigstore.dev"
REKOR_VKEY = "log2025-1.rekor.sigstore.dev+cf119915+AbfK5adZJxsI323FwGD2AJJ9F4i89cfDuLdGJBIYntuO"
"""Sigstore's Rekor v2 shard (a Tessera log): its Ed25519 key from Sigstore's
trusted_root.json, as a vkey (tests/vectors/c2sp/README.md)."""


def test_a_proof_of_sigstores_rekor_v2_verifies() -> None:
    """A real entry of a public C2SP log: its checkpoint note and inclusion proof, as
    log2025-1.rekor.sigstore.dev returned them, in tlog-proof form."""
    from pathlib import Path

    from ledger.formats.cosignature import WitnessPolicy
    from ledger.formats.note import note_verifier

    vectors = Path(__file__).parents[1] / "vectors" / "c2sp"
    data = (vectors / "rekor-v2-412114.tlog-proof").read_bytes()
    entry = (vectors / "rekor-v2-412114.entry").read_bytes()
    rekor = [note_verifier(REKOR_VKEY)]
    verified = verify_tlog_proof(data, hash_leaf(entry), REKOR_ORIGIN, rekor, WitnessPolicy((), 0))
    assert verified.index == 412114 and verified.cosigned.checkpoint.size == 412115
    assert parse_tlog_proof(data).encode() == data
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(data, hash_leaf(entry + b" "), REKOR_ORIGIN, rekor, WitnessPolicy((), 0))
