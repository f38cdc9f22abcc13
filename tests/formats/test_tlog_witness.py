"""The witness protocol's request, checks and answers (c2sp.org/tlog-witness), pure."""

from __future__ import annotations

import pytest

from ledger.core import merkle
from ledger.core.merkle import EMPTY_ROOT
from ledger.formats.cosignature import Cosigner, witness_policy
from ledger.formats.note import Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint
from ledger.formats.tlog_witness import (
    MAX_PROOF_LINES,
    WitnessProtocolError,
    WitnessRefusal,
    check_add_checkpoint,
    encode_add_checkpoint,
    encode_size,
    parse_add_checkpoint,
    parse_cosignatures,
    parse_size,
)

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
OTHER = Signer(ORIGIN, bytes([9]) * 32)
WITNESS = Cosigner("witness.example/w1", bytes([5]) * 32)
LOGS = {ORIGIN: [LOG.verifier()]}
LEAVES = [merkle.hash_leaf(f"record {i}".encode()) for i in range(20)]


def note(size: int, signer: Signer = LOG, origin: str = ORIGIN) -> bytes:
    return Checkpoint(origin, size, merkle.root_hash(LEAVES[:size])).sign([signer])


def request(old: int, new: int, signer: Signer = LOG) -> bytes:
    proof = merkle.consistency_proof(old, LEAVES[:new]) if 0 < old < new else []
    return encode_add_checkpoint(old, proof, note(new, signer))


def refusal(body: bytes, size: int, root: bytes) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        check_add_checkpoint(parse_add_checkpoint(body), LOGS, size, root)
    return caught.value


def test_the_request_body_is_the_specs() -> None:
    body = request(4, 10)
    head, _, rest = body.partition(b"\n\n")
    lines = head.decode().split("\n")
    assert lines[0] == "old 4" and len(lines) == 1 + len(merkle.consistency_proof(4, LEAVES[:10]))
    assert rest == note(10)
    parsed = parse_add_checkpoint(body)
    assert parsed.old_size == 4 and parsed.encode() == body
    # No proof: the old size line, then the empty line, then the note.
    assert encode_add_checkpoint(0, [], note(3)) == b"old 0\n\n" + note(3)


def test_a_consistent_checkpoint_passes() -> None:
    accepted = check_add_checkpoint(parse_add_checkpoint(request(4, 10)), LOGS, 4, LEAVES_ROOT(4))
    assert accepted.checkpoint.size == 10
    assert [s.name for s in accepted.log_signatures] == [ORIGIN]
    # From nothing, and the same checkpoint again.
    check_add_checkpoint(parse_add_checkpoint(request(0, 10)), LOGS, 0, EMPTY_ROOT)
    check_add_checkpoint(parse_add_checkpoint(request(10, 10)), LOGS, 10, LEAVES_ROOT(10))


def LEAVES_ROOT(size: int) -> bytes:
    return merkle.root_hash(LEAVES[:size])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 4\n",
        b"old 04\n\n" + b"x",
        b"old -1\n\n",
        b"old 4 \n\n",
        b"new 4\n\n",
        b"old 4\nnot base64!\n\n",
        b"old 4\nAAAA\n\n",  # 3 bytes, not a hash
        b"old 0\n\nnot a note\n",
        b"old 0\n" + b"".join([b"A" * 43 + b"=\n"] * (MAX_PROOF_LINES + 1)) + b"\n",
    ],
)
def test_malformed_requests_are_400(body: bytes) -> None:
    with pytest.raises(WitnessRefusal) as caught:
        parse_add_checkpoint(body + (note(3) if body.endswith(b"\n\n") else b""))
    assert caught.value.status == 400


def test_status_codes_follow_the_spec() -> None:
    root10 = LEAVES_ROOT(10)
    # Unknown origin: 404, before any signature check.
    body = encode_add_checkpoint(0, [], note(3, origin="other.example/log"))
    assert refusal(body, 0, EMPTY_ROOT).status == 404
    # Signed by another key of the same name: no trusted signature, 403.
    assert refusal(request(0, 3, OTHER), 0, EMPTY_ROOT).status == 403
    # A trusted key's line that does not verify: 403.
    tampered = parse_note(note(3))
    forged = tampered.signatures[0].__class__(
        ORIGIN, LOG.key_id, bytes(64)
    )  # right name and key ID, wrong signature
    bad = encode_add_checkpoint(0, [], type(tampered)(tampered.text, (forged,)).encode())
    assert refusal(bad, 0, EMPTY_ROOT).status == 403
    # old > size: 400.
    assert refusal(encode_add_checkpoint(12, [], note(10)), 12, LEAVES_ROOT(12)).status == 400
    # old is not the witness's size: 409, with its size.
    stale = refusal(request(4, 12), 10, root10)
    assert (stale.status, stale.size) == (409, 10)
    # A proof that does not lead to the witness's root: 422.
    proof = merkle.consistency_proof(10, LEAVES[:12])
    wrong = encode_add_checkpoint(10, [proof[0][::-1], *proof[1:]], note(12))
    assert refusal(wrong, 10, root10).status == 422
    # A consistent proof from another history (the witness saw another root): 422.
    assert refusal(request(10, 12), 10, bytes(32)).status == 422
    # The same size with another root: 422.
    assert refusal(request(10, 10), 10, bytes(32)).status == 422
    # A proof from size 0 must be empty: 422.
    body = encode_add_checkpoint(0, [bytes(32)], note(3))
    assert refusal(body, 0, EMPTY_ROOT).status == 422
    # A size-0 checkpoint must carry the empty root: 422.
    empty = Checkpoint(ORIGIN, 0, bytes(32)).sign([LOG])
    assert refusal(encode_add_checkpoint(0, [], empty), 0, EMPTY_ROOT).status == 422
    good_empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT).sign([LOG])
    check_add_checkpoint(
        parse_add_checkpoint(encode_add_checkpoint(0, [], good_empty)), LOGS, 0, EMPTY_ROOT
    )


def test_size_answers() -> None:
    assert encode_size(42) == b"42\n" and parse_size(b"42\n") == 42
    for body in (b"42", b"042\n", b"-1\n", b"x\n", b""):
        with pytest.raises(WitnessProtocolError):
            parse_size(body)


def test_cosignature_answers() -> None:
    text = Checkpoint(ORIGIN, 10, LEAVES_ROOT(10)).text()
    policy = witness_policy([WITNESS.vkey()], 1)
    line = WITNESS.cosign(text, 1700000000).line()
    stranger = Cosigner("other.example/w", bytes([6]) * 32).cosign(text, 1700000000).line()
    found = parse_cosignatures(text, (stranger + line).encode(), policy)
    assert [s.line() for s in found] == [line]  # the unknown key's line is ignored
    # A line of the witness's key over another checkpoint: refused.
    other = WITNESS.cosign(Checkpoint(ORIGIN, 9, LEAVES_ROOT(9)).text(), 1700000000).line()
    for body in (other, stranger, "", line.rstrip("\n"), "hello\n\n" + line):
        with pytest.raises(WitnessProtocolError):
            parse_cosignatures(text, body.encode(), policy)
