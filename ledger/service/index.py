"""The verifiable index, service side: maintained by the sequencer in each seal's
transaction, read for completeness proofs (docs/completeness.md).

`seal_index` runs `ledger.core.index.IndexBuilder` over the entries a seal sequences,
with its node store and frontiers read from the index tables as the seal needs them
(level by level along the touched keys' paths: one query per level, not per node), and
writes what changed at the new size: map nodes (a new version), the touched keys'
frontiers, and R(S). A log that has entries the index does not cover yet (a log older
than the index, or sealed by a version without it) has them indexed first, in the same
transaction, and R kept at that size too.

Keys come from the entries' stored columns (`ledger.core.index.entry_keys`), not from
decoding records; tests hold them equal to `ledger.core.index.record_keys`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from ledger.core.index import IndexBuilder, entry_keys, key_hash
from ledger.core.index.postings import Frontier
from ledger.core.index.smt import KEY_BITS, ROOT, Leaf, Node, Position
from ledger.store.index import IndexStore
from ledger.store.repository import LogState, Store, StoreError

KeyedEntry = tuple[int, bytes, str, str | None, str | None, str | None]
"""(seq, leaf_hash, kind, external_id, account_id, model): an entry's stored columns."""

CATCH_UP_BATCH = 1 << 18
"""Entries read at a time when indexing a log older than its index."""


class _Nodes(dict[Position, Node]):
    """The map's newest nodes, read from the table as the builder will need them, and
    the nodes it wrote (to insert at the new size)."""

    def __init__(self, index: IndexStore, conn: Connection) -> None:
        super().__init__()
        self.index = index
        self.conn = conn
        self.known: set[Position] = set()
        self.written: dict[Position, Node] = {}
        self.fetch([ROOT])

    def fetch(self, positions: Iterable[Position]) -> None:
        missing = [p for p in positions if p not in self.known]
        if missing:
            dict.update(self, self.index.head_nodes(self.conn, missing))
            self.known.update(missing)

    def prefetch_paths(self, key_hashes: Iterable[bytes]) -> None:
        """Read every node an update of these keys reads: down their paths while the
        node is interior, with the siblings, a level (one query) at a time."""
        active = sorted({int.from_bytes(k, "big") for k in key_hashes})
        depth = 0
        while active and depth <= KEY_BITS:
            shift = KEY_BITS - depth
            on_path = {(1 << depth) | (k >> shift) for k in active}
            self.fetch(on_path | {p ^ 1 for p in on_path} if depth else on_path)
            active = [k for k in active if isinstance(self.get((1 << depth) | (k >> shift)), bytes)]
            depth += 1

    def update(self, writes: Any = (), /, **_: Any) -> None:  # what SparseMap.apply calls
        dict.update(self, writes)
        self.known.update(writes)
        self.written.update(writes)


class _Pass:
    """One run of the builder from the index's size, over batches of keyed entries."""

    def __init__(self, index: IndexStore, conn: Connection, nodes: _Nodes, size: int) -> None:
        self.index = index
        self.conn = conn
        self.nodes = nodes
        self.frontiers: dict[str, Frontier] = {}
        self.hashes: dict[str, bytes] = {}
        self.builder = IndexBuilder(nodes, self.frontiers, size)
        self.root = b""

    def add(self, rows: Sequence[KeyedEntry]) -> None:
        """File a batch of entries (the next ones, in leaf order), then seal it."""
        builder = self.builder
        leaf = builder.size
        new: dict[str, bytes] = {}
        touched: set[str] = set()
        hashes = self.hashes
        for _seq, _leaf, kind, external_id, account_id, model in rows:
            keys = entry_keys(kind, external_id, account_id, model)
            touched.update(keys)
            builder.add(leaf, keys)
            leaf += 1
        for key in touched:
            if key not in hashes:
                new[key] = key_hash(key)
        if new:
            stored = self.index.frontiers(self.conn, new.values())
            for key, k in new.items():
                if k in stored:
                    self.frontiers[key] = stored[k]
            hashes.update(new)
        self.nodes.prefetch_paths(hashes[key] for key in touched)
        self.root = builder.seal()

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
        self.index.add_root(self.conn, tree_size, self.builder.map.root, self.root)
        return self.root


def _catch_up(
    index: IndexStore, store: Store, conn: Connection, old: LogState, nodes: _Nodes
) -> None:
    """Index the entries of the first `old.tree_size` the index does not cover yet."""
    indexed = index.indexed_size(conn) or 0
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
    run = _Pass(index, conn, nodes, indexed)
    while True:
        rows = index.entries_keyed(conn, after, old.last_seq, CATCH_UP_BATCH)
        if not rows:
            break
        run.add(rows)
        after = rows[-1][0]
    run.write(old.tree_size)


def seal_index(
    store: Store, conn: Connection, old: LogState, new: LogState, rows: Sequence[KeyedEntry]
) -> bytes:
    """In the seal's transaction: index `rows` (the entries the seal from `old` to `new`
    sequences, in order), first any entries of `old` not indexed yet; R(new size)."""
    index = IndexStore(store)
    nodes = _Nodes(index, conn)
    _catch_up(index, store, conn, old, nodes)
    run = _Pass(index, conn, nodes, old.tree_size)
    run.add(rows)
    return run.write(new.tree_size)


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
