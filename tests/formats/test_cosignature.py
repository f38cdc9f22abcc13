"""Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) and the M-of-N policy."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.formats.cosignature import (
    MAX_TIMESTAMP,
    CosignatureError,
    Cosigner,
    WitnessPolicy,
    cosigner_verifier,
    open_cosigned_checkpoint,
    parse_cosigner,
    signed_message,
    timestamp_of,
    witness_policy,
)
from ledger.formats.note import NoteError, Signature, Signer, parse_note, parse_vkey
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESSES = [Cosigner(f"witness{i}.example/w", bytes([i + 7]) * 32) for i in range(3)]
CHECKPOINT = Checkpoint(ORIGIN, 20852163, bytes(range(32)))
T = 1679315147


def cosigned(*witnesses: Cosigner, timestamp: int = T) -> bytes:
    text = CHECKPOINT.text()
    return add_signatures(CHECKPOINT.sign([LOG]), [w.cosign(text, timestamp) for w in witnesses])


def test_the_signed_message_is_the_specs() -> None:
    assert signed_message(CHECKPOINT.text(), T) == (
        f"cosignature/v1\ntime {T}\n{CHECKPOINT.text()}".encode()
    )
    with pytest.raises(CosignatureError):
        signed_message(CHECKPOINT.text(), MAX_TIMESTAMP + 1)


def test_a_cosignature_is_key_id_timestamp_ed25519_with_type_4() -> None:
    witness = WITNESSES[0]
    line = witness.cosign(CHECKPOINT.text(), T).line()
    name, encoded = line.removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(encoded)
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + witness.public_key).digest()[:4]
    assert raw[:4] == key_id and int.from_bytes(raw[4:12], "big") == T and len(raw) == 76
    message = f"cosignature/v1\ntime {T}\n{CHECKPOINT.text()}".encode()
    Ed25519PublicKey.from_public_bytes(witness.public_key).verify(raw[12:], message)
    key = parse_vkey(witness.vkey())
    assert key.alg == 0x04 and key.key_id == int.from_bytes(key_id, "big")


def test_quorum_of_witnesses() -> None:
    policy = witness_policy([w.vkey() for w in WITNESSES], 2)
    note = parse_note(cosigned(WITNESSES[0], WITNESSES[2]))
    found = policy.check(note)
    assert [c.name for c in found] == [WITNESSES[0].name, WITNESSES[2].name]
    assert {c.timestamp for c in found} == {T}
    opened = open_cosigned_checkpoint(note, ORIGIN, [LOG.verifier()], policy)
    assert opened.checkpoint == CHECKPOINT and len(opened.cosigned) == 2
    with pytest.raises(CosignatureError, match="1 of the 3 trusted witnesses"):
        policy.check(parse_note(cosigned(WITNESSES[1])))


def test_one_witness_counts_once_and_unknown_witnesses_do_not_count() -> None:
    policy = witness_policy([w.vkey() for w in WITNESSES[:2]], 2)
    stranger = Cosigner("stranger.example", bytes([99]) * 32)
    twice = add_signatures(cosigned(WITNESSES[0]), [WITNESSES[0].cosign(CHECKPOINT.text(), T + 1)])
    with pytest.raises(CosignatureError, match="1 of the 2"):
        policy.check(parse_note(add_signatures(twice, [stranger.cosign(CHECKPOINT.text(), T)])))


def test_a_trusted_witness_that_does_not_verify_rejects() -> None:
    policy = witness_policy([w.vkey() for w in WITNESSES], 1)
    good = WITNESSES[0].cosign(CHECKPOINT.text(), T)
    other_time = Signature(good.name, good.key_id, (T + 1).to_bytes(8, "big") + good.signature[8:])
    data = add_signatures(CHECKPOINT.sign([LOG]), [other_time])
    with pytest.raises(CosignatureError, match="does not verify"):
        policy.check(parse_note(data))


def test_log_keys_and_witness_keys_do_not_mix() -> None:
    """A log's note signature never counts as a cosignature, a cosigner key never serves as
    the log's, and a witness holding the log's key is refused."""
    policy = witness_policy([w.vkey() for w in WITNESSES], 1)
    data = cosigned(WITNESSES[0])
    with pytest.raises(CosignatureError, match="0x01"):
        WitnessPolicy((LOG.verifier(),), 1)
    with pytest.raises(NoteError, match="signature type 0x04"):
        open_cosigned_checkpoint(data, ORIGIN, [WITNESSES[1].verifier()], WitnessPolicy((), 0))
    twin = Cosigner("twin.example", bytes(range(32)))  # the log's key, as a witness
    with pytest.raises(CosignatureError, match="shares its public key with the log"):
        open_cosigned_checkpoint(data, ORIGIN, [LOG.verifier()], witness_policy([twin.vkey()], 1))
    assert open_cosigned_checkpoint(data, ORIGIN, [LOG.verifier()], policy).cosigned


def test_timestamps_in_the_future_can_be_refused() -> None:
    policy = witness_policy([WITNESSES[0].vkey()], 1)
    note = parse_note(cosigned(WITNESSES[0], timestamp=T + 1000))
    assert policy.check(note, max_timestamp=T + 1000)
    with pytest.raises(CosignatureError, match="after"):
        policy.check(note, max_timestamp=T)
    assert timestamp_of(note.signatures[1]) == T + 1000


def test_keys_and_policies() -> None:
    witness = WITNESSES[1]
    assert parse_cosigner(witness.private_text()).vkey() == witness.vkey()
    assert witness.private_text().split("+", 4)[4] not in repr(witness)
    with pytest.raises(NoteError, match="0x04"):
        cosigner_verifier(LOG.vkey())
    with pytest.raises(CosignatureError, match="quorum"):
        witness_policy([witness.vkey()], 2)
    with pytest.raises(CosignatureError, match="twice"):
        witness_policy([witness.vkey(), witness.vkey()], 1)
    same_key = Cosigner("another.example", bytes([8]) * 32)
    with pytest.raises(CosignatureError, match="share a public key"):
        witness_policy([witness.vkey(), same_key.vkey()], 1)
    assert WitnessPolicy((), 0).check(parse_note(cosigned())) == ()


def test_a_private_key_whose_base64_holds_a_plus_reads_back() -> None:
    # Regression: the key text was split on every '+', base64's included.
    seeds = (bytes([i]) * 32 for i in range(256))
    cosigner = next(
        c
        for c in (Cosigner("w.example/w", s) for s in seeds)
        if "+" in c.private_text().split("+", 4)[4]
    )
    assert parse_cosigner(cosigner.private_text()).vkey() == cosigner.vkey()
