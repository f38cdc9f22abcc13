"""tlog-proofs (c2sp.org/tlog-proof@v1) for the page's tests, written by our Python code
(no Go): one log of 13 interaction records signed by a fixed note key, cosigned by fixed
witness keys at fixed times, and a case per check: each with the proof, the record, the
log identity, the witnesses the verifier trusts and the quorum, and the line(s)
`mledger verify` prints for it (`expected_lines`, from ledger.verify.tlog_proof)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from functools import cache

import rfc8785

from ledger.core import merkle
from ledger.core.records import parse_object
from ledger.formats.cosignature import Cosigner
from ledger.formats.identity import LogIdentity
from ledger.formats.note import (
    ALG_COSIGNATURE_V1,
    Note,
    Signature,
    Signer,
    VerifierKey,
    key_id,
)
from ledger.formats.tlog_checkpoint import Checkpoint
from ledger.formats.tlog_proof import TlogProof
from ledger.verify.tlog_proof import TlogProofCheckError, verify_record_tlog_proof
from ledger.workload import interaction
from tests.cli.test_verify_tlog_proof import IDENTITY as BARE
from tests.cli.test_verify_tlog_proof import LOG, ORIGIN

W1 = Cosigner("witness.example/w1", bytes([5]) * 32)
W2 = Cosigner("witness.example/w2", bytes([6]) * 32)
W3 = Cosigner("witness.example/w3", bytes([7]) * 32)
STRANGER = Cosigner("stranger.example/w", bytes([9]) * 32)
SMILING = Cosigner("witness.example/\U0001f642", bytes([8]) * 32)
"""A witness whose key name holds an emoji (C2SP key names are any UTF-8 but space and '+')."""
IDENTITY = replace(BARE, note_vkey=LOG.vkey())
"""The log identity of tests/cli/test_verify_tlog_proof.py, with the note key LOG's vkey."""
NOW = 1_700_000_000
"""The verifiers' clock in these cases (unix seconds): cosignatures dated up to 600 s later pass."""

INDEX = 5
SIZE = 13

NOT_CONSULTED = (
    "the chain was NOT consulted: a tlog-proof is trusted through the log's note key and"
    " its witnesses; an evidence bundle proves the anchor"
)
"""The line `mledger verify` prints after VALID for a tlog-proof (ledger/cli/tlog_proof.py)."""


@dataclass(frozen=True)
class Case:
    """One tlog-proof and what the verifier is given with it."""

    name: str
    proof: bytes
    record: bytes
    identity: LogIdentity | None = IDENTITY
    witnesses: tuple[str, ...] = ()
    quorum: int | None = None
    check: str | None = None  # the check that fails; None: valid
    hint: str = field(default="")  # a phrase the failure names

    def identity_json(self) -> bytes | None:
        return None if self.identity is None else rfc8785.dumps(self.identity.as_json())

    def as_payload(self) -> dict[str, object]:
        """The case for the Node driver (bytes in base64)."""
        identity = self.identity_json()
        return {
            "name": self.name,
            "proof": base64.b64encode(self.proof).decode(),
            "record": base64.b64encode(self.record).decode(),
            "identity": None if identity is None else base64.b64encode(identity).decode(),
            "witnesses": list(self.witnesses),
            "quorum": self.quorum,
            "now": NOW,
        }


def expected_lines(case: Case) -> list[str]:
    """What `mledger verify PROOF --record R --log L --witness ... --quorum M` prints, run
    at NOW (ledger/cli/tlog_proof.py verify_tlog_proof_file)."""
    assert case.identity is not None
    try:
        result = verify_record_tlog_proof(
            case.proof, case.record, case.identity, case.witnesses, case.quorum, NOW + 600
        )
    except TlogProofCheckError as error:
        return [f"INVALID: {error.check} check failed: {error.message}"]
    return [f"VALID: {result.statement()}", NOT_CONSULTED]


def _checkpoint(leaves: list[bytes]) -> Checkpoint:
    return Checkpoint(ORIGIN, len(leaves), merkle.root_hash(leaves))


def _note(checkpoint: Checkpoint, *cosigners: tuple[Cosigner, int]) -> Note:
    text = checkpoint.text()
    signatures = (LOG.sign(text.encode()), *(c.cosign(text, t) for c, t in cosigners))
    return Note(text, signatures)


ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
"""L, the order of Ed25519's base point: a signature's S must be below it (RFC 8032 5.1.7)."""


