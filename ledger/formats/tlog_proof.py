"""Offline inclusion proofs (c2sp.org/tlog-proof@v1): an entry's index, its inclusion
proof and the (cosigned) checkpoint it leads to, in one text file (`.tlog-proof`).

    c2sp.org/tlog-proof@v1
    extra <base64>            optional, opaque, NOT authenticated
    index <decimal>
    <base64 hash>             the RFC 6962 inclusion proof, leaf's sibling first
    ...
                              an empty line
    <the signed checkpoint note, verbatim>

`TlogProof.encode` is the one writer, `parse_tlog_proof` the one reader (strict: the
round trip is the identity). `verify_tlog_proof` does the spec's four steps: the caller
gives the leaf hash; the checkpoint must carry the expected origin and a known log key's
signature; the witnesses' cosignatures must meet the policy; the proof must lead from the
leaf to the checkpoint's root (ledger.core.merkle). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.core.merkle import HASH_SIZE, verify_inclusion
from ledger.formats.cosignature import (
    CosignedCheckpoint,
    WitnessPolicy,
    open_cosigned_checkpoint,
)
from ledger.formats.note import MAX_NOTE_BYTES, Note, NoteError, Verifier, b64, b64decode_strict
from ledger.formats.note import parse_note as _parse_note

HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every proof."""

MAX_PROOF_HASHES = 64
"""Most inclusion proof lines read (a tree of 2^63 - 1 leaves needs at most 63)."""

MAX_INDEX = 2**63 - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class TlogProofError(NoteError):
    """A tlog-proof that cannot be read."""


@dataclass(frozen=True)
class TlogProof:
    """An entry's index, its inclusion proof, the checkpoint note, and opaque extra data."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: Note
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index <= MAX_INDEX:
            raise TlogProofError(f"the index must be from 0 to {MAX_INDEX}")
        if len(self.hashes) > MAX_PROOF_HASHES:
            raise TlogProofError(f"at most {MAX_PROOF_HASHES} proof hashes")
        for position, node in enumerate(self.hashes):
            if len(node) != HASH_SIZE:
                raise TlogProofError(f"proof hash {position} is not {HASH_SIZE} bytes")

    def encode(self) -> bytes:
        """The proof's text (the one serialiser)."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64(node) for node in self.hashes)
        head = "\n".join(lines) + "\n\n"
        return head.encode() + self.checkpoint.encode()


def parse_tlog_proof(data: bytes | str) -> TlogProof:
    """A tlog-proof from its text; TlogProofError (or NoteError for the checkpoint) names
    what is wrong. Nothing is verified here: see `verify_tlog_proof`."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_NOTE_BYTES + 8 * 1024:
        raise TlogProofError(f"a tlog-proof is at most {MAX_NOTE_BYTES + 8 * 1024} bytes")
    head, sep, note = raw.partition(b"\n\n")
    if not sep:
        raise TlogProofError("a tlog-proof needs an empty line before its checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise TlogProofError("a tlog-proof's lines before the checkpoint are ASCII") from None
    if lines[0] != HEADER:
        raise TlogProofError(f"a tlog-proof starts with the line {HEADER!r}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _decode(lines[position][len("extra ") :], "the extra data")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise TlogProofError("a tlog-proof needs an 'index <decimal>' line")
    index_text = lines[position][len("index ") :]
    if not _DECIMAL.fullmatch(index_text) or int(index_text) > MAX_INDEX:
        raise TlogProofError(
            f"the index must be a decimal from 0 to {MAX_INDEX} without leading zeroes,"
            f" got {index_text!r:.40}"
        )
    hash_lines = lines[position + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise TlogProofError(f"at most {MAX_PROOF_HASHES} proof hashes, got {len(hash_lines)}")
    hashes = []
    for number, line in enumerate(hash_lines):
        node = _decode(line, f"proof hash {number}")
        if len(node) != HASH_SIZE:
            raise TlogProofError(f"proof hash {number} is {len(node)} bytes, not {HASH_SIZE}")
        hashes.append(node)
    return TlogProof(int(index_text), tuple(hashes), _parse_note(note), extra)


def _decode(text: str, what: str) -> bytes:
    try:
        return b64decode_strict(text, what)
    except NoteError as error:
        raise TlogProofError(str(error)) from None


@dataclass(frozen=True)
class VerifiedProof:
    """A tlog-proof that verified: the entry's index and the cosigned checkpoint."""

    index: int
    cosigned: CosignedCheckpoint
    extra: bytes | None


def verify_tlog_proof(
    data: bytes | str | TlogProof,
    leaf_hash: bytes,
    origin: str,
    log_verifiers: Sequence[Verifier] | Iterable[Verifier],
    policy: WitnessPolicy,
    max_timestamp: int | None = None,
) -> VerifiedProof:
    """Verify a tlog-proof for the entry whose RFC 6962 leaf hash is `leaf_hash`: the
    checkpoint is the log `origin`'s, signed by one of `log_verifiers`, cosigned as
    `policy` requires, and the proof places the leaf at the index in its tree. Raises
    NoteError (signatures, forms) or ledger.core.merkle.ProofError (the proof)."""
    proof = data if isinstance(data, TlogProof) else parse_tlog_proof(data)
    cosigned = open_cosigned_checkpoint(
        proof.checkpoint, origin, log_verifiers, policy, max_timestamp
    )
    checkpoint = cosigned.checkpoint
    verify_inclusion(proof.index, checkpoint.size, leaf_hash, proof.hashes, checkpoint.root)
    return VerifiedProof(proof.index, cosigned, proof.extra)
