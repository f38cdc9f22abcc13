"""Tile math against the plain Merkle functions: layout, edge growth, node lookup."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core import merkle
from ledger.core.merkle.tiles import (
    TILE_WIDTH,
    Tile,
    TileEdge,
    edge_keys,
    node_location,
    range_hash,
    tile_path,
)

LEAVES = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(70_000)]


def test_tile_paths_follow_c2sp() -> None:
    assert tile_path(0, 0) == "tile/0/000"
    assert tile_path(0, 999) == "tile/0/999"
    assert tile_path(0, 1000) == "tile/0/x001/000"
    assert tile_path(2, 1234067) == "tile/2/x001/x234/067"
    assert tile_path(1, 5, width=17) == "tile/1/005.p/17"


def test_node_location() -> None:
    assert node_location(0, 300) == ((0, 1), 44, 45)
    assert node_location(3, 40) == ((0, 1), 64, 72)
    assert node_location(8, 0) == ((1, 0), 0, 1)
    assert node_location(10, 5) == ((1, 0), 20, 24)


def test_edge_keys() -> None:
    assert edge_keys(0) == []
    assert edge_keys(256) == [(1, 0)]
    assert edge_keys(65536 + 256 + 3) == [(0, 257), (1, 257 // 256), (2, 0)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=12))
def test_edge_grows_like_the_tree(batches: list[int]) -> None:
    """Appending in any batch sizes gives the RFC 9162 root after every batch, and a
    tile store that answers every node of the tree."""
    edge = TileEdge(0, {})
    store: dict[tuple[int, int], bytes] = {}
    size = 0
    for count in batches:
        if size + count > len(LEAVES):
            break
        written = edge.append(LEAVES[size : size + count])
        for key, data in written.items():
            old = store.get(key, b"")
            assert data.startswith(old), "a hash inside a tile changed"
            store[key] = data
        size += count
        assert edge.root() == merkle.root_hash(LEAVES[:size])
        # A fresh edge loaded from the stored tiles continues the same tree.
        edge = TileEdge.load(size, store)
    assert all(len(d) <= TILE_WIDTH * 32 for d in store.values())
    # Proof ranges hash the same from tiles as from the leaves.
    for index in (0, size // 2, size - 1):
        for a, b in merkle.inclusion_ranges(index, size):
            assert range_hash(a, b, lambda key: Tile(store[key])) == merkle.root_hash(LEAVES[a:b])


def test_level_two_tiles_appear_at_65536_leaves() -> None:
    edge = TileEdge(0, {})
    written = edge.append(LEAVES[: 65536 + 1])
    assert (2, 0) in written and len(written[(2, 0)]) == 32
    assert written[(2, 0)] == merkle.root_hash(LEAVES[:65536])
    assert edge.root() == merkle.root_hash(LEAVES[: 65536 + 1])


def test_tile_nodes_are_the_complete_subtrees() -> None:
    tile = Tile(b"".join(LEAVES[:256]))
    assert tile.root == merkle.root_hash(LEAVES[:256])
    assert tile.node(64, 128) == merkle.root_hash(LEAVES[64:128])
    assert tile.node(5, 6) == LEAVES[5]
    partial = Tile(b"".join(LEAVES[:7]))
    assert partial.node(4, 6) == merkle.root_hash(LEAVES[4:6])
    for bad in ((4, 8), (1, 3), (0, 3)):
        try:
            partial.node(*bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")
