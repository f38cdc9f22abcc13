"""Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) and M-of-N policies.

A cosignature is a note signature (ledger.formats.note) of signature type 0x04 on a
checkpoint. Its bytes after the key ID are a timestamped_signature:

    u64 timestamp (POSIX seconds, big-endian, at most 2^63 - 1) || Ed25519 signature[64]

over the message

    cosignature/v1
    time <timestamp>
    <the checkpoint's note text, final newline included>

The key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4]; keys are written as vkeys
of type 0x04. A `WitnessPolicy` holds the witnesses a verifier trusts and how many of them
must have cosigned (the quorum); `open_cosigned_checkpoint` checks the log's signature and
the policy together. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.formats.note import (
    ALG_COSIGNATURE_V1,
    Note,
    NoteError,
    Signature,
    Verifier,
    VerifierKey,
    b64,
    ed25519_public_key,
    key_id,
    parse_note,
    parse_vkey,
    valid_name,
)
from ledger.formats.tlog_checkpoint import Checkpoint, OpenedCheckpoint, open_checkpoint

HEADER = "cosignature/v1"
"""The first line of the signed message: domain separation."""

MAX_TIMESTAMP = 2**63 - 1
"""Largest timestamp a cosignature may carry."""

CLOCK_SKEW = 600
"""Seconds a cosigner's clock may be ahead of the reader's: a cosignature dated later is
not counted (by a verifier) and not kept (by the log)."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"


class CosignatureError(NoteError):
    """A cosignature, a cosigner key or a witness policy that cannot be accepted."""


def signed_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, the checkpoint text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"a cosignature timestamp is from 0 to {MAX_TIMESTAMP}")
    return f"{HEADER}\ntime {timestamp}\n{checkpoint_text}".encode()


def timestamp_of(signature: Signature) -> int:
    """The timestamp of a cosignature line (not verified: see `cosigner_verifier`)."""
    if len(signature.signature) != 8 + 64:
        raise CosignatureError(
            f"a cosignature/v1 signature is 72 bytes after the key ID, got"
            f" {len(signature.signature)}"
        )
    return int.from_bytes(signature.signature[:8], "big")


def cosigner_verifier(vkey: str | VerifierKey) -> Verifier:
    """The verifier of cosignature/v1 signatures by the cosigner a vkey (type 0x04) names:
    it checks the timestamp's range and the Ed25519 signature over `signed_message`."""
    key = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    if key.alg != ALG_COSIGNATURE_V1:
        raise CosignatureError(
            f"witness key {key.name!r:.80}: signature type 0x{key.alg:02x}, expected 0x04"
            " (cosignature/v1)"
        )
    public = ed25519_public_key(key.public_key)

    def verify(text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = signed_message(text.decode(), timestamp)
        try:
            public.verify(signature[8:], message)
        except InvalidSignature:
            return False
        return True

    return Verifier(key, verify)


class Cosigner:
    """A witness's cosignature/v1 key (Ed25519). Its repr shows the public key only."""

    def __init__(self, name: str, seed: bytes) -> None:
        if not valid_name(name):
            raise CosignatureError(f"not a valid key name: {name!r:.80}")
        if len(seed) != 32:
            raise CosignatureError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        self.name = name
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, ALG_COSIGNATURE_V1, self.public_key)

    def __repr__(self) -> str:
        return f"Cosigner({self.vkey()!r})"

    def vkey(self) -> str:
        """The vkey (type 0x04) verifiers are configured with."""
        return VerifierKey(self.name, self.key_id, ALG_COSIGNATURE_V1, self.public_key).text()

    def verifier(self) -> Verifier:
        return cosigner_verifier(self.vkey())

    def private_text(self) -> str:
        """PRIVATE+KEY+name+hex(key ID)+base64(0x04 || seed), the note signer key form with
        this signature type: a secret."""
        seed = self._private.private_bytes_raw()
        material = b64(bytes([ALG_COSIGNATURE_V1]) + seed)
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{material}"

    def cosign(self, checkpoint_text: str, timestamp: int) -> Signature:
        """The cosignature line of a checkpoint's note text at `timestamp`."""
        signature = self._private.sign(signed_message(checkpoint_text, timestamp))
        return Signature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)


def generate_cosigner(name: str) -> Cosigner:
    """A new witness key."""
    return Cosigner(name, Ed25519PrivateKey.generate().private_bytes_raw())


