"""Differential: seeded random changes to valid corpus documents, some to their values and
keys (a record field made null, too long, an object, a key added...) and some to their
bytes (a quote, a BOM, a lone surrogate, a float spliced in), go through the Python
verifiers and the page's core; both must conclude the same (verdict, check, field; for
evidence the verdict line and every check's detail, word for word; for licences the
commitment), offline and with the log identity pinned.

The corpus pins each rule down by hand; this finds the cases nobody wrote down."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.formats.identity import parse_identity
from tests.web.corpus import VECTORS
from tests.web.outcomes import evidence_outcome, licence_outcome
from tests.web.test_vectors import CORE, NODE_DRIVER

SEEDS = [
    ("evidence", "evidence/bundle.json"),
    ("evidence", "evidence/bundle-every-field.json"),
    ("evidence", "evidence/bundle-three.json"),
    ("evidence", "evidence/pack.json"),
    ("evidence", "evidence/pack-one.json"),
    ("licence", "licence/served.json"),
    ("licence", "licence/record.json"),
    ("licence", "licence/amend.json"),
    ("evidence", "evidence/bundle-note.json"),
    ("evidence", "evidence/pack-note.json"),
]
"""(kind, file): the valid documents changed."""

IDENTITY = "identity/log.json"
"""The identity pinned for a seed, unless NOTED names another."""
NOTED = {
    "evidence/bundle-note.json": "identity/log-witnessed.json",
    "evidence/pack-note.json": "identity/log-witnessed.json",
}
"""Seeds carrying a cosigned checkpoint note, pinned with the identity naming the note key
and the witnesses (their notes are also changed inside: a character, a line)."""

NOTE_CHARACTERS = ["A", "0", "/", "+", "=", " ", "\n", "\u2014", "🙂", "\x00"]

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**53 - 1,
    2**53,
    -(2**53),
    2**64 - 1,
    2**64,
    2**256,
    "",
    "x",
    "x" * 257,
    "🙂" * 256,
    "🙂" * 257,
    "\ud800",
    "\udc00x",
    [],
    {},
    [1],
    {"a": 1},
    "2026-02-29T00:00:00.000Z",
    "2024-02-29T00:00:00.000Z",
    "2026-06-01T00:00:00Z",
    "0x" + "AB" * 20,
    "0x" + "ab" * 20,
    "0x" + "ab" * 32,
    "ab" * 32,
    "AB" * 32,
    "ab" * 16,
    "grant",
    "revoke",
    "amend",
    "licence",
    "interaction",
    "model",
    "digest",
    "inference",
    "Inference",
    "a" * 1024,
    "a" * 1025,
    "\u0000",
    "\u2028",
    "2026-06-01",
    "２０２６-01-01",
    "fine-tune",
    "merge",
    "model-ledger/evidence/v1",
    "model-ledger/evidence-pack/v1",
    "acct-alice",
    31337,
    13,
    7,
]
KEYS = [
    "extra",
    "reason",
    "endpoint",
    "metadata",
    "client",
    "api_key_id",
    "asn",
    "user_agent",
    "models",
    "scope",
    "parents",
    "licence_id",
    "from",
    "to",
    "kind",
    "model",
    "account_ids",
    "registry",
    "chain_id",
    "contract",
    "a.b",
    "__proto__",
]
TOKENS = [
    b'"',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"0",
    b".",
    b"e",
    b"-",
    b"\x00",
    b"\xff",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b" ",
    b"\n",
    b'"\\ud800"',
    b"1.0",
    b"NaN",
    b'"x":1,',
    b",",
    b"null",
    b"\\u0000",
    b"\xef\xbb\xbf",
    b"9" * 20,
    b"\\ud83d\\ude42",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield from _paths(item, (*prefix, key))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def change_values(rng: random.Random, document: Any) -> Any:
    """One or two edits: a value replaced, a member removed, a member or item added."""
    for _ in range(rng.randint(1, 2)):
        path = rng.choice(list(_paths(document))[1:])
        parent, key = _at(document, path[:-1]), path[-1]
        target = _at(document, path)
        edit = rng.randrange(3)
        if edit == 0:
            parent[key] = json.loads(json.dumps(rng.choice(VALUES)))
        elif edit == 1:
            del parent[key]
        elif isinstance(target, dict):
            target[rng.choice(KEYS)] = rng.choice(VALUES)
        elif isinstance(target, list):
            target.append(
                json.loads(json.dumps(rng.choice(target)))
                if target and rng.random() < 0.5
                else rng.choice(VALUES)
            )
    return document


def change_bytes(rng: random.Random, data: bytes) -> bytes:
    """One to three edits: a byte replaced by a token, bytes cut out, a token or a slice
    inserted."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(data) + 1)
        edit = rng.randrange(4)
        if edit == 0:
            data = data[:i] + rng.choice(TOKENS) + data[i + 1 :]
        elif edit == 1:
            data = data[:i] + data[i + rng.randint(1, 4) :]
        elif edit == 2:
            data = data[:i] + rng.choice(TOKENS) + data[i:]
        else:
            j = rng.randrange(len(data) + 1)
            a, b = sorted((i, j))
            data = data[:b] + data[a:b][:40] + data[b:]
    return data


