"""Signed notes (c2sp.org/signed-note): text signed by one or more keys, and the keys.

    example.com/log42                     the note text: UTF-8, no control character but
    5                                     newline, ending in a newline
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
                                          one empty line, then one line per signature:
    — example.com/log42 <base64(4-byte key ID || signature)>

A key is known by the pair (key name, key ID), where key ID = SHA-256(name || 0x0A ||
signature type || public key)[:4], big-endian. `open_note` follows the spec to the letter:
signatures from unknown keys are ignored (even when they share a name or an ID with a
known key), a known key's signature that fails rejects the whole note, and a note no known
key signed is rejected.

Key texts, as Go's golang.org/x/mod/sumdb/note writes them:

    verifier key (vkey)   <name>+<hex key ID>+base64(signature type || public key)
    signer key            PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)

This module signs with Ed25519 (signature type 0x01) only; `parse_vkey` also reads the
cosigner keys of c2sp.org/tlog-cosignature (0x04), which `ledger.formats.cosignature`
verifies. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.core.errors import InputError

ALG_ED25519 = 0x01
"""Signature type of Ed25519 note signatures."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""

MAX_SIGNATURES = 100
"""Most signature lines read in one note (the spec: at least 16; Go's note package: 100)."""

MAX_NOTE_BYTES = 1 << 20
"""Largest note read (1 MiB: 100 post-quantum signatures fit easily)."""

MAX_NAME_BYTES = 1024
"""Longest key name read, in UTF-8 bytes."""

SIGNATURE_PREFIX = "\u2014 "
"""What starts a signature line: em dash, space."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_NOT_IN_TEXT = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")
_FIELD_PRIME = 2**255 - 19
SMALL_ORDER_KEYS = frozenset(
    bytes.fromhex(point)
    for point in (
        "0100000000000000000000000000000000000000000000000000000000000000",  # the identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    )
)
"""The canonical encodings of the eight Ed25519 points of small order ([8]A is the
identity), libsodium's blocklist: under such a key, one signature verifies for every
message, so nobody in particular holds it (the page's verify-documents.js lists the same)."""


class NoteError(InputError):
    """A note, a signature or a key that cannot be read, or a note that does not verify."""


def valid_name(name: str) -> bool:
    """Whether `name` may name a key: non-empty, no Unicode space, no plus."""
    return (
        0 < len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
        and not any(char.isspace() for char in name)
        and "+" not in name
        and _clean_text(name)
    )


def _clean_text(text: str) -> bool:
    """No surrogate and no control character below U+0020 but newline."""
    return _NOT_IN_TEXT.search(text) is None


def key_id(name: str, alg: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || alg || public key)[:4], as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 section 4), padded, in its one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not base64: {text!r:.80}") from None
    if base64.b64encode(data).decode() != text:
        raise NoteError(f"{what} is not canonical base64: {text!r:.80}")
    return data


def b64(data: bytes) -> str:
    """Standard padded base64."""
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class VerifierKey:
    """A public key as a vkey names it: key name, key ID, signature type, key material."""

    name: str
    key_id: int
    alg: int
    public_key: bytes

    def text(self) -> str:
        """The vkey: name+hex(key ID)+base64(alg || public key)."""
        return f"{self.name}+{self.key_id:08x}+{b64(bytes([self.alg]) + self.public_key)}"


