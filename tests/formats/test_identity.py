"""The log identity document: read strictly, written by one serialiser, and fingerprinted
the way the /verify page fingerprints it."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785

from ledger.formats.identity import IDENTITY_FORMAT, IdentityError, LogIdentity, parse_identity

IDENTITY = LogIdentity(
    "model-ledger", 31337, b"\x5f" * 20, b"\x8b" * 32, b"\x9f" * 20, b"\xc4" * 20, 1
)


def test_round_trip_and_optional_fields_only_when_set() -> None:
    document = IDENTITY.as_json()
    assert (
        document["format"] == IDENTITY_FORMAT
        and "rpc_url" not in document
        and "explorer" not in document
    )
    assert parse_identity(json.dumps(document)) == IDENTITY
    with_urls = LogIdentity(
        **{**IDENTITY.__dict__, "rpc_url": "http://127.0.0.1:8545", "explorer": "https://x.example"}
    )
    assert parse_identity(json.dumps(with_urls.as_json())) == with_urls


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "model-ledger/log/v2"}, "format"),
        ({"log_anchor": "0x" + "5F" * 20}, "log_anchor"),
        ({"chain_id": True}, "chain_id"),
        ({"extra": 1}, "extra"),
        ({"rpc_url": "javascript:alert(1)"}, "rpc_url"),
        ({"licence_registry": "0x12"}, "licence_registry"),
    ],
)
def test_a_bad_field_is_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identity(json.dumps(IDENTITY.as_json() | change))
    assert caught.value.field == field


def test_fingerprint_is_the_pages() -> None:
    """The first 8 bytes of SHA-256 of the RFC 8785 form, in groups of 4 hex digits (as
    tests/web/test_link_swap.py computes what the page shows)."""
    digest = hashlib.sha256(rfc8785.dumps(IDENTITY.as_json())).hexdigest()
    assert IDENTITY.fingerprint() == " ".join(digest[i : i + 4] for i in range(0, 16, 4))
    other = LogIdentity(**{**IDENTITY.__dict__, "log_signer": b"\xc5" * 20})
    assert other.fingerprint() != IDENTITY.fingerprint()


def test_note_vkey_is_optional_and_checked() -> None:
    """The log's checkpoint note key (c2sp.org/signed-note vkey): absent in older
    identities, which read and fingerprint as before; when present, a valid Ed25519 vkey."""
    from ledger.formats.cosignature import Cosigner
    from ledger.formats.note import Signer

    assert "note_vkey" not in IDENTITY.as_json() and IDENTITY.origin is None
    vkey = Signer("ledger.example/model-ledger", bytes(32)).vkey()
    with_key = LogIdentity(**{**IDENTITY.__dict__, "note_vkey": vkey})
    assert with_key.as_json()["note_vkey"] == vkey
    assert parse_identity(json.dumps(with_key.as_json())) == with_key
    assert with_key.origin == "ledger.example/model-ledger"
    assert with_key.fingerprint() != IDENTITY.fingerprint()
    witness_key = Cosigner("ledger.example/model-ledger", bytes(32)).vkey()
    wrong_id = vkey.replace(vkey.split("+")[1], "00000000")
    for bad in (witness_key, wrong_id, "ledger.example", 5, "x" * 3000):
        with pytest.raises(IdentityError) as caught:
            parse_identity(json.dumps(IDENTITY.as_json() | {"note_vkey": bad}))
        assert caught.value.field == "note_vkey"


def test_witnesses_and_their_quorum_go_together_and_are_checked() -> None:
    from ledger.formats.cosignature import Cosigner
    from ledger.formats.note import Signer

    vkeys = [Cosigner(f"w{i}.example/w", bytes([60 + i]) * 32).vkey() for i in range(3)]
    assert "witnesses" not in IDENTITY.as_json() and IDENTITY.witness_policy().quorum == 0
    note_key = Signer("log.example/l", bytes([1]) * 32).vkey()  # type 0x01: no witness key
    listed = LogIdentity(
        **{
            **IDENTITY.__dict__,
            "note_vkey": note_key,
            "witnesses": tuple(vkeys),
            "witness_quorum": 2,
        }
    )
    document = listed.as_json()
    assert document["witnesses"] == vkeys and document["witness_quorum"] == 2
    parsed = parse_identity(json.dumps(document))
    assert parsed == listed and parsed.witness_policy().quorum == 2
    assert parsed.fingerprint() != IDENTITY.fingerprint()
    without_note_key = {k: v for k, v in document.items() if k != "note_vkey"}
    with pytest.raises(IdentityError, match="go with the log's note_vkey") as caught:
        parse_identity(json.dumps(without_note_key))
    assert caught.value.field == "witnesses"
    for change, field in (
        ({"witnesses": vkeys}, "witness_quorum"),
        ({"witness_quorum": 1}, "witnesses"),
        ({"witnesses": [], "witness_quorum": 1}, "witnesses"),
        ({"witnesses": vkeys, "witness_quorum": 4}, "witness_quorum"),
        ({"witnesses": vkeys, "witness_quorum": 0}, "witness_quorum"),
        ({"witnesses": [vkeys[0], vkeys[0]], "witness_quorum": 1}, "witnesses"),
        ({"witnesses": [note_key], "witness_quorum": 1}, "witnesses"),
        ({"witnesses": ["not a key"], "witness_quorum": 1}, "witnesses"),
    ):
        with pytest.raises(IdentityError) as caught:
            parse_identity(json.dumps(IDENTITY.as_json() | change))
        assert caught.value.field == field, change
