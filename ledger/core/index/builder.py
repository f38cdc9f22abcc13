"""Building the index as the log grows: what the sequencer does at each seal, and what a
monitor does to recompute every index root from an export (docs/completeness.md).

`IndexBuilder.add` files one entry (in leaf order) under its keys (`add_hashed` under
its keys' hashes, as an audit does); `seal` folds the entries added since the last seal
into the touched keys' postings frontiers and the map, and returns R(S) for the new
size S. Pure: the node store and the frontiers are
dict-like objects the caller may back with storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from itertools import islice
from operator import itemgetter, lt
from typing import Any, TypeVar

from ledger.core.index.completeness import index_root
from ledger.core.index.keys import key_hash, record_keys
from ledger.core.index.postings import Frontier, postings_leaf, postings_leaves
from ledger.core.index.smt import Node, Position, SparseMap

K = TypeVar("K", str, bytes)


class IndexBuilder:
    """The index of a log of `size` entries, growing a seal at a time."""

    def __init__(
        self,
        store: MutableMapping[Position, Node] | None = None,
        frontiers: MutableMapping[str, Frontier] | None = None,
        size: int = 0,
    ) -> None:
        self.map = SparseMap(store)
        self.frontiers: MutableMapping[str, Frontier] = {} if frontiers is None else frontiers
        self.size = size
        self._pending: dict[str, list[bytes]] = {}
        """Key -> the postings leaf hashes of its entries added since the last seal."""
        self._hashed: dict[bytes, Frontier] = {}
        self._pending_hashed: dict[bytes, list[bytes]] = {}
        self._by_hash: bool | None = None
        """How keys are given: set by the first `add` (False) or `add_hashed` (True)."""
        self._added = size
        self.key_hashes: dict[str, bytes] = {}
        """Map keys of the key strings seen (`key_hash`), kept across seals; a caller
        that knows some may put them here."""
        self.blocks: dict[str, list[bytes]] | None = None
        """When a dict: each `seal` puts in it the roots of the blocks of BLOCK postings
        it completes (`Frontier.extend_leaves`), by key string (keys given by `add`)."""

    def add(self, leaf_index: int, keys: Iterable[str]) -> None:
        """File entry `leaf_index` (the next one: entries come in leaf order) under
        `keys` (distinct key strings)."""
        self._next(leaf_index, by_hash=False)
        _file(self._pending, leaf_index, keys)

    def add_hashed(self, leaf_index: int, key_hashes: Iterable[bytes]) -> None:
        """File entry `leaf_index` (the next one) under keys given by their map keys
        (`key_hash` of each distinct key string): how an audit files entries, since an
        erased entry's export line carries only those. A builder takes keys one way
        only, as strings (`add`) or as hashes (this)."""
        self._next(leaf_index, by_hash=True)
        _file(self._pending_hashed, leaf_index, key_hashes)

    def add_hashed_batch(self, count: int, leaves: Mapping[bytes, Sequence[bytes]]) -> None:
        """File the next `count` entries at once, keys given by their map keys: `leaves`
        maps each key's hash to the postings leaves (`postings_leaf` of the leaf index) of
        those of the entries filed under it, in leaf order. The same as `add_hashed` of
        each entry in turn; the caller (an audit's worker) computed the leaves, which
        this does not check."""
        if count < 0:
            raise ValueError(f"a count of entries cannot be negative, got {count}")
        if not count:
            return
        self._next(self._added, by_hash=True)
        self._added += count - 1
        pending = self._pending_hashed
        for key, found in leaves.items():
            mine = pending.get(key)
            if mine is None:
                pending[key] = list(found)
            else:
                mine.extend(found)

    def _next(self, leaf_index: int, by_hash: bool) -> None:
        if self._by_hash is None:
            self._by_hash = by_hash
        elif self._by_hash != by_hash:
            use = "add_hashed" if self._by_hash else "add"
            raise ValueError(f"this builder was given keys the other way: use {use}")
        if leaf_index != self._added:
            raise ValueError(
                f"entries come in leaf order: expected {self._added}, got {leaf_index}"
            )
        self._added += 1

    def add_batch(self, count: int, positions: Mapping[str, Sequence[int]]) -> None:
        """File the next `count` entries at once, given as each key's positions among
        them (0 for the first of the `count`; strictly increasing, not empty): the same
        as `add` of each entry in turn. `group_entry_keys` gives them from the entries'
        lookup columns. Each entry's postings leaf is hashed once for all its keys."""
        if count < 0:
            raise ValueError(f"a count of entries cannot be negative, got {count}")
        for key, found in positions.items():
            if not found or found[0] < 0 or found[-1] >= count:
                raise ValueError(
                    f"key {key!r:.80}: its positions must lie in [0, {count}), the entries"
                    " being filed"
                )
            if not all(map(lt, found, islice(found, 1, None))):
                raise ValueError(f"key {key!r:.80}: its positions must be increasing")
        if not count:
            return
        first = self._added
        self._next(first, by_hash=False)
        self._added += count - 1
        leaves = postings_leaves(first, count)
        pending = self._pending
        for key, found in positions.items():
            if len(found) == 1:
                hashes: Sequence[bytes] = (leaves[found[0]],)
            else:
                hashes = itemgetter(*found)(leaves)
            mine = pending.get(key)
            if mine is None:
                pending[key] = list(hashes)
            else:
                mine.extend(hashes)

    def add_record(self, leaf_index: int, record: Mapping[str, Any]) -> None:
        """File entry `leaf_index` under the keys of its (valid, decoded) record."""
        self.add(leaf_index, record_keys(record))

    def seal(self) -> bytes:
        """Fold the entries added since the last seal into the index; R(S) for the new
        size S (the number of entries added in all)."""
        changes: dict[bytes, tuple[int, bytes]] = {}
        frontiers = self.frontiers
        hashes = self.key_hashes
        blocks = self.blocks
        made: list[bytes] | None = [] if blocks is not None else None
        for key, leaves in self._pending.items():
            frontier = frontiers.get(key, _EMPTY).extend_leaves(leaves, made)
            if made and blocks is not None:
                blocks[key] = made
                made = []
            frontiers[key] = frontier
            k = hashes.get(key)
            if k is None:
                k = hashes[key] = key_hash(key)
            changes[k] = (frontier.size, frontier.root())
        self._pending = {}
        hashed = self._hashed
        for hash_, leaves in self._pending_hashed.items():
            frontier = hashed.get(hash_, _EMPTY).extend_leaves(leaves)
            hashed[hash_] = frontier
            changes[hash_] = (frontier.size, frontier.root())
        self._pending_hashed = {}
        self.map.apply(changes)
        self.size = self._added
        return index_root(self.size, self.map.root)


_EMPTY = Frontier()


def _file(pending: dict[K, list[bytes]], leaf_index: int, keys: Iterable[K]) -> None:
    leaf = b""
    for key in keys:
        if not leaf:
            leaf = postings_leaf(leaf_index)
        if key in pending:
            pending[key].append(leaf)
        else:
            pending[key] = [leaf]
