"""All SQL of the verifiable index (docs/completeness.md, "Maintaining the index").

- `index_nodes`: the map's nodes, one row per (position, log size written at); the node
  at position p for size S is p's row of the largest size <= S, so a proof can be built
  at any size the index was sealed at. Rows are only inserted.
- `index_keys`: each key's postings count and frontier at the newest indexed size
  (upserted by each seal, in the seal's transaction).
- `index_roots`: R(S) and the map root of every size sealed with the index.
- `index_blocks`: the root of each complete aligned block of 256 postings of each key's
  postings tree, with the leaf index of its last posting (inserted by the seal that
  completes it; migration 0013 fills those of the logs sealed before it).
- A key's postings are not stored: they are the sequenced entries matching the key on
  the entries table's lookup columns, in seq order (= leaf order).

The writes take the seal's connection; they commit or roll back with it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping

from sqlalchemy import Connection

from ledger.core.index.blocks import BLOCK, block_roots
from ledger.core.index.keys import key_hash as key_string_hash
from ledger.core.index.keys import parse_key
from ledger.core.index.postings import Frontier
from ledger.core.index.smt import Leaf, MapLeaf, Node, Position, leaf_hash
from ledger.core.merkle import HASH_SIZE
from ledger.store.erasure import ErasureStore, unpack_seqs
from ledger.store.repository import Store, StoreError

CHUNK = 500
"""Most values bound in one IN (...) list."""

LEAF_BYTES = 2 * HASH_SIZE + 8
"""A stored leaf: k || u64be(count) || postings root."""

KEY_COLUMNS: dict[str, tuple[str, str]] = {
    "account": ("interaction", "account_id"),
    "model": ("interaction", "model"),
    "licence": ("licence", "external_id"),
    "licensee": ("licence", "account_id"),
    "model_id": ("model", "external_id"),
}
"""Key kind -> (record kind, entries column holding the key's value): what ingest
stores for each record kind (ledger.core.records), so postings need no decoding. The
``statement`` kind's one key has its postings from the statements table."""


def position_bytes(position: Position) -> bytes:
    """A map position as stored: big endian, no leading zero byte."""
    return position.to_bytes((position.bit_length() + 7) // 8, "big")


def encode_node(node: Node) -> bytes:
    """A map node as stored: the interior hash, or the leaf's k || u64be(n) || P."""
    if isinstance(node, Leaf):
        value = node.value
        return value.key_hash + value.count.to_bytes(8, "big") + value.postings_root
    return node


def decode_node(data: bytes) -> Node:
    """The stored node back (a leaf's hash recomputed)."""
    data = bytes(data)
    if len(data) == HASH_SIZE:
        return data
    if len(data) != LEAF_BYTES:
        raise StoreError(f"an index node of {len(data)} bytes: the index storage is damaged")
    key, count, root = data[:32], int.from_bytes(data[32:40], "big"), data[40:]
    return Leaf(MapLeaf(key, count, root), leaf_hash(key, count, root))


def encode_frontier(frontier: Frontier) -> bytes:
    """A frontier as stored: its hashes, concatenated (their number is popcount(size))."""
    return b"".join(frontier.hashes)


def decode_frontier(count: int, data: bytes) -> Frontier:
    """The stored frontier of a key with `count` postings."""
    data = bytes(data)
    hashes = tuple(data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE))
    if len(hashes) != count.bit_count():
        raise StoreError("an index key's frontier does not match its count: storage damaged")
    return Frontier(count, hashes)


def _chunks(values: list[bytes]) -> Iterator[list[bytes]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


class IndexStore:
    """The index tables of one store."""

    def __init__(self, store: Store | None, postgres: bool | None = None) -> None:
        """The tables of `store` (None, with `postgres`: of a connection's database only,
        as a migration has)."""
        self.store = store
        is_postgres = store.is_postgres if store is not None else postgres
        self.mark = "%s" if is_postgres else "?"

    # -- sealing (the seal's connection) --------------------------------------------------

    def indexed_size(self, conn: Connection) -> int | None:
        """The largest size sealed with the index (None: the index was never built)."""
        size = conn.exec_driver_sql("SELECT MAX(tree_size) FROM index_roots").scalar()
        return None if size is None else int(size)

    def newest_root(self, conn: Connection) -> tuple[int, bytes] | None:
        """(size, map root) of the largest size sealed with the index (None: never)."""
        row = conn.exec_driver_sql(
            "SELECT tree_size, map_root FROM index_roots ORDER BY tree_size DESC LIMIT 1"
        ).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def head_nodes(self, conn: Connection, positions: Iterable[Position]) -> dict[Position, Node]:
        """The newest version of the nodes at `positions` (absent ones: empty subtrees)."""
        by_bytes = {position_bytes(p): p for p in positions}
        found: dict[Position, Node] = {}
        for chunk in _chunks(list(by_bytes)):
            marks = ", ".join([self.mark] * len(chunk))
            rows = conn.exec_driver_sql(
                "SELECT n.position, n.node FROM index_nodes n"
                f" WHERE n.position IN ({marks}) AND n.tree_size ="
                " (SELECT MAX(m.tree_size) FROM index_nodes m WHERE m.position = n.position)",
                tuple(chunk),
            )
            for position, node in rows.cursor.fetchall():
                found[by_bytes[bytes(position)]] = decode_node(node)
        return found

    def write_nodes(self, conn: Connection, tree_size: int, nodes: Mapping[Position, Node]) -> None:
        """Insert the nodes written by the seal to `tree_size`."""
        if not nodes:
            return
        rows = [
            (
                p.to_bytes((p.bit_length() + 7) >> 3, "big"),  # position_bytes, inlined
                tree_size,
                n if isinstance(n, bytes) else encode_node(n),
            )
            for p, n in nodes.items()
        ]
        rows.sort()  # in the primary key's order: appends to the table's b-tree pages
        conn.exec_driver_sql(
            f"INSERT INTO index_nodes (position, tree_size, node) VALUES ({self.mark},"
            f" {self.mark}, {self.mark})",
            rows,
        )

    def frontiers(self, conn: Connection, key_hashes: Iterable[bytes]) -> dict[bytes, Frontier]:
        """The stored frontiers of the keys among `key_hashes` that have one."""
        found: dict[bytes, Frontier] = {}
        for chunk in _chunks(list(key_hashes)):
            marks = ", ".join([self.mark] * len(chunk))
            rows = conn.exec_driver_sql(
                f"SELECT key_hash, count, frontier FROM index_keys WHERE key_hash IN ({marks})",
                tuple(chunk),
            )
            for key_hash, count, data in rows.cursor.fetchall():
                found[bytes(key_hash)] = decode_frontier(int(count), data)
        return found

    def write_frontiers(
        self, conn: Connection, frontiers: Iterable[tuple[bytes, str, Frontier]]
    ) -> None:
        """Upsert (key hash, key, frontier) of the keys a seal touched."""
        rows = [(k, key, f.size, encode_frontier(f)) for k, key, f in frontiers]
        if not rows:
            return
        m = self.mark
        conn.exec_driver_sql(
            f"INSERT INTO index_keys (key_hash, key, count, frontier) VALUES ({m}, {m}, {m}, {m})"
            " ON CONFLICT (key_hash) DO UPDATE SET count = excluded.count,"
            " frontier = excluded.frontier",
            rows,
        )

    def write_blocks(self, conn: Connection, blocks: list[tuple[bytes, int, int, bytes]]) -> None:
        """Insert (key hash, block number, last leaf index, root) of the blocks a seal
        completed."""
        if blocks:
            m = self.mark
            conn.exec_driver_sql(
                "INSERT INTO index_blocks (key_hash, block, last_leaf, root)"
                f" VALUES ({m}, {m}, {m}, {m})",
                blocks,
            )

    def add_root(self, conn: Connection, tree_size: int, map_root: bytes, root: bytes) -> None:
        """Keep R(S) of the seal to `tree_size`."""
        conn.exec_driver_sql(
            "INSERT INTO index_roots (tree_size, map_root, index_root)"
            f" VALUES ({self.mark}, {self.mark}, {self.mark})",
            (tree_size, map_root, root),
        )

    def entries_keyed(
        self, conn: Connection, after_seq: int, upto_seq: int, limit: int
    ) -> list[tuple[int, bytes, str, str | None, str | None, str | None, bytes | None]]:
        """(seq, leaf_hash, kind, external_id, account_id, model, record) of the entries
        after `after_seq` up to `upto_seq`, oldest first, at most `limit`: the pending
        entries (Store.read_pending) with the columns their index keys come from. The
        record bytes, which tell the log's own statement records by their salt
        (`ledger.core.index.keys.STATEMENT_KEY`), only of the digest records the
        statements table names (None for the others): the service logs each statement
        record with its statement in one transaction, and no key may log one, so no
        other record has the salt; the rest of the log's digest records cost one index
        probe each, not a SHA-256 (docs/completeness.md, "The statement key")."""
        m = self.mark
        rows = conn.exec_driver_sql(
            "SELECT seq, leaf_hash, kind, external_id, account_id, model,"
            " CASE WHEN kind = 'digest' AND leaf_hash IN (SELECT leaf_hash FROM statements)"
            " THEN record END FROM entries"
            f" WHERE seq > {m} AND seq <= {m} ORDER BY seq LIMIT {m}",
            (after_seq, upto_seq, limit),
        )
        return list(rows.cursor.fetchall())

    # -- reading (proofs) -----------------------------------------------------------------

    def index_root(self, conn: Connection, tree_size: int) -> bytes | None:
        """R(S) of the seal to `tree_size` (None: that size was not sealed with the index)."""
        root = conn.exec_driver_sql(
            f"SELECT index_root FROM index_roots WHERE tree_size = {self.mark}", (tree_size,)
        ).scalar()
        return None if root is None else bytes(root)

    def node_at(self, conn: Connection, position: Position, tree_size: int) -> Node | None:
        """The node at `position` in the map of log size `tree_size`."""
        m = self.mark
        data = conn.exec_driver_sql(
            f"SELECT node FROM index_nodes WHERE position = {m} AND tree_size <= {m}"
            " ORDER BY tree_size DESC LIMIT 1",
            (position_bytes(position), tree_size),
        ).scalar()
        return None if data is None else decode_node(data)

    def blocks(self, conn: Connection, key: str, count: int) -> tuple[list[int], list[bytes]]:
        """The last leaf indices and roots of the stored blocks 0 to `count` - 1 of
        `key`, in order; fewer when some are not stored (a key sealed before its blocks
        were kept, whose backfill did not run)."""
        rows = conn.exec_driver_sql(
            f"SELECT block, last_leaf, root FROM index_blocks WHERE key_hash = {self.mark}"
            f" AND block < {self.mark} ORDER BY block",
            (key_string_hash(key), count),
        ).cursor.fetchall()
        lasts: list[int] = []
        roots: list[bytes] = []
        for block, last, root in rows:
            if int(block) != len(lasts):
                break
            lasts.append(int(last))
            roots.append(bytes(root))
        return lasts, roots

    def block_postings(
        self, conn: Connection, kind: str, value: str, last_seq: int
    ) -> BlockPostings:
        """A reader of the postings of key `kind:value` up to entry `last_seq`, a leaf
        range (a block) at a time."""
        return BlockPostings(self, conn, kind, value, last_seq)

    def postings(self, conn: Connection, kind: str, value: str, last_seq: int) -> list[int]:
        """The leaf indices of the entries of key `kind:value` with seq <= `last_seq`
        (all sequenced), in leaf order."""
        return [leaf for _, leaf in self.postings_with_seqs(conn, kind, value, last_seq)]

    def postings_with_seqs(
        self, conn: Connection, kind: str, value: str, last_seq: int, first_seq: int = 0
    ) -> list[tuple[int, int]]:
        """(seq, leaf index) of the entries of key `kind:value` with `first_seq` <= seq <=
        `last_seq` (all sequenced), in leaf order."""
        if "\x00" in value:  # no record holds one (and PostgreSQL text cannot)
            return []
        m = self.mark
        key_hash = key_string_hash(f"{kind}:{value}")
        # Erased entries (ledger.store.erasure) no longer hold the value: their postings
        # are kept by the key's hash, packed. One statement reads both where it can: an
        # erasure committing between two statements of a read that is not one snapshot
        # would show its entries live and erased, each twice (Store.read() is one
        # snapshot on both databases; a writer's transaction on PostgreSQL is not).
        if kind == "statement":
            if self.store is None:
                raise StoreError("statement:log's postings need the store's statements table")
            live = ErasureStore(self.store).statement_entries(conn) if value == "log" else []
            seqs = [seq for seq, _ in live if first_seq <= seq <= last_seq]
            found = conn.exec_driver_sql(
                f"SELECT NULL, seqs FROM erased_postings WHERE key_hash = {m} AND first_seq <= {m}",
                (key_hash, last_seq),
            ).cursor.fetchall()
        else:
            record_kind, column = KEY_COLUMNS[kind]
            found = conn.exec_driver_sql(
                f"SELECT seq, NULL FROM entries WHERE {column} = {m} AND kind = {m}"
                f" AND seq <= {m} AND seq >= {m} UNION ALL SELECT NULL, seqs FROM"
                f" erased_postings WHERE key_hash = {m} AND first_seq <= {m}",
                (value, record_kind, last_seq, first_seq, key_hash, last_seq),
            ).cursor.fetchall()
            seqs = [int(seq) for seq, packed in found if packed is None]
        seqs += [
            seq
            for _, packed in found
            if packed is not None
            for seq in unpack_seqs(bytes(packed))
            if first_seq <= seq <= last_seq
        ]
        seqs.sort()
        return list(zip(seqs, self.leaves_of_seqs(conn, seqs), strict=True))

    def leaves_of_seqs(self, conn: Connection, seqs: list[int]) -> list[int]:
        """The leaf index of each sequenced entry seq of `seqs` (increasing)."""
        if not seqs:
            return []
        runs = conn.exec_driver_sql(
            "SELECT first_seq, last_seq, first_index FROM runs ORDER BY first_seq"
        ).cursor.fetchall()
        starts = [int(run[0]) for run in runs]
        found = []
        for seq in seqs:
            at = bisect_right(starts, seq) - 1
            if at < 0 or seq > runs[at][1]:
                raise StoreError(f"entry seq {seq} is in no run: the log storage is damaged")
            found.append(int(runs[at][2]) + seq - starts[at])
        return found

    def seqs_of_leaves(self, conn: Connection, leaves: list[int]) -> list[int]:
        """The seq of the sequenced entry at each leaf index of `leaves` (increasing)."""
        if not leaves:
            return []
        runs = conn.exec_driver_sql(
            "SELECT first_seq, last_seq, first_index FROM runs ORDER BY first_index"
        ).cursor.fetchall()
        firsts = [int(run[2]) for run in runs]
        found = []
        for leaf in leaves:
            at = bisect_right(firsts, leaf) - 1
            if at < 0 or leaf - firsts[at] > int(runs[at][1]) - int(runs[at][0]):
                raise StoreError(f"leaf {leaf} is in no run: the log storage is damaged")
            found.append(int(runs[at][0]) + leaf - firsts[at])
        return found

    def records(
        self, conn: Connection, seqs: list[int]
    ) -> dict[int, tuple[bytes, bytes | tuple[str, bytes]]]:
        """seq -> (leaf hash, canonical record) of the entries `seqs`; for an erased entry
        (erased at, leaf hash of the erasure's record) instead of the record."""
        found: dict[int, tuple[bytes, bytes | tuple[str, bytes]]] = {}
        for i in range(0, len(seqs), CHUNK):
            chunk = seqs[i : i + CHUNK]
            marks = ", ".join([self.mark] * len(chunk))
            rows = conn.exec_driver_sql(
                "SELECT seq, leaf_hash, record, erased_at, erased_by FROM entries"
                f" WHERE seq IN ({marks})",
                tuple(chunk),
            )
            for seq, leaf, record, erased_at, erased_by in rows.cursor.fetchall():
                found[int(seq)] = (
                    bytes(leaf),
                    bytes(record) if erased_at is None else (erased_at, bytes(erased_by)),
                )
        return found

    def licensees_of(self, conn: Connection, licence_id: str) -> set[str]:
        """The licensees named by the licence records of `licence_id` (empty: none)."""
        if "\x00" in licence_id:
            return set()
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT account_id FROM entries WHERE external_id = "
            f"{self.mark} AND kind = 'licence'",
            (licence_id,),
        )
        return {str(row[0]) for row in rows.cursor.fetchall()}


class BlockPostings:
    """A key's postings up to entry `last_seq` read a leaf range (a block) at a time: the
    entries of the range's seqs by the primary key (a block's span of the log, not every
    entry of the key by its lookup index), and its erased postings (`erased_postings`)
    and the runs read once."""

    def __init__(
        self, index: IndexStore, conn: Connection, kind: str, value: str, last_seq: int
    ) -> None:
        self.conn = conn
        self.mark = index.mark
        self.record_kind, self.column = KEY_COLUMNS[kind]
        self.value = value
        self.last_seq = last_seq
        self.runs = [
            (int(first), int(last), int(index_))
            for first, last, index_ in conn.exec_driver_sql(
                "SELECT first_seq, last_seq, first_index FROM runs ORDER BY first_seq"
            ).cursor.fetchall()
        ]
        self.starts = [run[0] for run in self.runs]
        self.firsts = [run[2] for run in self.runs]
        packs = conn.exec_driver_sql(
            f"SELECT seqs FROM erased_postings WHERE key_hash = {index.mark}"
            f" AND first_seq <= {index.mark}",
            (key_string_hash(f"{kind}:{value}"), last_seq),
        ).cursor.fetchall()
        self.erased = sorted(s for (p,) in packs for s in unpack_seqs(bytes(p)) if s <= last_seq)

    def seq_of(self, leaf: int) -> int:
        at = bisect_right(self.firsts, leaf) - 1
        if at < 0 or leaf - self.firsts[at] > self.runs[at][1] - self.runs[at][0]:
            raise StoreError(f"leaf {leaf} is in no run: the log storage is damaged")
        return self.runs[at][0] + leaf - self.firsts[at]

    def leaf_of(self, seq: int) -> int:
        at = bisect_right(self.starts, seq) - 1
        if at < 0 or seq > self.runs[at][1]:
            raise StoreError(f"entry seq {seq} is in no run: the log storage is damaged")
        return self.runs[at][2] + seq - self.starts[at]

    def between(self, after: int, through: int | None) -> list[int]:
        """The leaf indices of the key's postings with `after` < leaf index <= `through`
        (None: up to entry `last_seq`), increasing."""
        if "\x00" in self.value:  # no record holds one (and PostgreSQL text cannot)
            return []
        low = 0 if after < 0 else self.seq_of(after) + 1
        high = self.last_seq if through is None else self.seq_of(through)
        m = self.mark
        # `|| ''`: neither database's planner takes the lookup index (all the key's
        # entries, not in seq order: entries_account_ts), but the seq range.
        seqs = [
            int(seq)
            for (seq,) in self.conn.exec_driver_sql(
                f"SELECT seq FROM entries WHERE seq >= {m} AND seq <= {m}"
                f" AND {self.column} || '' = {m} AND kind || '' = {m}",
                (low, high, self.value, self.record_kind),
            ).cursor.fetchall()
        ]
        seqs += self.erased[bisect_left(self.erased, low) : bisect_right(self.erased, high)]
        seqs.sort()
        return [self.leaf_of(seq) for seq in seqs]


BACKFILL_BATCH = 1 << 16
"""Blocks inserted at a time by `backfill_blocks`."""


def backfill_blocks(conn: Connection) -> int:
    """Insert the blocks of every key of at least BLOCK postings at the newest indexed size
    (migration 0013: a log sealed before the seal kept them), its postings read and
    hashed once; the number of blocks. Raises StoreError if a key's postings are not as
    many as its count."""
    index = IndexStore(None, postgres=conn.dialect.name == "postgresql")
    newest = index.newest_root(conn)
    if newest is None:
        return 0
    last_seq = conn.exec_driver_sql(
        f"SELECT last_seq FROM checkpoints WHERE tree_size = {index.mark}", (newest[0],)
    ).scalar()
    if last_seq is None:
        raise StoreError(f"the index was sealed at size {newest[0]}, which has no checkpoint")
    keys = conn.exec_driver_sql(
        f"SELECT key_hash, key, count FROM index_keys WHERE count >= {index.mark}", (BLOCK,)
    ).cursor.fetchall()
    rows: list[tuple[bytes, int, int, bytes]] = []
    written = 0
    for k, key, count in keys:
        kind, value = parse_key(str(key))
        if kind not in KEY_COLUMNS:
            continue  # statement:log: its windows take the cached path (no block reader)
        leaves = index.postings(conn, kind, value, int(last_seq))
        if len(leaves) != int(count):
            raise StoreError(
                f"{key!r:.80} has {len(leaves)} postings up to size {newest[0]}, its index"
                f" {int(count)}: the storage is damaged"
            )
        roots = block_roots(leaves)
        rows += [(bytes(k), j, leaves[BLOCK * (j + 1) - 1], root) for j, root in enumerate(roots)]
        if len(rows) >= BACKFILL_BATCH:
            index.write_blocks(conn, rows)
            written, rows = written + len(rows), []
    index.write_blocks(conn, rows)
    return written + len(rows)
