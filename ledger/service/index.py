"""The verifiable index, service side: maintained by the sequencer in each seal's
transaction, read for completeness proofs (docs/completeness.md).

`seal_index` runs `ledger.core.index.IndexBuilder` over the entries a seal sequences,
with its node store and frontiers read from the index tables as the seal needs them
(level by level along the touched keys' paths: one query per level, not per node), and
writes what changed at the new size: map nodes (a new version), the touched keys'
frontiers, and R(S). A log that has entries the index does not cover yet (a log older
than the index, or sealed by a version without it) has them indexed first, in the same
transaction, and R kept at that size too.

Keys come from the entries' stored columns (`ledger.core.index.group_entry_keys`, a
column at a time), not from decoding records (the bytes of a digest record the
statements table names are searched for the statement salt, which files the log's own
statements under ``statement:log``);
tests hold them equal to `ledger.core.index.record_keys`.

Between seals the store keeps, in memory, the map's nodes down to depth `CACHED_DEPTH`
and the frontiers of the `CACHED_KEYS` keys touched last (`_IndexCache`): a seal that
finds the index at the size and map root the cache was kept for reads only what lies
outside it. The cache takes a seal's nodes only once its transaction has committed
(`SealedIndex.committed`), so a seal that rolls back leaves it as it was; any other
size or root (another sequencer sealed, the database was replaced) drops it.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection

from ledger.core.index import IndexBuilder, group_entry_keys, key_hash
from ledger.core.index.postings import BLOCK, Frontier
from ledger.core.index.smt import ROOT, Leaf, Node, Position, read_paths
from ledger.store.index import IndexStore
from ledger.store.repository import LogState, Store, StoreError

KeyedEntry = tuple[int, bytes, str, str | None, str | None, str | None, bytes | None]
"""(seq, leaf_hash, kind, external_id, account_id, model, record): an entry's stored
columns (record: of a digest record only, None for the others)."""

CATCH_UP_BATCH = 1 << 18
"""Entries read at a time when indexing a log older than its index."""

CACHED_DEPTH = 16
"""The map's nodes kept in memory between seals: depths 0 to this (at most 2**17
positions, which every seal of many entries rewrites; about 35 MB when all are held)."""

CACHED_KEYS = 1 << 15
"""Frontiers kept in memory between seals: of the keys touched most recently (about
37 MB for keys of up to a million postings each)."""

KEEP_BLOCKS = True
"""Store the blocks of BLOCK postings each seal completes (`index_blocks`); only
scripts/bench_index.py --blocks turns it off, to measure what keeping them costs."""

_COLUMNS = (2, 3, 4, 5, 6)
"""Where a KeyedEntry holds kind, external_id, account_id, model and record."""


class _IndexCache:
    """What a store keeps of its index between seals, valid at one (size, map root)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size = -1
        self.map_root = b""
        self.nodes: dict[Position, Node] = {}
        """Position -> newest node, of the cached depths."""
        self.absent: set[Position] = set()
        """Positions of the cached depths known to hold an empty subtree."""
        self.frontiers: OrderedDict[str, tuple[bytes, Frontier]] = OrderedDict()
        """Key -> (map key, frontier), least recently touched first."""


_CACHES: WeakKeyDictionary[Store, _IndexCache] = WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_of(store: Store) -> _IndexCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(store)
        if cache is None:
            cache = _CACHES[store] = _IndexCache()
        return cache


class _Nodes(dict[Position, Node]):
    """The map's newest nodes, read from the table as the builder will need them
    (and the positions found empty), and the nodes it wrote (to insert at the new
    size)."""

    def __init__(
        self,
        index: IndexStore,
        conn: Connection,
        known: dict[Position, Node],
        absent: set[Position],
    ) -> None:
        super().__init__(known)
        self.absent = absent
        self.index = index
        self.conn = conn
        self.written: dict[Position, Node] = {}
        self.fetch([ROOT])

    def fetch(self, positions: Iterable[Position]) -> None:
        absent = self.absent
        missing = [p for p in positions if p not in self and p not in absent]
        if missing:
            found = self.index.head_nodes(self.conn, missing)
            dict.update(self, found)
            absent.update(p for p in missing if p not in found)

    def prefetch_paths(self, key_hashes: Iterable[bytes]) -> None:
        """Read every node an update of these keys reads: down their paths while the
        node is interior, with the siblings, a level (one query) at a time."""
        read_paths(self, key_hashes, self.fetch)

    def update(self, writes: Any = (), /, **_: Any) -> None:  # what SparseMap.apply calls
        dict.update(self, writes)
        self.absent.difference_update(writes)
        self.written.update(writes)