def _malleated(signature: Signature, at: int) -> Signature:
    """The same signature with S + L in place of S (from byte `at`, where the 64-byte
    Ed25519 signature starts): the equation still holds, but RFC 8032 refuses S >= L."""
    raw = signature.signature
    s = int.from_bytes(raw[at + 32 : at + 64], "little") + ED25519_ORDER
    changed = raw[: at + 32] + s.to_bytes(32, "little") + raw[at + 64 :]
    return Signature(signature.name, signature.key_id, changed)


IDENTITY_POINT = bytes([1]) + bytes(31)
"""The Ed25519 identity point: under it R = identity, S = 0 verifies for every message."""
P_PLUS_ONE = (2**255 - 19 + 1).to_bytes(32, "little")
"""The identity point spelled y = p + 1, a non-canonical encoding."""
SIGNED_ZERO = bytes(31) + bytes([0x80])
"""y = 0 with the sign bit set: a point of order 4 (libsodium's blocklist)."""


def weak_witness(name: str, public: bytes) -> tuple[str, Signature]:
    """A witness vkey (type 0x04) of the 32 bytes `public`, and the cosignature anyone can
    make under it when it is the identity point (R = identity, S = 0), dated NOW."""
    ident = key_id(name, ALG_COSIGNATURE_V1, public)
    universal = NOW.to_bytes(8, "big") + IDENTITY_POINT + bytes(32)
    return (
        VerifierKey(name, ident, ALG_COSIGNATURE_V1, public).text(),
        Signature(name, ident, universal),
    )


def _flip(signature: Signature, at: int) -> Signature:
    raw = bytearray(signature.signature)
    raw[at] ^= 0x01
    return Signature(signature.name, signature.key_id, bytes(raw))


