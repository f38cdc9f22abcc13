"""Windowed completeness proofs from the postings blocks the seal stores (`index_blocks`,
migration 0013), on real SQLite and PostgreSQL: the seal stores each complete block of
256 postings with its last leaf index (seals of many postings, of a few, and a catch-up);
a fresh process (`mledger evidence` in a subprocess: a restarted service) proves a window
from them with the same bytes as the full path; a log sealed before the migration gets
its blocks from the migration's backfill, and a key whose blocks are missing takes the
old path; a tampered stored root or last leaf index is caught (the proof is checked
against the map's postings root) and the old path answers the same document; erased
entries keep their postings in the blocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text

from ledger.core.index.blocks import BLOCK, block_roots
from ledger.core.index.keys import key_hash
from ledger.core.records import parse_object
from ledger.service.completeness import PostingsBlocks, Window, build_completeness
from ledger.service.erasure import erase
from ledger.service.sequencer import seal
from ledger.store.anchors import AnchorRepository, Deployment
from ledger.store.db import MIGRATIONS
from ledger.store.index import IndexStore
from ledger.store.repository import Store, StoreError
from ledger.verify.completeness import verify_completeness
from ledger.workload import interaction
from tests.service.test_window_blocks import KEY, NOW, anchored, documents, grow


def deployed(store: Store) -> AnchorRepository:
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    return anchors


def large_keys(store: Store) -> list[str]:
    """The keys with at least one complete block."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT key FROM index_keys WHERE count >= 256")).all()
    return sorted(str(key) for (key,) in rows)


def all_rows(store: Store) -> dict[str, list[tuple[int, int, bytes]]]:
    return {key: stored_rows(store, key) for key in large_keys(store)}


def all_expected(store: Store) -> dict[str, list[tuple[int, int, bytes]]]:
    return {key: expected_rows(store, key) for key in large_keys(store)}


def stored_rows(store: Store, key: str = KEY) -> list[tuple[int, int, bytes]]:
    with store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT block, last_leaf, root FROM index_blocks WHERE key_hash = :k ORDER BY block"
            ),
            {"k": key_hash(key)},
        ).all()
    return [(int(b), int(last), bytes(root)) for b, last, root in rows]


def expected_rows(store: Store, key: str = KEY) -> list[tuple[int, int, bytes]]:
    kind, value = key.split(":", 1)
    with store.read() as conn:
        state = conn.execute(text("SELECT MAX(last_seq) FROM checkpoints")).scalar()
        leaves = IndexStore(store).postings(conn, kind, value, int(state))
    return [(j, leaves[BLOCK * (j + 1) - 1], root) for j, root in enumerate(block_roots(leaves))]


def key_leaves(store: Store) -> list[bytes]:
    """The leaf hashes of acct-big's entries, in order."""
    with store.read() as conn:
        return [
            bytes(h)
            for (h,) in conn.execute(
                text("SELECT leaf_hash FROM entries WHERE account_id = 'acct-big' ORDER BY seq")
            ).all()
        ]


def cli_evidence(db_url: str, *args: str) -> str:
    """`mledger evidence` in a new process: nothing cached (a restarted service)."""
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "evidence", "--database-url", db_url, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_seal_stores_each_complete_block(store: Store) -> None:
    anchors = deployed(store)
    size = grow(store, anchors, 0, 1700)  # one seal: blocks made a level at a time
    assert stored_rows(store) == expected_rows(store) and len(stored_rows(store)) == 4
    for start in range(size, size + 400, 37):  # short seals: a block completed by a few
        size = grow(store, anchors, start, 37)
    rows = stored_rows(store)
    assert rows == expected_rows(store) and len(rows) == 5
    assert all_rows(store) == all_expected(store) and len(large_keys(store)) > 1  # models too
    blocks = PostingsBlocks()
    for a, b in [(0, 5), (600, 1400), (size - 3, size), (1, size - 1), (1023, 1024)]:
        documents(store, anchors, blocks, size, a, b)
    assert blocks.served_stored == 5 and blocks.held() == 0  # nothing cached
    documents(store, anchors, blocks, 1700, 900, 1000)  # an older size: fewer blocks
    assert blocks.served_stored == 6