def parse_cosigner(text: str) -> Cosigner:
    """A cosigner from its private key text; the key ID must match. Errors never show it."""
    parts = text.split("+", 4)  # the base64 key may hold '+' itself
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise CosignatureError("not a cosigner key PRIVATE+KEY+<name>+<key ID>+<key>")
    name, hex_id, key64 = parts[2], parts[3], parts[4]
    try:
        material = base64.b64decode(key64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CosignatureError("cosigner key: the key is not base64") from None
    if len(material) != 33 or material[0] != ALG_COSIGNATURE_V1:
        raise CosignatureError("cosigner key: expected signature type 0x04 and a 32-byte seed")
    cosigner = Cosigner(name, material[1:])
    if f"{cosigner.key_id:08x}" != hex_id:
        raise CosignatureError("cosigner key: the key ID is not the one of this key")
    return cosigner


@dataclass(frozen=True)
class Cosigned:
    """A witness whose cosignature verified, and the time it gave."""

    name: str
    key_id: int
    timestamp: int


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses a verifier trusts (cosignature/v1 vkeys) and the quorum: how many of
    them must have cosigned a checkpoint. Quorum 0 asks for no witness."""

    witnesses: tuple[Verifier, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise CosignatureError(
                f"quorum must be from 0 to the {len(self.witnesses)} witness(es) given,"
                f" got {self.quorum}"
            )
        for witness in self.witnesses:
            if witness.key.alg != ALG_COSIGNATURE_V1:
                # A log's note signature must never count as a witness's cosignature.
                raise CosignatureError(
                    f"witness {witness.name!r:.80}: signature type 0x{witness.key.alg:02x},"
                    " expected 0x04 (cosignature/v1)"
                )
        keys = [(w.name, w.key_id) for w in self.witnesses]
        if len(set(keys)) != len(keys):
            raise CosignatureError("a witness is listed twice")
        publics = [w.key.public_key for w in self.witnesses]
        if len(set(publics)) != len(publics):
            # cosignature/v1 does not sign the cosigner's name: one key is one witness.
            raise CosignatureError("two witnesses share a public key")

    def counted(
        self, note: Note, max_timestamp: int | None = None
    ) -> tuple[tuple[Cosigned, ...], tuple[Cosigned, ...]]:
        """The trusted witnesses that cosigned `note`, once each, and those left out because
        their line is dated after `max_timestamp` (when given: a clock ahead, or a witness
        that would make every later check fail). Lines of unknown keys are ignored; one
        from a trusted witness that does not verify rejects the note."""
        by_key = {(w.name, w.key_id): w for w in self.witnesses}
        message = note.text.encode()
        found: dict[tuple[str, int], Cosigned] = {}
        late: dict[tuple[str, int], Cosigned] = {}
        for signature in note.signatures:
            witness = by_key.get((signature.name, signature.key_id))
            if witness is None:
                continue
            if not witness.verify(message, signature.signature):
                raise CosignatureError(
                    f"the cosignature of witness {signature.name!r:.80} does not verify"
                )
            key = (signature.name, signature.key_id)
            cosigned = Cosigned(signature.name, signature.key_id, timestamp_of(signature))
            if max_timestamp is not None and cosigned.timestamp > max_timestamp:
                late.setdefault(key, cosigned)
            else:
                found.setdefault(key, cosigned)
        return tuple(found.values()), tuple(c for k, c in late.items() if k not in found)

    def cosigned(self, note: Note, max_timestamp: int | None = None) -> tuple[Cosigned, ...]:
        """The trusted witnesses that cosigned `note` (see `counted`)."""
        return self.counted(note, max_timestamp)[0]

    def check(self, note: Note, max_timestamp: int | None = None) -> tuple[Cosigned, ...]:
        """`cosigned`, then CosignatureError unless at least `quorum` witnesses cosigned."""
        cosigned, late = self.counted(note, max_timestamp)
        if len(cosigned) < self.quorum:
            raise CosignatureError(
                f"{len(cosigned)} of the {len(self.witnesses)} trusted witnesses cosigned the"
                f" checkpoint, the policy needs {self.quorum}{left_out(late, max_timestamp)}"
            )
        return cosigned


def left_out(late: Sequence[Cosigned], max_timestamp: int | None) -> str:
    """The words naming the cosignatures `counted` left out for their date ('' if none)."""
    if not late:
        return ""
    names = ", ".join(f"{c.name!r:.80} at {c.timestamp}" for c in late)
    return f" (left out, dated after {max_timestamp}: {names})"


def shares_log_key(policy: WitnessPolicy, log_verifiers: Iterable[Verifier]) -> None:
    """CosignatureError if a witness of `policy` has a log key's public key."""
    log_keys = {v.key.public_key for v in log_verifiers}
    if any(w.key.public_key in log_keys for w in policy.witnesses):
        raise CosignatureError("a witness shares its public key with the log: it witnesses nothing")


def witness_policy(vkeys: Sequence[str], quorum: int) -> WitnessPolicy:
    """A policy from witness vkeys (type 0x04) and a quorum."""
    return WitnessPolicy(tuple(cosigner_verifier(v) for v in vkeys), quorum)


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A checkpoint the log signed and enough trusted witnesses cosigned."""

    checkpoint: Checkpoint
    opened: OpenedCheckpoint
    cosigned: tuple[Cosigned, ...]


def open_cosigned_checkpoint(
    data: bytes | str | Note,
    origin: str,
    log_verifiers: Iterable[Verifier],
    policy: WitnessPolicy,
    max_timestamp: int | None = None,
) -> CosignedCheckpoint:
    """The checkpoint of `origin`, signed by a known log key and cosigned by a quorum of
    the policy's witnesses; NoteError (CheckpointError, CosignatureError) says what fails."""
    log_verifiers = list(log_verifiers)
    shares_log_key(policy, log_verifiers)
    note = data if isinstance(data, Note) else parse_note(data)
    opened = open_checkpoint(note, origin, log_verifiers)
    cosigned = policy.check(note, max_timestamp)
    return CosignedCheckpoint(opened.checkpoint, opened, cosigned)