def change_note(rng: random.Random, note: str) -> str:
    """`note` with a character replaced, inserted or removed, or a line dropped, repeated or
    moved: a signature, the checkpoint's size or root, a key name made wrong."""
    lines = note.split("\n")
    choice = rng.randrange(5)
    i = rng.randrange(len(note))
    if choice == 0:
        return note[:i] + rng.choice(NOTE_CHARACTERS) + note[i + 1 :]
    if choice == 1:
        return note[:i] + rng.choice(NOTE_CHARACTERS) + note[i:]
    if choice == 2:
        return note[:i] + note[i + 1 :]
    k = rng.randrange(len(lines))
    if choice == 3:
        return "\n".join(lines[:k] + lines[k + 1 :])
    return "\n".join(lines[:k] + [lines[k], lines[k]] + lines[k + 1 :])


def mutants(count: int, seed: int) -> list[tuple[str, str, bytes]]:
    """(kind, pinned identity file, changed document)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        kind, path = rng.choice(SEEDS)
        identity = NOTED.get(path, IDENTITY)
        raw = (VECTORS / path).read_bytes()
        if path in NOTED and n % 2:
            document = json.loads(raw)
            document["checkpoint_note"] = change_note(rng, document["checkpoint_note"])
            data = json.dumps(document).encode("utf-8", "surrogatepass")
        elif n % 4:
            document = change_values(rng, json.loads(raw))
            data = json.dumps(document, ensure_ascii=rng.random() < 0.5).encode(
                "utf-8", "surrogatepass"
            )
        else:
            data = change_bytes(rng, raw)
        out.append((kind, identity, data))
    return out


def test_changed_documents_get_the_same_outcome_in_both() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    files = sorted({IDENTITY, *NOTED.values()})
    pinned = {file: parse_identity((VECTORS / file).read_bytes()) for file in files}
    cases = mutants(2400, seed=11)
    python = []
    for kind, identity, data in cases:
        verifier = licence_outcome if kind == "licence" else evidence_outcome
        python.append({"offline": verifier(data, None), "pinned": verifier(data, pinned[identity])})
    payload = {
        "identities": {
            file: base64.b64encode((VECTORS / file).read_bytes()).decode() for file in files
        },
        "vectors": [
            {"kind": kind, "identity": identity, "data": base64.b64encode(data).decode()}
            for kind, identity, data in cases
        ],
    }
    done = subprocess.run(
        [node, "-e", NODE_DRIVER, str(CORE)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    browser = json.loads(done.stdout)
    differ = [
        f"{kind} {data[:300]!r}\n  python  {p}\n  browser {b}"
        for (kind, _, data), p, b in zip(cases, python, browser, strict=True)
        if p != b
    ]
    assert not differ, f"{len(differ)} of {len(cases)} differ:\n" + "\n".join(differ[:5])
    # The changes reach every check, not only the JSON reader.
    reached = Counter(
        outcome["pinned"].get("check", outcome["pinned"]["verdict"]) for outcome in python
    )
    for check in (
        "bundle",
        "pack",
        "record",
        "records",
        "leaf hash",
        "inclusion",
        "licence",
        "mathematics only",
        "checkpoint note",
        "witnesses",
    ):
        assert reached[check] >= 10, reached
