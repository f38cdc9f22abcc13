"""All SQL of the log, behind one small class.

Guarantees callers rely on:

- `add_entries` is all or nothing, and durable once it returns (SQLite: WAL with
  synchronous=FULL; PostgreSQL: a committed transaction). So is `copy_entries`, the
  PostgreSQL bulk path of `mledger ingest`, which stores nothing when any of its leaf
  hashes is already stored (`DuplicateEntries`: the caller takes `add_entries`).
  `add_group` (the service's group commit) is `add_entries` for batches in memory; on
  PostgreSQL it writes with one COPY in a savepoint and, when a leaf hash is already
  stored, rolls back to the savepoint and inserts, skipping those entries.
- `transaction()` is one database transaction; the sequencer does a whole seal in one.
- Entries are never deleted, and updated only by erasure (ledger.store.erasure), which
  keeps their seq, leaf hash, kind and ts. Sequencing writes `runs` rows instead:
  the leaf index of entry `seq` is ``first_index + seq - first_seq`` for the run that
  holds it, so sealing a million entries writes a handful of rows, not a million.
- Tiles are written whole (upsert); a hash inside a tile never changes once written.
- `log_state` moves only by compare-and-swap on its tree size: two sequencers racing
  cannot both win.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger import faults
from ledger.core.errors import LedgerError
from ledger.core.merkle import EMPTY_ROOT, HASH_SIZE
from ledger.core.merkle.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, TileKey, tile_path
from ledger.core.records import Entry
from ledger.store.copyrows import COPY_COLUMNS, COPY_HEADER, COPY_TRAILER, copy_rows
from ledger.store.db import create_db_engine, migrate
from ledger.store.schema import checkpoints, entries, log_state, runs, tiles

INGEST_LOCK = int.from_bytes(
    hashlib.sha256(b"model-ledger/ingest").digest()[:8], "big", signed=True
)
"""Key of the PostgreSQL advisory lock that orders ingest against the sequencer: every
transaction that inserts entries holds it shared; the sequencer's barrier takes it."""


TILES_PER_QUERY = 400
"""Tiles `read_tiles` asks for in one query (SQLite caps an expression's depth at 1,000)."""

SHARED_TILE_CACHE = 2048
"""Built tiles kept per store (up to about 16 KiB each): the upper tree and the right
edge stay in memory."""


class StoreError(LedgerError, RuntimeError):
    """Storage refused an operation; the message says why."""


class DuplicateEntries(StoreError):
    """A bulk copy met a leaf hash already stored; nothing of it was stored."""


class ConcurrentSealError(StoreError):
    """Another sequencer moved the log first (compare-and-swap on log_state failed)."""


@dataclass(frozen=True)
class LogState:
    """The latest checkpoint: size and root, and the highest entry seq it covers."""

    tree_size: int
    root: bytes
    last_seq: int


