"""Checkpoints (c2sp.org/tlog-checkpoint): one canonical text, a strict reader, the log's
signature and origin checked, and real checkpoints of Go's checksum database
(sum.golang.org) verified with its published key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ledger.core.merkle import EMPTY_ROOT
from ledger.formats.note import NoteError, Signer, note_verifier, open_note, parse_note
from ledger.formats.tlog_checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    log_origin,
    open_checkpoint,
    parse_checkpoint,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "c2sp"
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
"""The checksum database's key as the go command embeds it
(cmd/go/internal/modfetch/key.go)."""

REKOR_VKEY = "log2025-1.rekor.sigstore.dev+cf119915+AbfK5adZJxsI323FwGD2AJJ9F4i89cfDuLdGJBIYntuO"
"""Sigstore's Rekor v2 shard, from Sigstore's trusted_root.json."""

PUBLIC_HEADS = [
    *[(p, "go.sum database tree", SUMDB_VKEY) for p in sorted(VECTORS.glob("sumdb-*.note"))],
    *[(p, "log2025-1.rekor.sigstore.dev", REKOR_VKEY) for p in VECTORS.glob("rekor-v2-*.note")],
]

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
ROOT = bytes(range(32))


def test_text_is_canonical_and_round_trips() -> None:
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT)
    text = checkpoint.text()
    assert text == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint(text) == checkpoint
    with_ext = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert parse_checkpoint(with_ext.text()) == with_ext
    assert with_ext.text().endswith("\next one\next two\n")


def test_sign_then_open() -> None:
    data = Checkpoint(ORIGIN, 5, ROOT).sign([LOG])
    opened = open_checkpoint(data, ORIGIN, [LOG.verifier()])
    assert opened.checkpoint == Checkpoint(ORIGIN, 5, ROOT)
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(data, "ledger.example/other", [LOG.verifier()])
    with pytest.raises(NoteError, match="known key"):
        open_checkpoint(data, ORIGIN, [Signer(ORIGIN, bytes(32)).verifier()])


ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n5\n{ROOT64}", "newline"),
        (f"{ORIGIN}\n5\n", "got 2"),
        (f"\n5\n{ROOT64}\n", "origin line is empty"),
        (f"{ORIGIN}\n05\n{ROOT64}\n", "leading zeroes"),
        (f"{ORIGIN}\n+5\n{ROOT64}\n", "decimal"),
        (f"{ORIGIN}\n 5\n{ROOT64}\n", "decimal"),
        (f"{ORIGIN}\n-1\n{ROOT64}\n", "decimal"),
        (f"{ORIGIN}\n{MAX_TREE_SIZE + 1}\n{ROOT64}\n", "decimal"),
        (f"{ORIGIN}\n\u0665\n{ROOT64}\n", "decimal"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "32 bytes"),
        (f"{ORIGIN}\n5\n{ROOT64.rstrip('=')}\n", "base64"),
        (f"{ORIGIN}\n5\n{ROOT64[:-2]}B=\n", "canonical"),
        (f"{ORIGIN}\n5\n{ROOT64}\n\n", "extension lines"),
        (f"{ORIGIN}\n5\n{ROOT64}\next\n\n", "extension lines"),
    ],
)
def test_malformed_texts_are_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


def test_the_largest_size_is_read() -> None:
    text = f"{ORIGIN}\n{MAX_TREE_SIZE}\n{ROOT64}\n"
    assert parse_checkpoint(text).size == MAX_TREE_SIZE


@pytest.mark.parametrize(
    ("path", "origin", "vkey"), PUBLIC_HEADS, ids=[path.name for path, _, _ in PUBLIC_HEADS]
)
def test_checkpoints_of_public_logs_verify(path: Path, origin: str, vkey: str) -> None:
    """Signed tree heads sum.golang.org and Sigstore's Rekor v2 published
    (tests/vectors/c2sp/README.md)."""
    data = path.read_bytes()
    opened = open_checkpoint(data, origin, [note_verifier(vkey)])
    assert str(opened.checkpoint.size) in path.name
    assert opened.checkpoint.text() == parse_note(data).text
    note = parse_note(data)
    forged = note.text.replace(str(opened.checkpoint.size), str(opened.checkpoint.size + 1))
    with pytest.raises(NoteError, match="does not verify"):
        open_note(data.replace(note.text.encode(), forged.encode()), [note_verifier(vkey)])


def test_log_origin() -> None:
    assert log_origin("ledger.example.com", "model-ledger") == "ledger.example.com/model-ledger"
    assert log_origin("ledger.example.com:8443/logs", "prod") == "ledger.example.com:8443/logs/prod"
    for host, name in [
        ("Ledger.Example", "x"),
        ("https://ledger.example", "x"),
        ("ledger.example", "my log"),
        ("ledger.example", "a+b"),
        ("ledger.example", ""),
        ("", "x"),
    ]:
        with pytest.raises(CheckpointError):
            log_origin(host, name)


def test_the_docs_example_verifies() -> None:
    """docs/c2sp.md shows a real cosigned checkpoint, with its keys."""
    from ledger.core.merkle import hash_leaf, root_hash
    from ledger.formats.cosignature import witness_policy

    doc = (Path(__file__).parents[2] / "docs" / "c2sp.md").read_text()
    start = doc.index("```\nledger.example.com/model-ledger\n1000\n") + 4
    note = doc[start : doc.index("```", start)]
    vkey = "ledger.example.com/model-ledger+e52ab109+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    witness = "witness.example/w1+567cde09+BG56HN0psLeP0Tr0xVmP7/TvKpcWbjym8uT7/M2AUFvx"
    assert vkey in doc and witness in doc
    opened = open_checkpoint(note, "ledger.example.com/model-ledger", [note_verifier(vkey)])
    assert opened.checkpoint.root == root_hash([hash_leaf(b"record %d" % i) for i in range(1000)])
    assert witness_policy([witness], 1).check(opened.note)[0].timestamp == 1_700_000_000