class _Pass:
    """One run of the builder from the index's size, over batches of keyed entries."""

    def __init__(
        self,
        index: IndexStore,
        conn: Connection,
        nodes: _Nodes,
        size: int,
        cached: OrderedDict[str, tuple[bytes, Frontier]],
    ) -> None:
        self.index = index
        self.conn = conn
        self.nodes = nodes
        self.cached = cached
        self.frontiers: dict[str, Frontier] = {}
        self.builder = IndexBuilder(nodes, self.frontiers, size)
        self.hashes = self.builder.key_hashes
        self.builder.blocks = {} if KEEP_BLOCKS else None
        self.blocks: list[tuple[bytes, int, int, bytes]] = []
        """(key hash, block number, last leaf index, root) of the blocks completed."""
        self.root = b""

    def add(self, rows: Sequence[KeyedEntry]) -> None:
        """File a batch of entries (the next ones, in leaf order), then seal it."""
        builder = self.builder
        postings = group_entry_keys(rows, _COLUMNS)
        builder.add_batch(len(rows), postings)
        hashes, frontiers, cached = self.hashes, self.frontiers, self.cached
        unknown: dict[bytes, str] = {}
        for key in postings:
            if key in frontiers:  # touched by an earlier batch of this pass
                continue
            hit = cached.get(key)
            if hit is not None:
                hashes[key], frontiers[key] = hit
            else:
                k = hashes.get(key)
                if k is None:
                    k = hashes[key] = key_hash(key)
                unknown[k] = key
        if unknown:
            for k, frontier in self.index.frontiers(self.conn, unknown).items():
                frontiers[unknown[k]] = frontier
        self.nodes.prefetch_paths(hashes[key] for key in postings)
        first = builder.size  # the leaf index of rows[0]
        self.root = builder.seal()
        self._blocks(first, postings)

    def _blocks(self, first: int, postings: dict[str, list[int]]) -> None:
        """Keep the blocks the last seal completed, each with its last leaf index (the
        key's posting number BLOCK * (j + 1) - 1: among this batch's, at `first` + its
        position in the batch)."""
        made, hashes, frontiers = self.builder.blocks, self.hashes, self.frontiers
        if not made:
            return
        for key, roots in made.items():
            found = postings[key]
            was = frontiers[key].size - len(found)  # the key's postings before the batch
            for j, root in enumerate(roots, was // BLOCK):
                last = first + found[BLOCK * (j + 1) - 1 - was]
                self.blocks.append((hashes[key], j, last, root))
        made.clear()

    def write(self, tree_size: int) -> bytes:
        """Write the nodes, frontiers and root of this pass at `tree_size`; R(S)."""
        if self.builder.size != tree_size:
            raise StoreError(
                f"the index reached size {self.builder.size}, not the log's {tree_size}"
            )
        self.index.write_nodes(self.conn, tree_size, self.nodes.written)
        self.nodes.written = {}
        self.index.write_frontiers(
            self.conn, ((self.hashes[key], key, f) for key, f in self.frontiers.items())
        )
        self.index.write_blocks(self.conn, self.blocks)
        self.blocks = []
        self.index.add_root(self.conn, tree_size, self.builder.map.root, self.root)
        return self.root


def _catch_up(
    index: IndexStore,
    store: Store,
    conn: Connection,
    old: LogState,
    nodes: _Nodes,
    indexed: int,
    cached: OrderedDict[str, tuple[bytes, Frontier]],
) -> None:
    """Index the entries of the first `old.tree_size` the index does not cover yet."""
    if indexed == old.tree_size:
        return
    if indexed > old.tree_size:
        raise StoreError(
            f"the index covers {indexed} entries but the log has {old.tree_size}: storage damaged"
        )
    after = 0
    if indexed:
        checkpoint = store.checkpoint(indexed)
        if checkpoint is None:
            raise StoreError(f"the index was sealed at size {indexed}, which has no checkpoint")
        after = checkpoint.last_seq
    run = _Pass(index, conn, nodes, indexed, cached)
    while True:
        rows = index.entries_keyed(conn, after, old.last_seq, CATCH_UP_BATCH)
        if not rows:
            break
        run.add(rows)
        after = rows[-1][0]
    run.write(old.tree_size)
    cached.update((key, (run.hashes[key], f)) for key, f in run.frontiers.items())


@dataclass
class SealedIndex:
    """What a seal wrote to the index: R(S) of the new size, and what to keep in
    memory once the seal's transaction has committed."""

    root: bytes
    store: Store
    size: int
    map_root: bytes
    nodes: _Nodes
    touched: dict[str, tuple[bytes, Frontier]]
    kept: OrderedDict[str, tuple[bytes, Frontier]]

    def committed(self) -> None:
        """Keep this seal's map top and frontiers for the next seal (call only after
        the seal's transaction committed)."""
        kept = self.kept
        for key, value in self.touched.items():
            kept[key] = value
            kept.move_to_end(key)
        while len(kept) > CACHED_KEYS:
            kept.popitem(last=False)
        below = 1 << (CACHED_DEPTH + 1)  # the positions 2**depth + prefix of those depths
        top = {p: n for p, n in self.nodes.items() if p < below}
        absent = {p for p in self.nodes.absent if p < below}
        cache = _cache_of(self.store)
        with cache.lock:
            cache.size, cache.map_root = self.size, self.map_root
            cache.nodes, cache.absent, cache.frontiers = top, absent, kept


def seal_index(
    store: Store, conn: Connection, old: LogState, new: LogState, rows: Sequence[KeyedEntry]
) -> SealedIndex:
    """In the seal's transaction: index `rows` (the entries the seal from `old` to `new`
    sequences, in order), first any entries of `old` not indexed yet; R(new size) and
    what to keep in memory once the transaction commits."""
    with _collector_paused():
        return _seal_index(store, conn, old, new, rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a seal indexes: it makes and drops hundreds
    of thousands of small tuples and lists (rows, postings, frontiers), none of them in a
    cycle, and full collections over them cost a fifth of the seal's index work."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _seal_index(
    store: Store, conn: Connection, old: LogState, new: LogState, rows: Sequence[KeyedEntry]
) -> SealedIndex:
    index = IndexStore(store)
    newest = index.newest_root(conn)
    indexed = 0 if newest is None else newest[0]
    cache = _cache_of(store)
    with cache.lock:
        if newest is not None and (cache.size, cache.map_root) == newest:
            nodes = _Nodes(index, conn, dict(cache.nodes), set(cache.absent))
            kept = OrderedDict(cache.frontiers)
        else:
            nodes, kept = _Nodes(index, conn, {}, set()), OrderedDict()
    _catch_up(index, store, conn, old, nodes, indexed, kept)
    run = _Pass(index, conn, nodes, old.tree_size, kept)
    run.add(rows)
    root = run.write(new.tree_size)
    touched = {key: (run.hashes[key], f) for key, f in run.frontiers.items()}
    return SealedIndex(root, store, new.tree_size, run.builder.map.root, nodes, touched, kept)


def index_root_at(store: Store, tree_size: int) -> bytes | None:
    """R(S) kept for the checkpoint of `tree_size` (None: not sealed with the index)."""
    with store.read() as conn:
        return IndexStore(store).index_root(conn, tree_size)


class NodesAt:
    """The map of log size `tree_size`, read node by node (a proof reads a path)."""

    def __init__(self, index: IndexStore, conn: Connection, tree_size: int) -> None:
        self.index = index
        self.conn = conn
        self.tree_size = tree_size

    def get(self, position: Position, /) -> Node | None:
        return self.index.node_at(self.conn, position, self.tree_size)


__all__ = ["Leaf", "NodesAt", "index_root_at", "seal_index"]
