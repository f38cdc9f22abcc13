"""Signed notes (c2sp.org/signed-note): the spec's own example, the verification rules
(unknown keys ignored, a failing known key rejects, no known key rejects) and every form
the reader refuses. tests/interop holds the same checks against Go's implementation."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.formats.note import (
    ALG_ED25519,
    MAX_SIGNATURES,
    Note,
    NoteError,
    Signature,
    Signer,
    VerifierKey,
    generate_signer,
    key_id,
    note_verifier,
    open_note,
    parse_note,
    parse_signer,
    parse_vkey,
    sign_note,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "c2sp"
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SIGNER = Signer("log.example/one", bytes(range(32)))
OTHER = Signer("log.example/two", bytes(range(1, 33)))


def test_the_specs_example_verifies() -> None:
    """The verifier key and signed note of c2sp.org/signed-note's Example section."""
    data = (VECTORS / "signed-note-example.note").read_bytes()
    opened = open_note(data, [note_verifier(SPEC_VKEY)])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s in opened.verified] == ["example.com/foo"]
    assert opened.note.encode() == data
    with pytest.raises(NoteError, match="does not verify"):
        open_note(data.replace(b"example message", b"example massage"), [note_verifier(SPEC_VKEY)])


def test_key_id_is_sha256_of_name_newline_type_key() -> None:
    key = parse_vkey(SPEC_VKEY)
    digest = hashlib.sha256(b"example.com/foo\n\x01" + key.public_key).digest()
    assert key.key_id == int.from_bytes(digest[:4], "big") == 0x530D903A
    assert key.text() == SPEC_VKEY
    assert key_id("example.com/foo", ALG_ED25519, key.public_key) == 0x530D903A


def test_sign_then_open_and_the_bytes_are_ed25519_over_the_text() -> None:
    text = "line one\n\nline three after an empty line\n"
    data = sign_note(text, [SIGNER, OTHER])
    note = parse_note(data)
    assert note.text == text and [s.name for s in note.signatures] == [SIGNER.name, OTHER.name]
    # Checked with the raw key, not through the module's verifier.
    Ed25519PublicKey.from_public_bytes(SIGNER.public_key).verify(
        note.signatures[0].signature, text.encode()
    )
    line = data.decode().splitlines()[-2]
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == SIGNER.key_id.to_bytes(4, "big") and len(raw) == 68
    opened = open_note(data, [SIGNER.verifier(), OTHER.verifier()])
    assert len(opened.verified) == 2 and not opened.unverified


def test_keys_round_trip_and_the_private_key_shows_nowhere() -> None:
    assert parse_signer(SIGNER.private_text()).vkey() == SIGNER.vkey()
    assert parse_vkey(SIGNER.vkey()) == VerifierKey(
        SIGNER.name, SIGNER.key_id, ALG_ED25519, SIGNER.public_key
    )
    secret = SIGNER.private_text().split("+", 4)[4]
    assert secret not in repr(SIGNER) and secret not in SIGNER.vkey()
    wrong_id = SIGNER.private_text().replace(f"+{SIGNER.key_id:08x}+", "+00000000+")
    with pytest.raises(NoteError) as caught:
        parse_signer(wrong_id)
    assert secret not in str(caught.value)
    assert generate_signer("a.example/x").vkey() != generate_signer("a.example/x").vkey()


def test_unknown_keys_are_ignored_even_sharing_a_name_or_an_id() -> None:
    data = sign_note("hello\n", [SIGNER, OTHER])
    same_name = Signer(SIGNER.name, bytes(range(2, 34))).verifier()
    opened = open_note(data, [SIGNER.verifier(), same_name])
    assert [s.name for s in opened.verified] == [SIGNER.name]
    assert [s.name for s in opened.unverified] == [OTHER.name]
    # A key with the ID of SIGNER but another name is another key: ignored.
    same_id = VerifierKey("log.example/three", SIGNER.key_id, ALG_ED25519, OTHER.public_key)
    from ledger.formats.note import Verifier

    impostor = Verifier(same_id, lambda message, signature: False)
    assert len(open_note(data, [SIGNER.verifier(), impostor]).verified) == 1
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(data, [same_name])


def test_a_known_keys_bad_signature_rejects_the_whole_note() -> None:
    note = parse_note(sign_note("hello\n", [SIGNER, OTHER]))
    bad = Signature(OTHER.name, OTHER.key_id, bytes(64))
    tampered = Note(note.text, (note.signatures[0], bad)).encode()
    with pytest.raises(NoteError, match="log.example/two"):
        open_note(tampered, [SIGNER.verifier(), OTHER.verifier()])
    assert len(open_note(tampered, [SIGNER.verifier()]).verified) == 1


GOOD = "hello\n\n\u2014 log.example/one " + base64.b64encode(bytes(68)).decode() + "\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xffhello\n\n" + GOOD.encode()[7:], "UTF-8"),
        (GOOD.replace("hello", "hel\tlo").encode(), "control characters"),
        (GOOD.replace("hello", "hel\rlo").encode(), "control characters"),
        ("hello\n\u2014 x AAAAAAA=\n".encode(), "empty line"),
        (GOOD.encode()[:-1], "signature lines"),
        (GOOD.replace("\u2014 ", "- ").encode(), "em dash"),
        (GOOD.replace("log.example/one", "log example").encode(), "not base64"),
        (GOOD.replace("log.example/one", "log\u00a0example").encode(), "key name"),
        (GOOD.replace("log.example/one", "log+example").encode(), "key name"),
        (GOOD.replace("\u2014 log.example/one ", "\u2014 ").encode(), "key name"),
        (GOOD.replace("AAAA=\n", "AAA=\n").encode(), "base64"),
        (GOOD.replace("AAAA=\n", "AAAB=\n").encode(), "canonical"),
        ("hello\n\n\u2014 a.example AAAAAA==\n".encode(), "less than 5"),
        (("hello\n\n" + "\u2014 a.example AAAAAAA=\n" * (MAX_SIGNATURES + 1)).encode(), "at most"),
        (b"x" * (2 << 20), "at most"),
    ],
)
def test_malformed_notes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_note(data)


def test_at_least_sixteen_signatures_are_read() -> None:
    signers = [Signer(f"w{i}.example", bytes([i]) * 32) for i in range(20)]
    data = sign_note("many\n", signers)
    assert len(open_note(data, [s.verifier() for s in signers]).verified) == 20


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903a",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example .com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        note_verifier(vkey)


def test_signing_refuses_bad_text() -> None:
    for text in ("no newline", "tab\there\n"):
        with pytest.raises(NoteError):
            sign_note(text, [SIGNER])
    with pytest.raises(NoteError):
        sign_note("x\n", [])
    with pytest.raises(NoteError):
        Signer("has space", bytes(32))


def test_a_repeated_line_is_checked_and_listed_once() -> None:
    note = parse_note(sign_note("hello\n", [SIGNER]))
    twice = Note(note.text, note.signatures * 3).encode()
    opened = open_note(twice, [SIGNER.verifier()])
    assert len(opened.verified) == 1
