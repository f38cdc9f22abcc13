"""A record's c2sp.org/tlog-proof@v1, verified against the pinned log identity and the
witnesses the verifier trusts: the trust of a tlog-proof is the log's note key (the
identity's `note_vkey`, whose name is the origin) and a quorum of witness cosignatures;
the chain is not consulted (an evidence bundle is what proves anchoring).

    record -> RFC 8785 bytes (a valid v1 record) -> leaf hash
    proof  -> checkpoint of the identity's origin, signed by its note key
           -> at least `quorum` of the given witnesses cosigned it (cosignature/v1)
           -> the inclusion proof places the leaf at the index under the root
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.errors import InputError
from ledger.core.merkle.errors import ProofError
from ledger.core.records import RecordError
from ledger.formats.cosignature import witness_policy
from ledger.formats.identity import LogIdentity
from ledger.formats.note import NoteError, note_verifier
from ledger.formats.strict_json import StrictJsonError, load_strict
from ledger.formats.tlog_proof import HEADER, verify_tlog_proof
from ledger.verify.bundle import open_record

MAX_RECORD_BYTES = 1 << 20
"""Largest record file read."""


class TlogProofCheckError(InputError):
    """A tlog-proof that does not verify for this record, identity and witnesses; `check`
    names the step that failed."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


@dataclass(frozen=True)
class TlogProofResult:
    """What a verified tlog-proof shows."""

    origin: str
    index: int
    leaf_hash: bytes
    tree_size: int
    root: bytes
    witnesses: tuple[str, ...]
    quorum: int
    trusted: int

    def statement(self) -> str:
        cosigned = (
            f"cosigned by {len(self.witnesses)} of the {self.trusted} trusted witnesses"
            f" ({', '.join(self.witnesses)}; quorum {self.quorum})"
            if self.trusted
            else "witnessed by no one the verifier named (no --witness)"
        )
        return (
            f"the record (leaf 0x{self.leaf_hash.hex()}) is entry {self.index} of"
            f" {self.origin}'s tree of {self.tree_size} (root 0x{self.root.hex()}), signed by"
            f" the log's note key, {cosigned}"
        )


def is_tlog_proof(data: bytes) -> bool:
    """Whether `data` reads as a tlog-proof (rather than a JSON bundle or pack)."""
    return data.startswith(HEADER.encode() + b"\n")


def record_leaf_hash(record: bytes) -> bytes:
    """The leaf hash of a record file (JSON: a valid record in RFC 8785 form, or a v2
    record disclosed in part)."""
    try:
        obj: Any = load_strict(record, MAX_RECORD_BYTES, "record")
    except StrictJsonError as error:
        raise TlogProofCheckError("record", str(error)) from None
    if not isinstance(obj, dict):
        raise TlogProofCheckError("record", f"a record is a JSON object, got {type(obj).__name__}")
    try:
        return open_record(obj).leaf_hash
    except RecordError as error:
        raise TlogProofCheckError("record", str(error)) from None


def verify_record_tlog_proof(
    proof: bytes,
    record: bytes,
    identity: LogIdentity,
    witnesses: Sequence[str],
    quorum: int | None,
    max_timestamp: int | None = None,
) -> TlogProofResult:
    """Verify `proof` for `record` against the pinned identity and trusted witness vkeys;
    `quorum` defaults to all of them. TlogProofCheckError names the failing step."""
    if identity.note_vkey is None:
        raise TlogProofCheckError(
            "identity", "the pinned log identity has no note_vkey: it signs no checkpoint notes"
        )
    origin = identity.origin
    assert origin is not None  # the note_vkey's name
    try:
        policy = witness_policy(list(witnesses), len(witnesses) if quorum is None else quorum)
    except NoteError as error:
        raise TlogProofCheckError("witnesses", str(error)) from None
    leaf = record_leaf_hash(record)
    try:
        verified = verify_tlog_proof(
            proof, leaf, origin, [note_verifier(identity.note_vkey)], policy, max_timestamp
        )
    except ProofError as error:
        raise TlogProofCheckError("inclusion", str(error)) from None
    except NoteError as error:
        raise TlogProofCheckError("checkpoint", str(error)) from None
    checkpoint = verified.cosigned.checkpoint
    return TlogProofResult(
        origin,
        verified.index,
        leaf,
        checkpoint.size,
        checkpoint.root,
        tuple(c.name for c in verified.cosigned.cosigned),
        policy.quorum,
        len(policy.witnesses),
    )
