"""Inclusion and consistency proofs from stored tiles.

Which subtrees a proof needs is pure math (`ledger.merkle`); their hashes come from
tiles (`ledger.tiles`), a few tile reads per proof, never the whole leaf list.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import InvalidRequestError, NotFoundError, NotSequencedError
from ledger.merkle import EMPTY_ROOT, consistency_ranges, inclusion_ranges
from ledger.store.repository import Store, TileCache
from ledger.tiles import range_hash


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


def _root(size: int, tiles: TileCache) -> bytes:
    return range_hash(0, size, tiles) if size else EMPTY_ROOT


def _check_size(size: int, current: int, name: str) -> None:
    if size < 0 or size > current:
        raise InvalidRequestError(f"{name} {size} is beyond the log's size {current}")


def inclusion(store: Store, leaf_hash: bytes, tree_size: int | None = None) -> InclusionProof:
    """The inclusion proof of the entry with `leaf_hash` in the tree of `tree_size`
    (default: the latest checkpoint)."""
    with store.engine.connect() as conn:
        current = store.read_state(conn).tree_size
        entry = store.find_entry(conn, leaf_hash)
        if entry is None:
            raise NotFoundError(f"no entry has leaf hash 0x{leaf_hash.hex()}")
        if entry.leaf_index is None:
            raise NotSequencedError(f"entry 0x{leaf_hash.hex()} is pending: it has no leaf index yet")
        size = current if tree_size is None else tree_size
        _check_size(size, current, "tree_size")
        if entry.leaf_index >= size:
            raise InvalidRequestError(
                f"entry 0x{leaf_hash.hex()} has leaf index {entry.leaf_index}, beyond tree size {size}"
            )
        tiles = store.tile_reader(conn)
        proof = [range_hash(a, b, tiles) for a, b in inclusion_ranges(entry.leaf_index, size)]
        return InclusionProof(entry.leaf_index, size, _root(size, tiles), proof)


def consistency(store: Store, first: int, second: int) -> ConsistencyProof:
    """The consistency proof between tree sizes `first` and `second`."""
    with store.engine.connect() as conn:
        current = store.read_state(conn).tree_size
        _check_size(second, current, "second")
        if not 0 < first <= second:
            raise InvalidRequestError(f"need 0 < first <= second, got first={first} second={second}")
        tiles = store.tile_reader(conn)
        proof = [range_hash(a, b, tiles) for a, b in consistency_ranges(first, second)]
        return ConsistencyProof(first, second, _root(first, tiles), _root(second, tiles), proof)
