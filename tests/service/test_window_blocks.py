"""Windowed completeness proofs from the postings block cache
(ledger.service.completeness.PostingsBlocks), on real SQLite and PostgreSQL: the same
documents as the full path (every posting read and hashed), verified offline, at the
newest size, after the log grew (the cache extends), at an older size than the cached
one (a prefix), and when the cached postings are wrong (dropped: the full path answers);
a key too large for the cache and a small key take the full path."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from ledger.core.records import parse_object
from ledger.service.completeness import (
    MIN_BLOCKED,
    PostingsBlocks,
    Window,
    build_completeness,
)
from ledger.service.sequencer import seal
from ledger.store.anchors import AnchorBlock, AnchorRepository, Deployment
from ledger.store.repository import Store
from ledger.verify.completeness import verify_completeness
from ledger.workload import interaction

NOW = "2026-12-02T00:00:00.000Z"
KEY = "account:acct-big"


def grow(
    store: Store,
    anchors: AnchorRepository,
    start: int,
    count: int,
    make: Callable[[int], dict[str, Any]] | None = None,
) -> int:
    """Add `count` records (`make(i)`; by default interactions, two in three of
    acct-big), seal, and record the anchor of the new size as confirmed (the chain is
    not what these tests are about)."""
    batch = [
        parse_object(
            make(i)
            if make is not None
            else interaction(i, seed=9, account="acct-big" if i % 3 else f"acct-{i % 7}")
        )
        for i in range(start, start + count)
    ]
    store.add_entries([batch])
    return anchored(store, anchors)


def anchored(store: Store, anchors: AnchorRepository) -> int:
    """Seal, and record the anchor of the new size as confirmed; the size."""
    state = seal(store)
    pending = anchors.add_pending(state.tree_size, state.root, NOW)
    assert pending is not None
    tx = state.tree_size.to_bytes(32, "big")
    submitted = anchors.submit(pending, 0, tx, state.tree_size, NOW)
    anchors.confirm(
        submitted, AnchorBlock(tx, state.tree_size, b"\x22" * 32, 1_780_000_000, 1), NOW
    )
    return state.tree_size


def documents(
    store: Store, anchors: AnchorRepository, blocks: PostingsBlocks, size: int, a: int, b: int
) -> dict[str, object]:
    window = Window(from_size=a, to_size=b)
    fast = build_completeness(store, anchors, KEY, size, window, blocks=blocks)
    slow = build_completeness(store, anchors, KEY, size, window, blocks=None)
    assert json.dumps(fast) == json.dumps(slow)  # the same bytes
    result = verify_completeness(json.dumps(fast), None)
    assert result.valid and result.complete is not None
    return fast


def test_block_cache_proofs_are_the_full_paths(store: Store) -> None:
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    first = grow(store, anchors, 0, 1700)
    blocks = PostingsBlocks(stored=False)
    for a, b in [(0, 5), (700, 1300), (1699, 1700), (1, first)]:
        documents(store, anchors, blocks, first, a, b)
    cached = blocks.held()
    assert MIN_BLOCKED < cached < first  # the key's postings only
    second = grow(store, anchors, first, 900)
    doc = documents(store, anchors, blocks, second, first - 10, second)
    assert doc["count"] == blocks.held() > cached  # extended by the new postings
    # An older size after a newer one: the cached list's prefix.
    documents(store, anchors, blocks, first, 900, 1000)
    # Wrong cached postings give another postings root: dropped, the full path answers.
    for keys in blocks._stores.values():
        held = keys[KEY]
        held.leaves[3] += 1
    documents(store, anchors, blocks, second, 10, 2000)
    assert blocks.held() == 0
    # A cache too small for the key, and a small key, take the full path.
    tiny = PostingsBlocks(limit=100, stored=False)
    documents(store, anchors, tiny, second, 50, 60)
    assert tiny.held() == 0
    small = build_completeness(
        store, anchors, "account:acct-3", second, Window(from_size=3, to_size=900), blocks=tiny
    )
    assert verify_completeness(json.dumps(small), None).valid


def test_concurrent_window_proofs_share_the_cache(store: Store) -> None:
    """Requests for the same key from several threads (each reads and extends outside
    the cache's lock) all get the full path's documents, and the cache ends with the
    key's postings once."""
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    first = grow(store, anchors, 0, 1700)
    second = grow(store, anchors, first, 600)
    blocks = PostingsBlocks(stored=False)
    failures: list[BaseException] = []

    def ask(size: int, a: int, b: int) -> None:
        try:
            documents(store, anchors, blocks, size, a, b)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    windows = [(first, 0, 40), (second, 100, 900), (first, 1200, 1700), (second, 5, second)]
    threads = [threading.Thread(target=ask, args=w) for w in windows * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert blocks.held() == sum(1 for i in range(second) if i % 3)  # acct-big's postings


def test_another_keys_cached_postings_are_never_served(store: Store) -> None:
    """The cache keeps each key's list under its key string. Were one key's list ever
    held under another (a cache bug), every proof made from it is checked against the
    postings root the map holds for the key asked: never served, the full path answers."""
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    size = grow(store, anchors, 0, 3300)
    model = "model:frontier-large"
    blocks = PostingsBlocks(stored=False)
    window = Window(from_size=500, to_size=2500)
    for key in (KEY, model):
        build_completeness(store, anchors, key, size, window, blocks=blocks)
    (keys,) = blocks._stores.values()
    assert MIN_BLOCKED <= len(keys[model].leaves) < len(keys[KEY].leaves)
    keys[KEY], keys[model] = keys[model], keys[KEY]  # each key now holds the other's list
    for key in (model, KEY):
        fast = build_completeness(store, anchors, key, size, window, blocks=blocks)
        assert fast == build_completeness(store, anchors, key, size, window, blocks=None)
        assert fast["key"] == key and verify_completeness(json.dumps(fast), None).valid
    assert model not in keys  # its proof from acct-big's list failed the check: dropped


def test_a_document_larger_than_verifiers_read_is_refused(store: Store) -> None:
    """1,500 entries of a key whose records are near the 16 KB limit, all non-ASCII
    (about 48 KB each as `mledger evidence` writes JSON): their proof would pass the 64
    MiB that `mledger verify` and the page read, so it is refused naming the window; a
    narrower window is served and verifies."""
    from ledger.errors import InvalidRequestError

    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )

    def near_the_limit(i: int) -> dict[str, Any]:
        record = interaction(i, seed=9, account="acct-big")
        record["body"]["metadata"] = {f"k{j:02d}": "\u00e9" * 240 for j in range(32)}
        assert len(parse_object(record).canonical) <= 16_384
        return record

    grow(store, anchors, 0, 1500, near_the_limit)
    with pytest.raises(InvalidRequestError) as refused:
        build_completeness(store, anchors, KEY)
    assert "the completeness proof of account:acct-big in [0, 1500) would be" in str(refused.value)
    assert "verifiers read at most 67,108,864: ask for a narrower window" in str(refused.value)
    part = build_completeness(store, anchors, KEY, window=Window(from_size=0, to_size=700))
    assert len(json.dumps(part, separators=(",", ":"))) < 64 << 20
    assert verify_completeness(json.dumps(part), None).valid
