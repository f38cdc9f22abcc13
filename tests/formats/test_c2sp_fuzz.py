"""The C2SP readers on hostile input: any bytes give a document or a NoteError, never
another exception, and what is read writes back to the same bytes (one spelling each)."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.merkle import hash_leaf, inclusion_proof, root_hash
from ledger.formats.cosignature import Cosigner, witness_policy
from ledger.formats.note import NoteError, Signer, open_note, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures, parse_checkpoint
from ledger.formats.tlog_proof import TlogProof, parse_tlog_proof

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESS = Cosigner("witness.example/w1", bytes([5]) * 32)
LEAVES = [hash_leaf(bytes([i])) for i in range(9)]
CHECKPOINT = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES))
NOTE = add_signatures(CHECKPOINT.sign([LOG]), [WITNESS.cosign(CHECKPOINT.text(), 7)])
PROOF = TlogProof(4, tuple(inclusion_proof(4, LEAVES)), parse_note(NOTE)).encode()

# Pieces that make the readers go deep: separators, dashes, base64, digits.
PIECES = st.sampled_from(
    ["\n", "\n\n", "\u2014 ", " ", "+", "=", "A", "AAAA", "0", "05", "index ", "extra "]
)


def mutations() -> st.SearchStrategy[bytes]:
    def mutate(data: bytes, position: int, piece: str, cut: int) -> bytes:
        at = position % (len(data) + 1)
        return data[:at] + piece.encode() + data[at + cut :]

    base = st.sampled_from([NOTE, PROOF, CHECKPOINT.text().encode()])
    return st.builds(mutate, base, st.integers(0, 10_000), PIECES, st.integers(0, 3))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutations()))
def test_notes_read_or_refuse_and_round_trip(data: bytes) -> None:
    try:
        note = parse_note(data)
    except NoteError:
        return
    assert note.encode() == data
    try:
        opened = open_note(note, [LOG.verifier()])
    except NoteError:
        return
    assert opened.text == CHECKPOINT.text()


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), mutations().map(lambda b: b.decode("utf-8", "replace"))))
def test_checkpoint_texts_read_or_refuse_and_round_trip(text: str) -> None:
    try:
        checkpoint = parse_checkpoint(text)
    except NoteError:
        return
    assert checkpoint.text() == text


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=400), mutations()))
def test_tlog_proofs_read_or_refuse_and_round_trip(data: bytes) -> None:
    try:
        proof = parse_tlog_proof(data)
    except NoteError:
        return
    assert proof.encode() == data


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 7), st.integers(0, 63))
def test_any_changed_bit_of_a_cosignature_is_caught(byte: int, bit: int) -> None:
    """Flip one bit of the witness's line (key ID, time or signature): the line is then
    either another (unknown) key's, or it fails; the policy is never met by a forgery."""
    note = parse_note(NOTE)
    line = note.signatures[1]
    raw = bytearray(line.key_id.to_bytes(4, "big") + line.signature)
    raw[(byte * 11 + bit) % len(raw)] ^= 1 << (bit % 8)
    text = NOTE.decode().replace(
        base64.b64encode(line.key_id.to_bytes(4, "big") + line.signature).decode(),
        base64.b64encode(bytes(raw)).decode(),
    )
    policy = witness_policy([WITNESS.vkey()], 1)
    try:
        policy.check(parse_note(text.encode()))
    except NoteError:
        return
    raise AssertionError("a changed cosignature met the policy")