@dataclass(frozen=True)
class Run:
    """Entries first_seq..last_seq (inclusive, no gaps) hold leaf indices from first_index."""

    first_seq: int
    last_seq: int
    first_index: int


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored; leaf_index is None while it is pending."""

    seq: int
    leaf_hash: bytes
    kind: str
    ts: str
    record: bytes
    leaf_index: int | None
    erased_at: str | None = None
    """When its record was erased (record empty); None: not erased."""
    erased_by: bytes | None = None
    """Leaf hash of the digest record that logged the erasure."""


class Store:
    """The log's storage on one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        if reader is None and self.is_postgres:
            # PostgreSQL reads at READ COMMITTED by default: each statement of a read would
            # see what was committed when it started, so a seal or an erasure committing
            # between two statements of one proof would mix two states of the log. A
            # read-only REPEATABLE READ transaction reads one snapshot, as SQLite's do.
            reader = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self.reader = reader or engine
        self.shared_tiles: OrderedDict[TileKey, Tile] = OrderedDict()
        self.shared_tiles_lock = threading.Lock()

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, migrate to the newest schema and return the store."""
        engine = create_db_engine(url)
        reader = create_db_engine(url, writer=False) if engine.dialect.name == "sqlite" else None
        store = cls(engine, reader)
        migrate(store.engine)
        with store.engine.begin() as conn:
            if conn.execute(select(log_state.c.id)).first() is None:
                conn.execute(
                    log_state.insert().values(id=1, tree_size=0, root=EMPTY_ROOT, last_seq=0)
                )
        return store

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
        self.reader.dispose()

    def read(self) -> Connection:
        """A read-only connection (use as a context manager): one snapshot of the log."""
        return self.reader.connect()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    # -- ingest ---------------------------------------------------------------------

    def add_entries(self, batches: Iterable[Sequence[Entry]]) -> int:
        """Store every entry of every batch in one transaction; return how many are new.

        An entry whose leaf hash is already stored is the same record sent again and is
        skipped. If iterating `batches` raises, nothing is stored.
        """
        added = 0
        with self.engine.begin() as conn:
            self.lock_ingest(conn)
            for batch in batches:
                added += self.insert_entries(conn, batch)
            faults.point("ingest.before_commit")
        return added

    def add_group(self, batches: Sequence[Sequence[Entry]]) -> int:
        """`add_entries` for batches already in memory (the service's group commit): the
        same guarantees, and on PostgreSQL one binary COPY instead of row inserts.

        COPY cannot skip a row, so it runs in a savepoint after the ingest lock; when
        one of the leaf hashes is already stored (a client's retry) or comes twice, the
        COPY fails on the unique index, the transaction rolls back to the savepoint,
        which undoes all of the COPY, and the same entries go through `insert_entries`,
        which skips those already stored.
        """
        if not self.is_postgres:
            return self.add_entries(batches)
        added = 0
        with self.engine.begin() as conn:
            self.lock_ingest(conn)
            added = self._copy_or_insert(conn, [batch for batch in batches if batch])
            faults.point("ingest.before_commit")
        return added

    def _copy_or_insert(self, conn: Connection, batches: list[Sequence[Entry]]) -> int:
        """PostgreSQL, in the caller's transaction (which took `lock_ingest`): `add_group`'s
        COPY in a savepoint, else the inserts; how many entries are new."""
        if not batches:
            return 0
        import psycopg  # the PostgreSQL driver: not loaded on SQLite

        driver = conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            raise StoreError(f"add_group needs the psycopg driver, not {type(driver)}")
        data = b"".join((COPY_HEADER, *(copy_rows(batch) for batch in batches), COPY_TRAILER))
        statement = f"COPY entries ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        savepoint = conn.begin_nested()
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(data)
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            return sum(self.insert_entries(conn, batch) for batch in batches)
        savepoint.commit()
        return sum(len(batch) for batch in batches)

    def copy_entries(self, chunks: Iterable[tuple[bytes, bytes]]) -> int:
        """PostgreSQL: store chunks of binary COPY rows (`ledger.store.copyrows`, with
        the leaf hashes of their entries) in one transaction with one COPY; return how
        many entries were stored.

        All or nothing like `add_entries`, under the same ingest lock, so the sequencer
        orders it the same way. The rows go to the server as they are: no Python per
        record. COPY cannot skip a row, so an entry whose leaf hash is already stored
        (or twice in `chunks`) makes it store nothing and raise DuplicateEntries; the
        caller then stores the same records with `add_entries`, which skips them. If
        iterating `chunks` raises, nothing is stored.
        """
        if not self.is_postgres:
            raise StoreError("copy_entries needs PostgreSQL; use add_entries")
        import psycopg  # the PostgreSQL driver: not loaded on SQLite

        count = 0
        with self.engine.begin() as conn:
            self.lock_ingest(conn)
            driver = conn.connection.driver_connection
            if not isinstance(driver, psycopg.Connection):
                raise StoreError(f"copy_entries needs the psycopg driver, not {type(driver)}")
            statement = f"COPY entries ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            try:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(COPY_HEADER)
                    for rows, leaves in chunks:
                        copy.write(rows)
                        count += len(leaves) // HASH_SIZE
                    copy.write(COPY_TRAILER)
            except psycopg.errors.UniqueViolation as error:
                raise DuplicateEntries(
                    f"a leaf hash is already stored: {error.diag.message_detail}"
                ) from None
            faults.point("ingest.before_commit")
        return count

    def lock_ingest(self, conn: Connection) -> None:
        """Take the ingest lock for this transaction (before `insert_entries`)."""
        if self.is_postgres:
            # Shared with other ingest transactions; the sequencer's barrier waits
            # for all of them, so no entry commits behind a sealed seq.
            conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_LOCK})

    def insert_entries(self, conn: Connection, batch: Sequence[Entry]) -> int:
        """Store `batch` in the caller's transaction, which took `lock_ingest`; how many
        are new."""
        if not batch:
            return 0
        mark = "%s" if self.is_postgres else "?"
        sql = (
            "INSERT INTO entries (leaf_hash, kind, ts, external_id, account_id, model, record) "
            f"VALUES ({', '.join([mark] * 7)}) ON CONFLICT (leaf_hash) DO NOTHING"
        )
        # Entries are tuples in column order: straight to the driver.
        return int(conn.exec_driver_sql(sql, list(batch)).rowcount)

    def ingest_barrier(self) -> int:
        """The highest seq below which no ingest transaction is still in flight.

        SQLite has one writer at a time, so every visible seq is final. On PostgreSQL
        ingest holds a shared advisory lock; taking it exclusively waits for those
        transactions to end, after which later inserts draw higher seqs.
        """
        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})
            return int(conn.execute(select(func.coalesce(func.max(entries.c.seq), 0))).scalar_one())

    # -- sequencing (called inside one transaction) ----------------------------------

    def read_state(self, conn: Connection) -> LogState:
        """The current log state."""
        tree_size, root, last_seq = conn.exec_driver_sql(
            "SELECT tree_size, root, last_seq FROM log_state WHERE id = 1"
        ).one()
        return LogState(int(tree_size), bytes(root), int(last_seq))

    def read_pending(
        self, conn: Connection, after_seq: int, upto_seq: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """(seq, leaf_hash) of entries after `after_seq` up to `upto_seq`, oldest first."""
        mark = "%s" if self.is_postgres else "?"
        # The hot read of sealing: straight to the driver, no per-row processing.
        result = conn.exec_driver_sql(
            f"SELECT seq, leaf_hash FROM entries WHERE seq > {mark}"
            f" AND seq <= {mark} ORDER BY seq LIMIT {mark}",
            (after_seq, upto_seq, limit),
        )
        return [(seq, bytes(h)) for seq, h in result.cursor.fetchall()]

    def read_tiles(self, conn: Connection, keys: Iterable[TileKey]) -> dict[TileKey, bytes]:
        """The stored hashes of the given tiles, in one query per TILES_PER_QUERY of them
        (absent tiles are left out)."""
        wanted = sorted(set(keys))
        mark = "%s" if self.is_postgres else "?"
        found: dict[TileKey, bytes] = {}
        # SQLite refuses an expression more than 1,000 deep: a few hundred terms a query.
        for start in range(0, len(wanted), TILES_PER_QUERY):
            chunk = wanted[start : start + TILES_PER_QUERY]
            where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(chunk))
            params = tuple(value for key in chunk for value in key)
            rows = conn.exec_driver_sql(
                f"SELECT level, idx, hashes FROM tiles WHERE {where}", params
            )
            found.update(((level, idx), bytes(data)) for level, idx, data in rows.cursor.fetchall())
        return found

    def write_tiles(self, conn: Connection, written: dict[TileKey, bytes]) -> None:
        """Insert or widen tiles."""
        if not written:
            return
        insert = pg_insert(tiles) if self.is_postgres else sqlite_insert(tiles)
        statement = insert.on_conflict_do_update(
            index_elements=["level", "idx"],
            set_={"width": insert.excluded.width, "hashes": insert.excluded.hashes},
        )
        conn.execute(
            statement,
            [
                {"level": level, "idx": idx, "width": len(data) // HASH_SIZE, "hashes": data}
                for (level, idx), data in written.items()
            ],
        )

    def add_run(self, conn: Connection, run: Run) -> None:
        """Record a run of sequenced entries, extending the last run when contiguous."""
        last = conn.execute(select(runs).order_by(runs.c.first_seq.desc()).limit(1)).first()
        if (
            last is not None
            and last.last_seq + 1 == run.first_seq
            and last.first_index + (last.last_seq - last.first_seq) + 1 == run.first_index
        ):
            conn.execute(
                runs.update()
                .where(runs.c.first_seq == last.first_seq)
                .values(last_seq=run.last_seq)
            )
        else:
            conn.execute(
                runs.insert().values(
                    first_seq=run.first_seq, last_seq=run.last_seq, first_index=run.first_index
                )
            )

    def replace_state(
        self,
        conn: Connection,
        old: LogState,
        new: LogState,
        created_at: str,
        note: str | None = None,
    ) -> None:
        """Move the log from `old` to `new` (compare-and-swap) and keep the checkpoint,
        with its C2SP signed note when given."""
        result = conn.execute(
            log_state.update()
            .where(log_state.c.id == 1, log_state.c.tree_size == old.tree_size)
            .values(tree_size=new.tree_size, root=new.root, last_seq=new.last_seq)
        )
        if result.rowcount != 1:
            raise ConcurrentSealError(
                f"log state is no longer at tree size {old.tree_size}: another sequencer sealed"
            )
        conn.execute(
            checkpoints.insert().values(
                tree_size=new.tree_size,
                root=new.root,
                created_at=created_at,
                last_seq=new.last_seq,
                note=note,
            )
        )

    # -- reads ------------------------------------------------------------------------

    def state(self) -> LogState:
        """The latest checkpoint."""
        with self.read() as conn:
            return self.read_state(conn)

    def checkpoint_root(self, conn: Connection, tree_size: int) -> bytes | None:
        """The root sealed at exactly `tree_size`, if a checkpoint was kept there."""
        mark = "%s" if self.is_postgres else "?"
        root = conn.exec_driver_sql(
            f"SELECT root FROM checkpoints WHERE tree_size = {mark}", (tree_size,)
        ).scalar()
        return None if root is None else bytes(root)

    def checkpoint(self, tree_size: int) -> LogState | None:
        """The checkpoint sealed at exactly `tree_size`, if any."""
        with self.read() as conn:
            row = conn.execute(
                select(checkpoints).where(checkpoints.c.tree_size == tree_size)
            ).first()
        return (
            None
            if row is None
            else LogState(int(row.tree_size), bytes(row.root), int(row.last_seq))
        )

    def pending_count(self) -> int:
        """Entries stored but not yet sequenced."""
        with self.read() as conn:
            state = self.read_state(conn)
            # The upper bound keeps PostgreSQL on the primary key even before it has
            # statistics for a freshly loaded table (it would scan the whole table).
            newest = select(func.max(entries.c.seq)).scalar_subquery()
            return int(
                conn.execute(
                    select(func.count()).where(
                        entries.c.seq > state.last_seq, entries.c.seq <= newest
                    )
                ).scalar_one()
            )

    def leaf_index_of_seq(self, conn: Connection, seq: int) -> int | None:
        """The leaf index of entry `seq`, or None while it is pending."""
        mark = "%s" if self.is_postgres else "?"
        row = conn.exec_driver_sql(
            f"SELECT first_seq, last_seq, first_index FROM runs WHERE first_seq <= {mark} "
            "ORDER BY first_seq DESC LIMIT 1",
            (seq,),
        ).first()
        if row is None or seq > row[1]:
            return None
        return int(row[2] + seq - row[0])

    def find_entry(self, conn: Connection, leaf_hash: bytes) -> StoredEntry | None:
        """The entry with this leaf hash, with its leaf index (None while pending)."""
        mark = "%s" if self.is_postgres else "?"
        row = conn.exec_driver_sql(
            f"SELECT {_ENTRY_COLUMNS} FROM entries e {_RUN_JOIN} WHERE e.leaf_hash = {mark}",
            (leaf_hash,),
        ).first()
        return None if row is None else _stored_entry(leaf_hash, tuple(row))

    def state_and_entry(
        self, conn: Connection, leaf_hash: bytes
    ) -> tuple[LogState, StoredEntry | None]:
        """`read_state` and `find_entry` in one round trip (the hot read of a proof)."""
        mark = "%s" if self.is_postgres else "?"
        row = conn.exec_driver_sql(
            f"SELECT s.tree_size, s.root, s.last_seq, {_ENTRY_COLUMNS} FROM log_state s"
            f" LEFT JOIN entries e ON e.leaf_hash = {mark} {_RUN_JOIN} WHERE s.id = 1",
            (leaf_hash,),
        ).one()
        state = LogState(int(row[0]), bytes(row[1]), int(row[2]))
        return state, None if row[3] is None else _stored_entry(leaf_hash, tuple(row[3:]))

    def tile_reader(self, conn: Connection, size: int | None = None) -> TileCache:
        """A caching tile reader on `conn`, for computing proofs in the tree of `size`
        (given: partial tiles may come from the shared cache too)."""
        return TileCache(self, conn, size)


_ENTRY_COLUMNS = (
    "e.seq, e.kind, e.ts, e.record, e.erased_at, e.erased_by,"
    " r.first_seq, r.last_seq, r.first_index"
)
_RUN_JOIN = (
    "LEFT JOIN runs r ON r.first_seq = (SELECT max(first_seq) FROM runs WHERE first_seq <= e.seq)"
)
"""An entry's columns and the run that sequenced it (none while it is pending): its
leaf index in the same round trip."""


def _stored_entry(leaf_hash: bytes, row: tuple[Any, ...]) -> StoredEntry:
    """The entry of a row of `_ENTRY_COLUMNS`."""
    seq, first_seq, last_seq, first_index = int(row[0]), row[6], row[7], row[8]
    sequenced = first_seq is not None and seq <= last_seq
    return StoredEntry(
        seq,
        leaf_hash,
        row[1],
        row[2],
        bytes(row[3]),
        int(first_index + seq - first_seq) if sequenced else None,
        row[4],
        None if row[5] is None else bytes(row[5]),
    )


class TileCache:
    """Tiles for one request, read in as few queries as possible.

    Hashes inside a tile never change once written, so built `Tile`s are also kept in
    the store's `shared_tiles` cache, shared by every request on that store (least
    recently used dropped first; a partial tile is replaced by a wider one). A full tile
    answers every request; a partial one only a request whose tree `size` is known and
    needs no more of the tile's hashes than it holds.
    """

    def __init__(self, store: Store, conn: Connection, size: int | None = None) -> None:
        self._store = store
        self._conn = conn
        self._size = size
        self._tiles: dict[TileKey, Tile] = {}
        self._shared = store.shared_tiles
        self._lock = store.shared_tiles_lock

    def _needed(self, key: TileKey) -> int:
        """How many of tile `key`'s hashes the tree of this request's size has."""
        if self._size is None:
            return TILE_WIDTH
        level, index = key
        return min(TILE_WIDTH, (self._size >> (TILE_HEIGHT * level)) - index * TILE_WIDTH)

    def prefetch(self, keys: Iterable[TileKey]) -> None:
        """Load every tile of `keys` not yet known, in one query."""
        missing = []
        with self._lock:
            for key in keys:
                if key in self._tiles:
                    continue
                shared = self._shared.get(key)
                if shared is not None and shared.width >= self._needed(key):
                    self._shared.move_to_end(key)
                    self._tiles[key] = shared
                else:
                    missing.append(key)
        if not missing:
            return
        for key, data in self._store.read_tiles(self._conn, missing).items():
            tile = self._tiles[key] = Tile(data)
            with self._lock:
                known = self._shared.get(key)
                if known is None or known.width < tile.width:
                    self._shared[key] = tile
                    self._shared.move_to_end(key)
                    if len(self._shared) > SHARED_TILE_CACHE:
                        self._shared.popitem(last=False)

    def __call__(self, key: TileKey) -> Tile:
        tile = self._tiles.get(key)
        if tile is None:
            self.prefetch([key])
            tile = self._tiles.get(key)
            if tile is None:
                raise StoreError(f"tile {tile_path(*key)} is missing: the log storage is damaged")
        return tile


__all__ = [
    "TILE_WIDTH",
    "ConcurrentSealError",
    "DuplicateEntries",
    "LogState",
    "Run",
    "Store",
    "StoreError",
    "StoredEntry",
]
