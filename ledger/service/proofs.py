"""Inclusion and consistency proofs from stored tiles.

Which subtrees a proof needs is pure math (`ledger.core.merkle`); their hashes come from
tiles (`ledger.core.merkle.tiles`), a few tile reads per proof, never the whole leaf list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.core.merkle import EMPTY_ROOT, consistency_ranges, inclusion_ranges
from ledger.core.merkle.tiles import range_hash, range_keys
from ledger.errors import InvalidRequestError, NotFoundError, NotSequencedError
from ledger.store.repository import LogState, Store, TileCache


@dataclass(frozen=True)
class InclusionProof:
    """Leaf `leaf_index` is in the tree of `tree_size` whose root is `root`."""

    leaf_index: int
    tree_size: int
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of `second` leaves extends the tree of `first` leaves."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


def _root(
    store: Store, conn: Connection, size: int, tiles: TileCache, state: LogState | None = None
) -> bytes:
    """The root of the tree of `size`: the log state's when it is at that size (sealed
    in the same transaction as its checkpoint), else from its checkpoint when sealed at
    that size."""
    if not size:
        return EMPTY_ROOT
    if state is not None and state.tree_size == size:
        return state.root
    checkpoint = store.checkpoint_root(conn, size)
    return checkpoint if checkpoint is not None else range_hash(0, size, tiles)


def _hashes(ranges: list[tuple[int, int]], tiles: TileCache) -> list[bytes]:
    tiles.prefetch(key for a, b in ranges for key in range_keys(a, b))
    return [range_hash(a, b, tiles) for a, b in ranges]


def _check_size(size: int, current: int, name: str) -> None:
    if size < 0 or size > current:
        raise InvalidRequestError(f"{name} {size} is beyond the log's size {current}")


def inclusion(store: Store, leaf_hash: bytes, tree_size: int | None = None) -> InclusionProof:
    """The inclusion proof of the entry with `leaf_hash` in the tree of `tree_size`
    (default: the latest checkpoint)."""
    with store.read() as conn:
        state, entry = store.state_and_entry(conn, leaf_hash)
        current = state.tree_size
        if entry is None:
            raise NotFoundError(f"no entry has leaf hash 0x{leaf_hash.hex()}")
        if entry.leaf_index is None:
            raise NotSequencedError(
                f"entry 0x{leaf_hash.hex()} is pending: it has no leaf index yet"
            )
        size = current if tree_size is None else tree_size
        _check_size(size, current, "tree_size")
        if entry.leaf_index >= size:
            raise InvalidRequestError(
                f"entry 0x{leaf_hash.hex()} has leaf index"
                f" {entry.leaf_index}, beyond tree size {size}"
            )
        tiles = store.tile_reader(conn, size)
        proof = _hashes(inclusion_ranges(entry.leaf_index, size), tiles)
        root = _root(store, conn, size, tiles, state)
        return InclusionProof(entry.leaf_index, size, root, proof)


def consistency(store: Store, first: int, second: int) -> ConsistencyProof:
    """The consistency proof between tree sizes `first` and `second`."""
    with store.read() as conn:
        state = store.read_state(conn)
        current = state.tree_size
        _check_size(second, current, "second")
        if not 0 < first <= second:
            raise InvalidRequestError(
                f"need 0 < first <= second, got first={first} second={second}"
            )
        tiles = store.tile_reader(conn, second)
        proof = _hashes(consistency_ranges(first, second), tiles)
        return ConsistencyProof(
            first,
            second,
            _root(store, conn, first, tiles),
            _root(store, conn, second, tiles, state),
            proof,
        )