def parse_vkey(text: str) -> VerifierKey:
    """A vkey of signature type 0x01 (note signer) or 0x04 (cosigner), Ed25519 keys of 32
    bytes; the key ID must be the one the name, type and key give."""
    name, sep1, rest = text.partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not (sep1 and sep2) or not valid_name(name):
        raise NoteError(f"not a verifier key <name>+<key ID>+<key>: {text!r:.120}")
    if not _KEY_ID_HEX.fullmatch(hex_id):
        raise NoteError(
            f"verifier key: the key ID must be 8 lowercase hex digits, got {hex_id!r:.20}"
        )
    material = b64decode_strict(key64, "verifier key")
    if len(material) != 33 or material[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError(
            "verifier key: expected signature type 0x01 or 0x04 and a 32-byte Ed25519 key,"
            f" got {len(material)} bytes starting {material[:1].hex() or 'with nothing'}"
        )
    alg, public = material[0], material[1:]
    if key_id(name, alg, public) != int(hex_id, 16):
        raise NoteError(f"verifier key: key ID {hex_id} is not the one of {name!r:.80}'s key")
    weak = weak_key_problem(public)
    if weak is not None:
        raise NoteError(f"verifier key {name!r:.80}: {weak}")
    return VerifierKey(name, int(hex_id, 16), alg, public)


def weak_key_problem(public: bytes) -> str | None:
    """Why the 32 bytes `public` are not a key a signature can be trusted under, or None:
    a non-canonical encoding (y >= p, or x = 0 with its sign bit set: another spelling of
    a point, which byte comparison would take for another key), or a point of small
    order, under which anyone can make a signature that verifies for every message."""
    y = int.from_bytes(public, "little") & ((1 << 255) - 1)
    if y >= _FIELD_PRIME or (public[31] >> 7 and y in (1, _FIELD_PRIME - 1)):
        return "its Ed25519 key is not the canonical encoding of a point"
    if public in SMALL_ORDER_KEYS:
        return (
            "its Ed25519 key is a point of small order, under which one signature verifies"
            " for every message"
        )
    return None


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the key ID and the signature bytes after it."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """The line, newline included."""
        encoded = b64(self.key_id.to_bytes(4, "big") + self.signature)
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """A note as read: its text (final newline included) and every signature line, in
    order. Nothing here is verified: see `open_note`."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        """The signed note: text, an empty line, the signature lines."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()


class Verifier:
    """Verifies the signatures of one key, the one (name, key ID) names."""

    def __init__(self, key: VerifierKey, verify: Callable[[bytes, bytes], bool]) -> None:
        self.key = key
        self._verify = verify

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> int:
        return self.key.key_id

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` (the bytes after the key ID) signs `message`."""
        return self._verify(message, signature)


def _ed25519_verify(public: Ed25519PublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return verify


def ed25519_public_key(public: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 bytes (RFC 8032)."""
    try:
        return Ed25519PublicKey.from_public_bytes(public)
    except ValueError as error:
        raise NoteError(f"not an Ed25519 public key: {error}") from None


def note_verifier(vkey: str | VerifierKey) -> Verifier:
    """The verifier of Ed25519 note signatures (type 0x01) a vkey names."""
    key = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    if key.alg != ALG_ED25519:
        raise NoteError(
            f"verifier key {key.name!r:.80}: signature type 0x{key.alg:02x}, expected 0x01"
            " (Ed25519 note signatures)"
        )
    return Verifier(key, _ed25519_verify(ed25519_public_key(key.public_key)))


class Signer:
    """An Ed25519 note signer (signature type 0x01). Its seed never leaves it but
    through `private_text`, and its repr shows only the public key."""

    def __init__(self, name: str, seed: bytes) -> None:
        if not valid_name(name):
            raise NoteError(f"not a valid key name (non-empty, no spaces, no '+'): {name!r:.80}")
        if len(seed) != 32:
            raise NoteError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        self.name = name
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, ALG_ED25519, self.public_key)

    def __repr__(self) -> str:
        return f"Signer({self.vkey()!r})"

    def vkey(self) -> str:
        """The verifier key of this signer."""
        return VerifierKey(self.name, self.key_id, ALG_ED25519, self.public_key).text()

    def verifier(self) -> Verifier:
        """A verifier of this signer's signatures."""
        return note_verifier(self.vkey())

    def private_text(self) -> str:
        """PRIVATE+KEY+name+hex(key ID)+base64(0x01 || seed): a secret."""
        seed = self._private.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{b64(bytes([ALG_ED25519]) + seed)}"

    def sign(self, message: bytes) -> Signature:
        """The signature line of `message` by this key."""
        return Signature(self.name, self.key_id, self._private.sign(message))


def generate_signer(name: str) -> Signer:
    """A new Ed25519 note signer with a random key."""
    return Signer(name, Ed25519PrivateKey.generate().private_bytes_raw())


def parse_signer(text: str) -> Signer:
    """A signer from PRIVATE+KEY+name+hex(key ID)+base64(0x01 || seed); the key ID must be
    the one the public key gives. The error never shows the key."""
    if not text.startswith(_PRIVATE_PREFIX):
        raise NoteError("not a signer key: it must start with PRIVATE+KEY+")
    name, sep1, rest = text[len(_PRIVATE_PREFIX) :].partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not (sep1 and sep2) or not valid_name(name) or not _KEY_ID_HEX.fullmatch(hex_id):
        raise NoteError("not a signer key PRIVATE+KEY+<name>+<key ID>+<key>")
    try:
        material = base64.b64decode(key64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError("signer key: the key is not base64") from None
    if len(material) != 33 or material[0] != ALG_ED25519:
        raise NoteError("signer key: expected signature type 0x01 and a 32-byte Ed25519 seed")
    signer = Signer(name, material[1:])
    if signer.key_id != int(hex_id, 16):
        raise NoteError(f"signer key: key ID {hex_id} is not the one of this key")
    return signer


def check_text(text: str) -> None:
    """A note text: non-empty, ends in a newline, no control character but newline."""
    if not text.endswith("\n"):
        raise NoteError("a note text must end with a newline")
    if not _clean_text(text):
        raise NoteError("a note text must not hold control characters other than newline")


def sign_note(text: str, signers: Sequence[Signer], existing: Iterable[Signature] = ()) -> bytes:
    """The signed note of `text`: the `existing` signatures first, then one per signer."""
    check_text(text)
    if not signers and not existing:
        raise NoteError("a signed note needs at least one signature")
    message = text.encode()
    signatures = (*existing, *(signer.sign(message) for signer in signers))
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, signatures).encode()


def parse_note(data: bytes | str) -> Note:
    """A signed note's text and signature lines, checked for form only (see `open_note`)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes, got {len(raw)}")
    try:
        message = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NoteError(f"a note must be UTF-8: {error.reason} at byte {error.start}") from None
    if not _clean_text(message):
        raise NoteError("a note must not hold control characters other than newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a note needs an empty line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("a note must end with signature lines, each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has at most {MAX_SIGNATURES} signatures, got {len(lines)}")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"a signature line starts with an em dash and a space: {line!r:.80}")
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not valid_name(name):
        raise NoteError(f"a signature line needs a valid key name and a signature: {line!r:.80}")
    raw = b64decode_strict(encoded, f"the signature of {name!r:.80}")
    if len(raw) < 5:
        raise NoteError(f"the signature of {name!r:.80} is {len(raw)} bytes, less than 5")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one signature from a known key verified. `verified` lists the
    signatures that verified, `unverified` those of keys not known (not checked)."""

    note: Note
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]

    @property
    def text(self) -> str:
        return self.note.text


def open_note(data: bytes | str | Note, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Read a signed note and verify it as c2sp.org/signed-note says: unknown keys'
    signatures are ignored, a known key's signature that fails rejects the note, and so
    does a note no known key signed. NoteError says which."""
    note = data if isinstance(data, Note) else parse_note(data)
    known: dict[tuple[str, int], Verifier] = {}
    for each in verifiers:
        known[(each.name, each.key_id)] = each
    message = note.text.encode()
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[Signature] = set()
    for signature in note.signatures:
        if signature in seen:
            continue  # the same line twice: checked once, listed once (as Go's note does)
        seen.add(signature)
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            unverified.append(signature)
        elif verifier.verify(message, signature.signature):
            verified.append(signature)
        else:
            raise NoteError(
                f"the signature of {signature.name!r:.80} (key ID {signature.key_id:08x})"
                " does not verify"
            )
    if not verified:
        raise NoteError(
            "no signature from a known key: signed by "
            + (", ".join(sorted({f"{s.name}+{s.key_id:08x}" for s in note.signatures}))[:400])
        )
    return OpenedNote(note, tuple(verified), tuple(unverified))
