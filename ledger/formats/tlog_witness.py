"""The witness protocol (c2sp.org/tlog-witness): the add-checkpoint request, the witness's
checks and its answers. Pure: no I/O; the HTTP server and client build on it.

    POST <submission prefix>/add-checkpoint

    old <size the client believes the witness last cosigned>
    <base64 hash>                    the RFC 6962 consistency proof, at most 63 lines
    ...
                                     one empty line
    <the checkpoint note>            signed by the log, maybe by others

Answers: 200 with cosignature lines (`— <witness> base64(...)`); 409 with the witness's
size (`<size>\\n`, Content-Type text/x.tlog.size) when `old` is not it; 404 unknown
origin; 403 no trusted log signature or a bad one; 400 malformed or old > size; 422 a
consistency proof that does not verify (or a size-0 checkpoint whose root is not the
empty tree's). `check_add_checkpoint` runs the checks in the spec's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.core.merkle import EMPTY_ROOT, HASH_SIZE
from ledger.core.merkle.errors import ProofError
from ledger.core.merkle.verify import verify_consistency
from ledger.formats.cosignature import WitnessPolicy, cosigner_verifier
from ledger.formats.note import (
    MAX_NOTE_BYTES,
    Note,
    NoteError,
    Signature,
    Verifier,
    b64,
    b64decode_strict,
    open_note,
    parse_note,
)
from ledger.formats.tlog_checkpoint import Checkpoint, CheckpointError, parse_checkpoint

MAX_PROOF_LINES = 63
"""Most consistency proof lines a client may send (the spec's bound)."""

MAX_REQUEST_BYTES = MAX_NOTE_BYTES + 16 * 1024
"""Largest add-checkpoint body read: a note and the proof lines around it."""

SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content-Type of a 409 answer, whose body is the witness's size and a newline."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class WitnessProtocolError(NoteError):
    """A request or an answer of the witness protocol that cannot be accepted."""


class WitnessRefusal(WitnessProtocolError):
    """Why a witness does not cosign, with the HTTP status the spec gives it; a 409 also
    carries the witness's size."""

    def __init__(self, status: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the old size, the proof and the checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: Note

    def encode(self) -> bytes:
        """The request body."""
        lines = [f"old {self.old_size}\n", *(b64(node) + "\n" for node in self.proof), "\n"]
        return "".join(lines).encode() + self.note.encode()


def encode_add_checkpoint(old_size: int, proof: Sequence[bytes], note: bytes | str) -> bytes:
    """The body of an add-checkpoint request for a checkpoint note."""
    if not 0 <= old_size <= 2**63 - 1:
        raise WitnessProtocolError(f"old size out of range: {old_size}")
    if len(proof) > MAX_PROOF_LINES:
        raise WitnessProtocolError(f"at most {MAX_PROOF_LINES} proof lines, got {len(proof)}")
    return AddCheckpoint(old_size, tuple(proof), parse_note(note)).encode()


def _bad(detail: str) -> WitnessRefusal:
    return WitnessRefusal(400, detail)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """An add-checkpoint body, read strictly; WitnessRefusal(400) says what is wrong."""
    if len(body) > MAX_REQUEST_BYTES:
        raise _bad(f"the request is at most {MAX_REQUEST_BYTES} bytes, got {len(body)}")
    split = body.find(b"\n\n")
    if split < 0:
        raise _bad("the request needs an old size line, proof lines and an empty line")
    try:
        head = body[:split].decode("ascii")
    except UnicodeDecodeError:
        raise _bad("the old size and proof lines must be ASCII") from None
    first, *proof_lines = head.split("\n")
    size_text = first.removeprefix("old ")
    if first == size_text or not _DECIMAL.fullmatch(size_text):
        raise _bad(f"the first line must be 'old <size>' in decimal, got {first!r:.60}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise _bad(f"at most {MAX_PROOF_LINES} proof lines, got {len(proof_lines)}")
    proof = []
    for line in proof_lines:
        try:
            node = b64decode_strict(line, "a proof line")
        except NoteError as error:
            raise _bad(str(error)) from None
        if len(node) != HASH_SIZE:
            raise _bad(f"a proof line must hold {HASH_SIZE} bytes, got {len(node)}")
        proof.append(node)
    try:
        note = parse_note(body[split + 2 :])
    except NoteError as error:
        raise _bad(f"the checkpoint note: {error}") from None
    old_size = int(size_text)
    if old_size > 2**63 - 1:
        raise _bad(f"old size out of range: {old_size}")
    return AddCheckpoint(old_size, tuple(proof), note)


@dataclass(frozen=True)
class Accepted:
    """A request that passed every check: the checkpoint and the log signatures that
    verified (kept with the witness's cosignature for the monitoring endpoint)."""

    checkpoint: Checkpoint
    log_signatures: tuple[Signature, ...]


def check_signed(
    request: AddCheckpoint, logs: Mapping[str, Sequence[Verifier]]
) -> tuple[Checkpoint, tuple[Signature, ...]]:
    """The checks that need no state: the checkpoint's form (400), its origin (404), its
    log signature (403) and old <= size (400)."""
    try:
        checkpoint = parse_checkpoint(request.note.text)
    except CheckpointError as error:
        raise _bad(f"not a checkpoint: {error}") from None
    verifiers = logs.get(checkpoint.origin)
    if not verifiers:
        raise WitnessRefusal(404, f"unknown log origin {checkpoint.origin!r:.200}")
    try:
        opened = open_note(request.note, verifiers)
    except NoteError as error:
        raise WitnessRefusal(403, f"the log's signature: {error}") from None
    if request.old_size > checkpoint.size:
        raise _bad(f"old size {request.old_size} is beyond the checkpoint size {checkpoint.size}")
    return checkpoint, opened.verified


def check_consistent(
    request: AddCheckpoint, checkpoint: Checkpoint, latest_size: int, latest_root: bytes
) -> None:
    """The checks against the witness's latest cosigned checkpoint of this log (size 0 and
    the empty root if none): 409 when `old` is not its size, 422 when the checkpoint is not
    consistent with it."""
    if request.old_size != latest_size:
        raise WitnessRefusal(
            409,
            f"old size {request.old_size} is not the witness's size {latest_size}",
            latest_size,
        )
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise WitnessRefusal(422, "a checkpoint of size 0 must have the empty tree's root")
    if request.old_size == 0:
        if request.proof:
            raise WitnessRefusal(422, "a proof from size 0 must be empty")
        return
    try:
        verify_consistency(
            request.old_size, checkpoint.size, request.proof, latest_root, checkpoint.root
        )
    except ProofError as error:
        raise WitnessRefusal(
            422,
            f"not consistent with the witness's checkpoint of size {latest_size}: {error}",
        ) from None


def check_add_checkpoint(
    request: AddCheckpoint,
    logs: Mapping[str, Sequence[Verifier]],
    latest_size: int,
    latest_root: bytes,
) -> Accepted:
    """Every check of add-checkpoint, in the spec's order; WitnessRefusal otherwise."""
    checkpoint, signatures = check_signed(request, logs)
    check_consistent(request, checkpoint, latest_size, latest_root)
    return Accepted(checkpoint, signatures)


def encode_size(size: int) -> bytes:
    """The body of a 409 answer."""
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """The witness's size in a 409 answer."""
    text = body.decode("ascii", "replace")
    if not text.endswith("\n") or not _DECIMAL.fullmatch(text[:-1]):
        raise WitnessProtocolError(f"a 409 answer is a decimal size and a newline: {text!r:.40}")
    return int(text[:-1])


def parse_cosignatures(
    checkpoint_text: str, body: bytes, witness: WitnessPolicy
) -> tuple[Signature, ...]:
    """The cosignature lines of a 200 answer that the witness's keys made and that verify
    over `checkpoint_text`; lines of other keys are ignored (the spec says so), a line of
    a known key that fails rejects the answer, and so does an answer with none."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessProtocolError("the witness's answer is not UTF-8") from None
    if not text.endswith("\n"):
        raise WitnessProtocolError("the witness's answer must end with a newline")
    try:
        note = parse_note(checkpoint_text + "\n" + text)
        if note.text != checkpoint_text:
            raise WitnessProtocolError("the witness's answer holds more than signature lines")
        witness.cosigned(note)  # raises on a failing line of a known key
    except WitnessProtocolError:
        raise
    except NoteError as error:
        raise WitnessProtocolError(f"the witness's answer: {error}") from None
    known = {(w.name, w.key_id) for w in witness.witnesses}
    found = tuple(s for s in note.signatures if (s.name, s.key_id) in known)
    if not found:
        raise WitnessProtocolError("the witness's answer holds no cosignature of its key")
    return found


# -- the log's witnesses, as configured -----------------------------------------------------


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks: its submission prefix and its cosigner vkey (type 0x04)."""

    url: str
    verifier: Verifier

    @property
    def name(self) -> str:
        return self.verifier.name


def parse_endpoint(text: str) -> WitnessEndpoint:
    """`<submission prefix URL> <witness vkey>` (one space); NoteError says what is wrong."""
    url, _, vkey = text.strip().partition(" ")
    if not url.startswith(("http://", "https://")) or not vkey:
        raise NoteError(
            f"a witness is '<URL> <vkey>', the URL http(s)://...: {text.strip()!r:.200}"
        )
    try:
        return WitnessEndpoint(url.rstrip("/"), cosigner_verifier(vkey.strip()))
    except NoteError as error:
        raise NoteError(f"witness {url}: {error}") from None


def read_endpoints(lines: Iterable[str]) -> list[WitnessEndpoint]:
    """Witnesses from `<submission prefix URL> <vkey>` lines (blank and # lines skipped);
    two witnesses may not share a key (NoteError)."""
    endpoints = [
        parse_endpoint(line) for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
    WitnessPolicy(tuple(e.verifier for e in endpoints), len(endpoints))  # one key, one witness
    return endpoints