def test_a_fresh_process_proves_a_window_from_stored_blocks(store: Store, db_url: str) -> None:
    anchors = deployed(store)
    size = grow(store, anchors, 0, 2400)
    for a, b in [(1000, 1010), (0, 3), (2390, size)]:
        out = cli_evidence(db_url, "--key", KEY, "--from-size", str(a), "--to-size", str(b))
        full = build_completeness(store, anchors, KEY, size, Window(a, b), blocks=None)
        assert json.loads(out) == full
        assert verify_completeness(out, None).valid
    # What served it, in a fresh process: the stored blocks, nothing read into the cache.
    probe = (
        "import sys\n"
        "from ledger.service.completeness import POSTINGS_BLOCKS as b, Window, build_completeness\n"
        "from ledger.store.anchors import AnchorRepository\n"
        "from ledger.store.repository import Store\n"
        "s = Store.open(sys.argv[1])\n"
        f"build_completeness(s, AnchorRepository(s), {KEY!r}, window=Window(1000, 1010))\n"
        "print(b.served_stored, b.held())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, db_url], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def test_a_log_sealed_before_the_migration(store: Store, db_url: str) -> None:
    """Downgraded to 0012 (no table) and upgraded again: the migration fills the blocks of
    the keys already indexed; a key whose blocks are gone takes the old path."""
    from alembic import command
    from alembic.config import Config

    anchors = deployed(store)
    grow(store, anchors, 0, 1900)
    erase(store, "leaves", "test", leaves=key_leaves(store)[500:530])  # postings kept
    size = anchored(store, anchors)
    before = all_rows(store)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for action, revision in [("downgrade", "0012"), ("upgrade", "head")]:
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    assert all_rows(store) == before == all_expected(store) and len(before[KEY]) == 4
    blocks = PostingsBlocks()
    documents(store, anchors, blocks, size, 700, 800)
    assert blocks.served_stored == 1
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM index_blocks WHERE block = 2"))
    documents(store, anchors, blocks, size, 700, 800)
    assert blocks.served_stored == 1 and blocks.held() > 0  # the cache's path


def test_a_tampered_stored_block_is_caught(store: Store) -> None:
    anchors = deployed(store)
    size = grow(store, anchors, 0, 2000)
    for change in [
        "UPDATE index_blocks SET root = :x WHERE block = 1",
        "UPDATE index_blocks SET last_leaf = last_leaf + 1 WHERE block = 1",
    ]:
        blocks = PostingsBlocks()
        with store.engine.begin() as conn:
            conn.execute(text(change), {"x": b"\x07" * 32})
        documents(store, anchors, blocks, size, 1500, 1510)
        assert blocks.served_stored == 0 and blocks.held() > 0  # the cache's path served


def test_erased_entries_keep_their_postings_in_blocks(store: Store) -> None:
    anchors = deployed(store)
    grow(store, anchors, 0, 1800)
    leaves = key_leaves(store)
    erase(store, "leaves", "test", leaves=leaves[250:270] + leaves[600:601])
    size = anchored(store, anchors)
    blocks = PostingsBlocks()
    for a, b in [(370, 420), (880, 905), (0, size)]:
        doc = documents(store, anchors, blocks, size, a, b)
    assert blocks.served_stored == 2
    assert doc["count"] == sum(1 for i in range(1800) if i % 3)


def test_a_seal_that_rolls_back_keeps_none_of_its_blocks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocks are written in the seal's transaction (before R(S)): a seal that fails
    after writing them leaves none; the next seal writes them again."""
    anchors = deployed(store)
    grow(store, anchors, 0, 300)
    assert stored_rows(store) == expected_rows(store) and len(stored_rows(store)) == 0
    store.add_entries(
        [[parse_object(interaction(i, seed=9, account="acct-big")) for i in range(300, 1200)]]
    )

    def fail(*_: Any) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(IndexStore, "add_root", fail)
    with pytest.raises(StoreError, match="disk is full"):
        seal(store)
    monkeypatch.undo()
    with store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM index_blocks")).scalar() == 0
    size = anchored(store, anchors)
    assert all_rows(store) == all_expected(store) and len(stored_rows(store)) == 4
    blocks = PostingsBlocks()
    documents(store, anchors, blocks, size, 400, 420)
    assert blocks.served_stored == 1
