"""The page's identity reader (ledger/web/verify-documents.js) and identity.py agree on the
optional `note_vkey` (the log's C2SP checkpoint key): the same identities accepted, the
same refused (naming note_vkey), and the same fingerprint, under Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.cosignature import Cosigner
from ledger.formats.identity import IdentityError, LogIdentity, parse_identity
from ledger.formats.note import ALG_ED25519, Signer, VerifierKey, key_id

CORE = Path(__file__).parents[2] / "ledger" / "web" / "verify-core.js"
IDENTITY = LogIdentity(
    "model-ledger", 31337, b"\x5f" * 20, b"\x8b" * 32, b"\x9f" * 20, b"\xc4" * 20, 1
)
GOOD = Signer("ledger.example/model-ledger", bytes(32)).vkey()
WEAK = [
    VerifierKey(n, key_id(n, ALG_ED25519, public), ALG_ED25519, public).text()
    for n, public in (
        ("ledger.example/model-ledger", bytes([1]) + bytes(31)),  # the identity point
        ("ledger.example/model-ledger", bytes([1]) + bytes(30) + bytes([0x80])),  # x = 0, sign 1
        ("ledger.example/log", (2**255 - 18).to_bytes(32, "little")),  # y = p + 1
        (
            "ledger.example/log",
            bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        ),
    )
]
"""Weak note keys: under them anyone makes a signature that verifies for every message."""

DRIVER = """
const core = require(process.argv[1]);
const docs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = docs.map((text) => {
  try {
    const identity = core.parseIdentity(new TextEncoder().encode(text));
    return { verdict: 'accepted', fingerprint: identity.fingerprint() };
  } catch (error) {
    if (!(error instanceof core.IdentityError)) throw error;
    return { verdict: 'refused', field: error.field, message: error.message };
  }
});
process.stdout.write(JSON.stringify(out));
"""


def python_outcome(text: str) -> dict[str, Any]:
    try:
        identity = parse_identity(text)
    except IdentityError as error:
        return {"verdict": "refused", "field": error.field, "message": str(error)}
    import hashlib

    import rfc8785

    digest = "0x" + hashlib.sha256(rfc8785.dumps(identity.as_json())).hexdigest()
    return {"verdict": "accepted", "fingerprint": digest}


def test_the_page_reads_note_vkey_as_python_does() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    name, key_id, key = GOOD.split("+")
    values: list[object] = [
        GOOD,
        Signer("a\u00e9.example/log", bytes(32)).vkey(),
        Cosigner("ledger.example/model-ledger", bytes(32)).vkey(),
        f"{name}+00000000+{key}",
        f"{name}+{key_id.upper()}+{key}",
        f"{name}+{key_id}+{key[:-1]}",
        f"{name} x+{key_id}+{key}",
        f"{name}\u00a0x+{key_id}+{key}",
        "ledger.example",
        5,
        None,
        *WEAK,
    ]
    docs = [json.dumps(IDENTITY.as_json() | {"note_vkey": value}) for value in values]
    docs.append(json.dumps(IDENTITY.as_json()))
    # Two unknown fields: both name U+FFFD first (Python's sorted(), by code point).
    docs.append(json.dumps(IDENTITY.as_json() | {"\U0001f600": 1, "\ufffd": 2}))
    done = subprocess.run(
        [node, "-e", DRIVER, str(CORE)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    python = [python_outcome(doc) for doc in docs]
    weak = [docs.index(d) for d in docs if any(json.dumps(w) in d for w in WEAK)]
    assert len(weak) == len(WEAK)
    for at in weak:  # a weak key is refused in the same words
        assert page[at] == python[at] and "note_vkey: verifier key " in python[at]["message"]
    assert {python[at]["message"].split(": ")[-1] for at in weak} == {
        (
            "its Ed25519 key is a point of small order, under which one signature verifies"
            " for every message"
        ),
        "its Ed25519 key is not the canonical encoding of a point",
    }
    for each in page + python:
        each.pop("message", None)  # other refusals are worded apart (the field is equal)
    assert page == python
    assert [p["verdict"] for p in python].count("accepted") == 4