@cache
def cases() -> tuple[Case, ...]:
    entries = [parse_object(interaction(i)) for i in range(SIZE)]
    leaves = [e.leaf_hash for e in entries]
    record = entries[INDEX].canonical
    other = entries[INDEX + 1].canonical
    checkpoint = _checkpoint(leaves)
    path = tuple(merkle.inclusion_proof(INDEX, leaves))
    note = _note(checkpoint, (W1, NOW - 100), (STRANGER, NOW - 90), (W2, NOW - 80))

    def proof(n: Note = note, hashes: tuple[bytes, ...] = path, index: int = INDEX) -> bytes:
        return TlogProof(index, hashes, n).encode()

    good = proof()
    trusted = (W1.vkey(), W2.vkey())
    log_line, *cosigned = note.signatures
    tampered_log = Note(note.text, (_flip(log_line, 7), *cosigned))
    tampered_w2 = Note(note.text, (log_line, cosigned[0], cosigned[1], _flip(cosigned[2], 20)))
    malleated_log = Note(note.text, (_malleated(log_line, 0), *cosigned))
    malleated_w1 = Note(note.text, (log_line, _malleated(cosigned[0], 8), *cosigned[1:]))
    later = Note(note.text, (*note.signatures, W3.cosign(note.text, NOW + 3600)))
    grown = _checkpoint([*leaves, b"\x00" * 32])
    moved = Note(grown.text(), note.signatures)  # signatures of another text
    other_log = Signer("other.example/log", bytes([3]) * 32)
    foreign = Note(checkpoint.text(), (other_log.sign(checkpoint.text().encode()),))
    wrong_node = bytearray(path[1])
    wrong_node[0] ^= 0x80
    bad_path = (path[0], bytes(wrong_node), *path[2:])
    text = good.decode()
    first = base64.b64encode(path[0]).decode()
    unknown = Signature("\U0001f642.example/w", 0x01020304, bytes(range(72)))
    smiling = Note(note.text, (*note.signatures, SMILING.cosign(note.text, NOW - 70)))
    weak = [
        weak_witness(f"weak.example/w{n}", public)
        for n, public in enumerate((IDENTITY_POINT, P_PLUS_ONE, SIGNED_ZERO))
    ]
    forged = Note(note.text, (log_line, *(line for _, line in weak)))
    return (
        Case("valid-two-of-two", good, record, witnesses=trusted),
        Case("valid-two-of-three", good, record, witnesses=(*trusted, W3.vkey()), quorum=2),
        Case("valid-no-witness", good, record),
        Case("valid-one-of-one", good, record, witnesses=(W2.vkey(),), quorum=1),
        Case(
            "tampered-log-signature",
            proof(tampered_log),
            record,
            witnesses=trusted,
            check="checkpoint",
            hint="does not verify",
        ),
        Case(
            "malleated-log-signature",
            proof(malleated_log),
            record,
            check="checkpoint",
            hint="does not verify",
        ),
        Case(
            "malleated-cosignature",
            proof(malleated_w1),
            record,
            witnesses=trusted,
            check="checkpoint",
            hint="the cosignature of witness 'witness.example/w1' does not verify",
        ),
        Case(
            "unknown-witness-only",
            good,
            record,
            witnesses=(W3.vkey(),),
            quorum=1,
            check="checkpoint",
            hint="0 of the 1 trusted witnesses cosigned",
        ),
        Case(
            "quorum-not-met",
            good,
            record,
            witnesses=(*trusted, W3.vkey()),
            quorum=3,
            check="checkpoint",
            hint="2 of the 3 trusted witnesses cosigned the checkpoint, the policy needs 3",
        ),
        Case(
            "tampered-cosignature",
            proof(tampered_w2),
            record,
            witnesses=trusted,
            check="checkpoint",
            hint="the cosignature of witness 'witness.example/w2' does not verify",
        ),
        Case(
            "cosigned-in-the-future",
            proof(later),
            record,
            witnesses=(W3.vkey(),),
            check="checkpoint",
            hint="is dated",
        ),
        Case(
            "wrong-inclusion-node",
            proof(hashes=bad_path),
            record,
            witnesses=trusted,
            check="inclusion",
            hint="root mismatch",
        ),
        Case("other-record", good, other, witnesses=trusted, check="inclusion"),
        Case("short-proof", proof(hashes=path[:-1]), record, check="inclusion", hint="length"),
        Case("index-beyond-size", proof(index=SIZE), record, check="inclusion"),
        Case("moved-checkpoint", proof(moved), record, check="checkpoint"),
        Case("another-log", proof(foreign), record, check="checkpoint", hint="no signature"),
        Case(
            "wrong-origin",
            good,
            record,
            identity=replace(BARE, note_vkey=other_log.vkey()),
            check="checkpoint",
            hint="origin",
        ),
        Case("no-note-key", good, record, identity=BARE, check="identity"),
        Case("log-key-as-witness", good, record, witnesses=(LOG.vkey(),), check="witnesses"),
        Case("witness-twice", good, record, witnesses=(W1.vkey(), W1.vkey()), check="witnesses"),
        Case("quorum-too-high", good, record, witnesses=trusted, quorum=3, check="witnesses"),
        Case("bad-witness-key", good, record, witnesses=("w+0000+AAAA",), check="witnesses"),
        Case(
            "emoji-unknown-key-line",
            proof(Note(note.text, (*note.signatures, unknown))),
            record,
            witnesses=trusted,
        ),
        Case("emoji-witness-name", proof(smiling), record, witnesses=(SMILING.vkey(),), quorum=1),
        Case(
            "small-order-witnesses",
            proof(forged),
            record,
            witnesses=(weak[2][0], weak[0][0]),
            check="witnesses",
            hint="small order",
        ),
        Case(
            "identity-point-witness",
            proof(forged),
            record,
            witnesses=(weak[0][0],),
            quorum=1,
            check="witnesses",
            hint="small order",
        ),
        Case(
            "non-canonical-witness-key",
            proof(forged),
            record,
            witnesses=(weak[1][0],),
            check="witnesses",
            hint="not the canonical encoding",
        ),
        Case("not-a-record", good, b'{"v": 1}', check="record"),
        Case("record-not-json", good, b"[1, 2", check="record"),
        Case(
            "index-leading-zero",
            text.replace(f"index {INDEX}\n", f"index 0{INDEX}\n").encode(),
            record,
            check="checkpoint",
        ),
        Case(
            "no-empty-line",
            text.replace("\n\n", "\n").encode(),
            record,
            check="checkpoint",
        ),
        Case(
            "not-canonical-hash",
            text.replace(first, first[:-1] + "x", 1).encode(),
            record,
            check="checkpoint",
        ),
        Case(
            "not-utf8-note",
            good.replace(ORIGIN.encode() + b"\n", ORIGIN.encode() + b"\xff\n", 1),
            record,
            check="checkpoint",
            hint="UTF-8",
        ),
    )


def case(name: str) -> Case:
    (found,) = [c for c in cases() if c.name == name]
    return found
