"""Checkpoints (c2sp.org/tlog-checkpoint): a log's signed tree head as a signed note.

    <origin>                  names the log; model-ledger's: see `log_origin`
    <tree size>               decimal, no leading zeroes
    <root hash>               base64 of the RFC 6962 / 9162 root at that size
    [extension lines]         optional, non-empty, opaque (model-ledger writes none)

    — <log key name> base64(key ID || Ed25519 signature)
    — <witness> base64(key ID || timestamp || signature)      cosignatures, any number

`parse_checkpoint` reads the note text strictly and `Checkpoint.text` writes the one
canonical form, so text -> Checkpoint -> text is the identity. `open_checkpoint` verifies
the log's signature (ledger.formats.note) and reads the text. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.core.merkle import HASH_SIZE
from ledger.formats.note import (
    ALG_ED25519,
    Note,
    NoteError,
    OpenedNote,
    Signature,
    Signer,
    Verifier,
    b64,
    b64decode_strict,
    check_text,
    open_note,
    parse_note,
    sign_note,
    valid_name,
)

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size read or written: Go's tlog (int64) and our LogAnchor (uint64) agree."""

MAX_ORIGIN_BYTES = 256
"""Longest origin line model-ledger writes (`log_origin`); reading accepts any the note
size limit allows."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


class CheckpointError(NoteError):
    """A checkpoint whose text or signatures cannot be accepted."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size, root, and opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("the origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"the tree size must be from 0 to {MAX_TREE_SIZE}")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"the root hash must be {HASH_SIZE} bytes, got {len(self.root)}")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("an extension line must be one non-empty line")

    def text(self) -> str:
        """The note text (the one serialiser), final newline included."""
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        text = "\n".join(lines) + "\n"
        check_text(text)
        return text

    def sign(self, signers: Sequence[Signer]) -> bytes:
        """The checkpoint as a signed note."""
        return sign_note(self.text(), signers)


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint from its note text: at least three lines, each non-empty, ending in a
    newline; the size in decimal without leading zeroes; the root 32 bytes of canonical
    base64. CheckpointError names the line."""
    if not text.endswith("\n"):
        raise CheckpointError("a checkpoint's text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"a checkpoint has an origin, a size and a root line, got {len(lines)} line(s)"
        )
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("the origin line is empty")
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise CheckpointError(
            f"the size line must be a decimal from 0 to {MAX_TREE_SIZE} without leading zeroes,"
            f" got {size_text!r:.40}"
        )
    try:
        root = b64decode_strict(root_text, "the root hash")
    except NoteError as error:
        raise CheckpointError(str(error)) from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"the root hash must be {HASH_SIZE} bytes, got {len(root)}")
    if any(not line for line in extensions):
        raise CheckpointError("extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose log signature verified, the note it came in (all its signatures,
    cosignatures included) and which known keys signed it."""

    checkpoint: Checkpoint
    opened: OpenedNote

    @property
    def note(self) -> Note:
        return self.opened.note


def open_checkpoint(
    data: bytes | str | Note, origin: str, log_verifiers: Iterable[Verifier]
) -> OpenedCheckpoint:
    """Verify a signed checkpoint of the log named `origin`: a known log key signed it
    (signed-note rules) and its origin line is `origin`. Cosignatures are left to
    `ledger.formats.cosignature`."""
    log_verifiers = list(log_verifiers)
    for verifier in log_verifiers:
        if verifier.key.alg != ALG_ED25519:
            raise CheckpointError(
                f"log key {verifier.name!r:.80} is of signature type 0x{verifier.key.alg:02x}:"
                " a log signs its checkpoints with Ed25519 note signatures (0x01)"
            )
    note = data if isinstance(data, Note) else parse_note(data)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise CheckpointError(
            f"the checkpoint's origin is {checkpoint.origin!r:.120}, expected {origin!r:.120}"
        )
    opened = open_note(note, log_verifiers)
    return OpenedCheckpoint(checkpoint, opened)


def add_signatures(data: bytes | str | Note, signatures: Iterable[Signature]) -> bytes:
    """The note with `signatures` appended (a witness's cosignatures, say); one already
    there is not repeated."""
    note = data if isinstance(data, Note) else parse_note(data)
    lines = list(note.signatures)
    for signature in signatures:
        if signature not in lines:
            lines.append(signature)
    return Note(note.text, tuple(lines)).encode()


def log_origin(host: str, log_name: str) -> str:
    """model-ledger's origin line (and log key name): `<host>/<log name>`, a schema-less
    URL as the spec recommends, e.g. `ledger.example.com/model-ledger`. `host` is the
    operator's public host, lowercase, with an optional port and path; the log name must be
    a URL path segment (letters, digits, `.`, `_`, `~`, `-`)."""
    host_part, _, path = host.partition("/")
    if not _HOST.fullmatch(host_part):
        raise CheckpointError(f"origin: not a lowercase host name: {host_part!r:.80}")
    segments = [s for s in path.split("/") if s] + [log_name]
    for segment in segments:
        if not _PATH_SEGMENT.fullmatch(segment):
            raise CheckpointError(
                f"origin: not a URL path segment (letters, digits, . _ ~ -): {segment!r:.80}"
            )
    origin = "/".join([host_part, *segments])
    if len(origin) > MAX_ORIGIN_BYTES or not valid_name(origin):
        raise CheckpointError(f"origin: at most {MAX_ORIGIN_BYTES} bytes, got {len(origin)}")
    return origin
