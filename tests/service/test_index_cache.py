"""What the store keeps of its index between seals (the map's top, recent frontiers),
on real SQLite and PostgreSQL: seals that use it give the replayed R(S); another
sequencer's seal, a seal that rolls back, or a cache smaller than the map leave every
later R(S) right; and a seal that finds it valid reads none of its nodes again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import ledger.service.index as service_index
from ledger.service.index import index_root_at
from ledger.service.sequencer import seal
from ledger.store.index import IndexStore
from ledger.store.repository import Store, StoreError
from tests.service.test_index import entries, replay


def test_two_sequencers_on_one_database(db_url: str) -> None:
    """Two stores seal the same log in turn: each finds the other's seal and drops
    what it kept, so every R(S) is the replay's."""
    batch = entries(600)
    first, second = Store.open(db_url), Store.open(db_url)
    try:
        sizes = []
        for n, sealer in enumerate([first, first, second, first, second, second]):
            sealer.add_entries([batch[n * 100 : (n + 1) * 100]])
            seal(sealer, max_batch=60)
            sizes += [n * 100 + 60, (n + 1) * 100]
        expected = replay(batch, sizes)
        for size in sizes:
            assert index_root_at(first, size) == expected[size]
    finally:
        first.close()
        second.close()


def test_a_small_cache_reads_the_rest_from_the_tables(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_index, "CACHED_DEPTH", 1)
    monkeypatch.setattr(service_index, "CACHED_KEYS", 3)
    batch = entries(500)
    for start in range(0, 500, 125):
        store.add_entries([batch[start : start + 125]])
        seal(store, max_batch=50)
    sizes = [50, 100, 125, 175, 225, 250, 300, 350, 375, 425, 475, 500]
    expected = replay(batch, sizes)
    for size in sizes:
        assert index_root_at(store, size) == expected[size]


def test_a_seal_that_rolls_back_leaves_the_cache_as_it_was(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_entries([entries(200)])
    seal(store, max_batch=100)
    store.add_entries([entries(100, start=200)])

    def fail(*_: Any) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(IndexStore, "add_root", fail)
    with pytest.raises(StoreError, match="disk is full"):
        seal(store)  # wrote nodes and frontiers in memory and in its transaction
    monkeypatch.undo()
    with store.read() as conn:
        assert conn.execute(text("SELECT MAX(tree_size) FROM index_nodes")).scalar() == 200
    store.add_entries([entries(50, start=300)])
    seal(store, max_batch=100)
    expected = replay(entries(350), [300, 350])
    assert index_root_at(store, 300) == expected[300]
    assert index_root_at(store, 350) == expected[350]


def test_a_seal_reads_no_cached_node_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_entries([entries(300)])
    seal(store, max_batch=150)  # the second seal keeps the top the first wrote
    read: list[int] = []
    keys: list[bytes] = []
    head_nodes, frontiers = IndexStore.head_nodes, IndexStore.frontiers

    def reading_nodes(self: IndexStore, conn: Any, positions: Any) -> Any:
        positions = list(positions)
        read.extend(positions)
        return head_nodes(self, conn, positions)

    def reading_frontiers(self: IndexStore, conn: Any, hashes: Any) -> Any:
        hashes = list(hashes)
        keys.extend(hashes)
        return frontiers(self, conn, hashes)

    monkeypatch.setattr(IndexStore, "head_nodes", reading_nodes)
    monkeypatch.setattr(IndexStore, "frontiers", reading_frontiers)
    store.add_entries([entries(100, start=300)])
    seal(store)
    below = 1 << (service_index.CACHED_DEPTH + 1)
    assert [p for p in read if p < below] == []
    assert keys == []  # every key of these records was touched before, and kept
    assert index_root_at(store, 400) == replay(entries(400), [400])[400]
    # A new store on the same database keeps nothing yet: it reads what it needs.
    again = Store.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        again.add_entries([entries(10, start=400)])
        seal(again)
    finally:
        again.close()
    assert 1 in read  # the root, read again by the new store
    assert index_root_at(store, 410) == replay(entries(410), [410])[410]
