"""Checkpoints as C2SP signed notes, on real SQLite and PostgreSQL: the sequencer keeps
each checkpoint's note, signed by the note key; the note key is created 0600 in the
PRIVATE+KEY form and never shown; the tile and entry-bundle reads behind /tile."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.core import merkle
from ledger.core.merkle.tiles import TILE_WIDTH
from ledger.core.records import Entry, parse_object
from ledger.formats.note import Signer, generate_signer, note_verifier, parse_signer
from ledger.formats.tlog_checkpoint import open_checkpoint
from ledger.service.sequencer import seal
from ledger.service.signer import (
    NOTE_KEY_ENV,
    NOTE_KEY_FILE,
    LogKeyError,
    LogSigner,
    checkpoint_note,
    load_note_key,
)
from ledger.store import tlog
from ledger.store.repository import Store
from ledger.store.schema import checkpoints
from ledger.workload import interaction

ORIGIN = "ledger.example.com/model-ledger"
NOTE_KEY = Signer(ORIGIN, bytes(range(32)))


def make_entries(count: int, start: int = 0) -> list[Entry]:
    return [parse_object(interaction(i, seed=14)) for i in range(start, start + count)]


def test_every_sealed_checkpoint_keeps_its_signed_note(store: Store) -> None:
    batch = make_entries(600)
    store.add_entries([batch])
    seal(store, max_batch=250, note=NOTE_KEY)
    leaves = [entry.leaf_hash for entry in batch]
    with store.read() as conn:
        rows = list(conn.execute(select(checkpoints).order_by(checkpoints.c.tree_size)))
    assert [row.tree_size for row in rows] == [250, 500, 600]
    for row in rows:
        opened = open_checkpoint(row.note, ORIGIN, [note_verifier(NOTE_KEY.vkey())])
        assert opened.checkpoint.size == row.tree_size
        assert opened.checkpoint.root == merkle.root_hash(leaves[: row.tree_size])
        assert row.note == checkpoint_note(NOTE_KEY, row.tree_size, bytes(row.root))
    latest = tlog.latest(store)
    assert latest is not None and latest.tree_size == 600 and latest.note == rows[-1].note


def test_a_checkpoint_sealed_without_the_key_gets_its_note_once(store: Store) -> None:
    store.add_entries([make_entries(3)])
    state = seal(store)  # no note key: as `ledger seal` does
    latest = tlog.latest(store)
    assert latest is not None and latest.note is None
    note = checkpoint_note(NOTE_KEY, state.tree_size, state.root)
    assert note is not None
    tlog.keep_note(store, state.tree_size, state.root, note)
    other = checkpoint_note(generate_signer(ORIGIN), state.tree_size, state.root)
    assert other is not None
    tlog.keep_note(store, state.tree_size, state.root, other)  # a kept note never changes
    assert tlog.latest(store) == tlog.NotedCheckpoint(state.tree_size, state.root, note)


def test_tiles_and_entry_records_by_leaf_index(store: Store) -> None:
    batch = make_entries(2 * TILE_WIDTH + 10)
    store.add_entries([batch[:100]])
    seal(store)
    store.add_entries([batch[100:300]])
    seal(store, max_batch=64)  # several runs: bundles cross their edges
    store.add_entries([batch[300:]])
    seal(store)
    leaves = [entry.leaf_hash for entry in batch]
    tile0 = tlog.tile(store, 0, 0)
    assert tile0 == b"".join(leaves[:TILE_WIDTH])
    assert tlog.tile(store, 0, 2) == b"".join(leaves[2 * TILE_WIDTH :])  # partial: 10 wide
    assert tlog.tile(store, 1, 0) == merkle.root_hash(leaves[:256]) + merkle.root_hash(
        leaves[256:512]
    )
    assert tlog.tile(store, 0, 3) is None
    for first, count in ((0, 256), (256, 256), (60, 100), (510, 2), (512, 10)):
        records = tlog.records(store, first, count)
        assert records == [entry.canonical for entry in batch[first : first + count]]
    assert tlog.records(store, 512, 256) == [entry.canonical for entry in batch[512:]]
    assert tlog.records(store, 768, 1) == []


def test_the_note_key_is_created_once_0600_and_reloaded(tmp_path: Path) -> None:
    created = load_note_key(tmp_path, ORIGIN, {})
    path = tmp_path / NOTE_KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(f"PRIVATE+KEY+{ORIGIN}+") and text.endswith("\n")
    assert parse_signer(text.strip()).vkey() == created.vkey()
    # Loaded again: the same key, whatever origin is asked now unless the host is pinned.
    assert load_note_key(tmp_path, "other.example/log", {}).vkey() == created.vkey()
    with pytest.raises(LogKeyError, match="names the origin") as caught:
        load_note_key(tmp_path, "other.example/log", {}, pinned=True)
    # PRIVATE+KEY+<name>+<hash>+<base64>: the base64 itself may hold "+"
    assert text.strip().split("+", 4)[4] not in str(caught.value)
    assert load_note_key(tmp_path, ORIGIN, {}, pinned=True).vkey() == created.vkey()


def test_the_note_key_from_the_environment(tmp_path: Path) -> None:
    env = {NOTE_KEY_ENV: NOTE_KEY.private_text()}
    assert load_note_key(tmp_path, "x.example/y", env).vkey() == NOTE_KEY.vkey()
    assert not (tmp_path / NOTE_KEY_FILE).exists()
    secret = NOTE_KEY.private_text().split("+", 4)[4]
    broken = NOTE_KEY.private_text()[:-4] + "AAA="  # another seed: the key ID no longer fits
    for bad in (broken, "not a key", secret):
        with pytest.raises(LogKeyError, match=NOTE_KEY_ENV) as caught:
            load_note_key(tmp_path, ORIGIN, {NOTE_KEY_ENV: bad})
        assert secret not in str(caught.value) and broken[-20:] not in str(caught.value)


def test_a_corrupt_note_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / NOTE_KEY_FILE).write_text("PRIVATE+KEY+garbage\n")
    with pytest.raises(LogKeyError, match="cannot be read"):
        load_note_key(tmp_path, ORIGIN, {})


def test_the_signer_shows_only_the_vkey(tmp_path: Path) -> None:
    from eth_account import Account

    from ledger.formats.eip712 import Domain

    signer = LogSigner(Account.create(), Domain(bytes(32)), note=NOTE_KEY)
    secret = NOTE_KEY.private_text().split("+", 4)[4]
    assert secret not in repr(signer) and secret not in repr(signer.note)
    assert signer.checkpoint_note(1, bytes(32)) == checkpoint_note(NOTE_KEY, 1, bytes(32))
    assert LogSigner(Account.create(), Domain(bytes(32))).checkpoint_note(1, bytes(32)) is None
