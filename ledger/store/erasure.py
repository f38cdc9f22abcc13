"""All SQL of erasure, legal holds and the statements the log commits to.

Guarantees callers rely on:

- `erase` runs inside the caller's transaction: the digest record that logs an erasure
  and the erasure itself commit together or not at all.
- An erased entry keeps its seq, leaf hash, kind and ts (so every proof, the tiles and
  the retention schedule are untouched); its record bytes become empty, its lookup
  columns NULL, and it is marked with the time and the leaf hash of the logging record.
  Its index postings are kept by key hash (`erased_postings`, for completeness
  proofs) and in its row (`key_hashes`, for its export line).
- `scrub` makes the destroyed bytes unrecoverable from the database's files where the
  database offers a way: SQLite runs with secure_delete on (freed content is zeroed,
  ledger.store.db) and the WAL is checkpointed and truncated here; PostgreSQL's old row
  versions are dead tuples until VACUUM, which `scrub` runs on the tables touched.
- A scrub owed is never forgotten: `owe_scrub`, in the erasure's own transaction, writes
  the one row of `scrub_pending`; only a scrub that completes fully (the checkpoint not
  blocked, no dead row version kept) deletes it, and only if no erasure committed after
  the scrub read it (compare-and-swap on the latest erasure's record).
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from ledger.core.index.keys import ENTRY_KEY_COLUMNS, STATEMENT_KEY, entry_keys, key_hash
from ledger.core.statements import STATEMENT_SALT_DOMAIN, statement_record
from ledger.store.repository import Store

SCRUB_PATIENCE = 30.0
"""Seconds `scrub` waits on PostgreSQL for open transactions that still see erased row
versions (their snapshots keep VACUUM from removing them)."""

NOT_REMOVABLE = re.compile(r"(\d+) are dead but not yet removable")
"""What VACUUM VERBOSE says (PostgreSQL 14 and later) of versions it had to keep."""

CHUNK = 500
"""Parameters per IN (...) list (SQLite)."""

ERASURE_LOCK = int.from_bytes(
    hashlib.sha256(b"model-ledger/erasure").digest()[:8], "big", signed=True
)
"""PostgreSQL advisory lock key that erasures, holds and lifts take, one at a time."""

ARRAY_CHUNK = 50_000
"""Values per array parameter (PostgreSQL)."""

ERASABLE_KINDS = ("interaction", "digest")
"""Record kinds erasure destroys: what gateways and callers log about people. Licence
and model records are the operator's contract and provenance records, which licence
status and lineage are read from (and whose licensee the chain outbox also keeps):
they are not erased in this version, so a hold on a licence records the obligation
but has nothing to block yet (docs/privacy.md)."""

ERASABLE_SQL = "(" + ", ".join(f"'{kind}'" for kind in ERASABLE_KINDS) + ")"

SPAN_RATIO = 16
"""On PostgreSQL, entries are destroyed by runs of consecutive seqs when there are at
least this many entries per run (else by arrays of seqs)."""


def seq_spans(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending `seqs` as runs of consecutive seqs, (first, last) each."""
    spans: list[tuple[int, int]] = []
    if not seqs:
        return spans
    first = last = seqs[0]
    for seq in seqs[1:]:
        if seq != last + 1:
            spans.append((first, last))
            first = seq
        last = seq
    spans.append((first, last))
    return spans


LOOKUP_COLUMNS = ("external_id", "account_id", "model")
"""The entries columns `ENTRY_KEY_COLUMNS` numbers 0, 1, 2."""

LOOKUPS = ", ".join(LOOKUP_COLUMNS)


def pack_seqs(seqs: Sequence[int]) -> bytes:
    """Seqs as erased_postings.seqs keeps them: 8 bytes each, big endian (in any order:
    readers sort)."""
    return struct.pack(f">{len(seqs)}q", *seqs)


def unpack_seqs(data: bytes) -> tuple[int, ...]:
    """The seqs of an erased_postings.seqs value."""
    return struct.unpack(f">{len(data) // 8}q", data)


def _key_hash_sql(key_kind: str, column: int) -> str:
    """PostgreSQL: `key_hash` of the key "key_kind:value" of a lookup column, as
    `entry_keys` writes it (a NULL as Python's f-string does: "None")."""
    value = f"coalesce({LOOKUP_COLUMNS[column]}, 'None')"
    return f"sha256(convert_to('{key_kind}:' || {value}, 'UTF8'))"


STATEMENT_HASH_SQL = f"sha256(convert_to('{STATEMENT_KEY}', 'UTF8'))"
"""PostgreSQL: `key_hash` of ``statement:log``."""

IS_STATEMENT_SQL = (
    "kind = 'digest' AND seq IN (SELECT e.seq FROM statements s JOIN entries e ON"
    " e.leaf_hash = s.leaf_hash WHERE e.kind = 'digest' AND position("
    """convert_to('"salt":"', 'UTF8') || convert_to(left(encode(sha256("""
    f"'\\x{STATEMENT_SALT_DOMAIN.hex()}'::bytea || decode(e.external_id, 'hex')), 'hex'),"
    """ 32), 'UTF8') || convert_to('"', 'UTF8') IN e.record) > 0)"""
)
"""PostgreSQL condition: the entry is one of the log's own statement records, a digest
record the service stored a statement with whose bytes hold the statement salt
(`ledger.core.statements.statement_record`; statements logged before the salt have a
random one). The service never erases one (`ErasureStore._select`,
`ledger.service.erasure`); should one be erased all the same (by hand), its postings
and key hashes keep ``statement:log``, which the audit fails."""


def _postings_sql() -> str:
    """PostgreSQL: INSERT into erased_postings of the postings of the entries whose seqs
    are in the runs given as two arrays (firsts, lasts): per index key (`entry_keys`,
    hashed by the server as `key_hash` does), the seqs of the entries filed under it,
    packed as `pack_seqs` does in the order the server aggregates them (no sort per key:
    readers sort)."""
    selects = [
        f"SELECT {_key_hash_sql(key_kind, column)}, seq FROM chosen WHERE kind = '{kind}'"
        for kind, keys in ENTRY_KEY_COLUMNS.items()
        for key_kind, column in keys
    ]
    selects.append(f"SELECT {STATEMENT_HASH_SQL}, seq FROM chosen WHERE {IS_STATEMENT_SQL}")
    return (
        "WITH chosen AS MATERIALIZED (SELECT e.seq, e.leaf_hash, e.kind, e.external_id,"
        " e.account_id, e.model FROM unnest(%s::bigint[], %s::bigint[]) AS s(first, last)"
        " JOIN entries e ON e.seq >= s.first AND e.seq <= s.last)"
        " INSERT INTO erased_postings (key_hash, first_seq, seqs) SELECT key_hash, min(seq),"
        " string_agg(int8send(seq), ''::bytea) FROM ("
        + " UNION ALL ".join(selects)
        + ") AS p(key_hash, seq) GROUP BY key_hash"
    )


def _key_hashes_sql() -> str:
    """PostgreSQL: an entry's index key hashes concatenated in `entry_keys` order (the
    value of entries.key_hashes), from its lookup columns."""
    cases = " ".join(
        f"WHEN '{kind}' THEN "
        + " || ".join(_key_hash_sql(key_kind, column) for key_kind, column in keys)
        for kind, keys in ENTRY_KEY_COLUMNS.items()
    )
    statement = f"WHEN {IS_STATEMENT_SQL} THEN {STATEMENT_HASH_SQL}"
    return f"CASE kind {cases} ELSE CASE {statement} ELSE ''::bytea END END"


POSTINGS_SQL = _postings_sql()
"""PostgreSQL: file the postings of the entries in runs of seqs (`_postings_sql`)."""

KEY_HASHES_SQL = _key_hashes_sql()
"""PostgreSQL: entries.key_hashes of an entry being erased (`_key_hashes_sql`)."""


HELD_SCOPES = {"account": ("interaction", "account_id"), "licence": ("licence", "external_id")}
"""Hold scope -> (record kind, entries column) of the entries a hold protects."""


class Target(NamedTuple):
    """A sequenced, not yet erased entry chosen for erasure, with its lookup columns (a
    tuple: built once per erased entry, by the hundred thousand). On PostgreSQL only
    account_id is read; external_id and model are None (`ErasureStore._select`)."""

    seq: int
    leaf_hash: bytes
    kind: str
    external_id: str | None
    account_id: str | None
    model: str | None


@dataclass(frozen=True)
class Hold:
    """A legal hold on an account or a licence; lifted_at None while it holds."""

    id: str
    scope: str
    value: str
    reason: str
    created_at: str
    added_by: bytes
    lifted_at: str | None
    lifted_by: bytes | None


class OwedScrub(NamedTuple):
    """The scrub committed erasures still owe (the row of `scrub_pending`)."""

    erased_by: bytes
    """Leaf hash of the record of the latest erasure that owes it."""
    since: str
    """Time of the oldest erasure that owes it."""
    vacuum_full: bool
    """PostgreSQL: one of them asked for VACUUM FULL."""


@dataclass(frozen=True)
class ErasedMark:
    """When an entry was erased, and the leaf hash of the digest record that says so."""

    erased_at: str
    erased_by: bytes


class ErasureStore:
    """Erasure and holds on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.mark = "%s" if store.is_postgres else "?"

    def serialize(self, conn: Connection) -> None:
        """Take the erasure lock for this transaction, first: erasures, holds and lifts
        run one at a time, so an erasure chooses its entries seeing every hold logged
        before its own record (the order `mledger audit` checks). SQLite's writers are
        one at a time already (BEGIN IMMEDIATE)."""
        if self.store.is_postgres:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ERASURE_LOCK})")

    # -- choosing ---------------------------------------------------------------------

    def _not_held(self) -> str:
        """SQL condition: the entry is under no active hold."""
        clauses = []
        for scope, (kind, column) in HELD_SCOPES.items():
            clauses.append(
                f"NOT (kind = '{kind}' AND {column} IN (SELECT value FROM legal_holds"
                f" WHERE scope = '{scope}' AND lifted_at IS NULL))"
            )
        return " AND ".join(clauses)

    def _select(self, conn: Connection, where: str, params: tuple[object, ...]) -> list[Target]:
        """Sequenced entries not erased matching `where`, under no active hold."""
        last_seq = self.store.read_state(conn).last_seq
        # The driver's own cursor, in the same transaction: plain tuples, no result
        # rows built per entry (a tenth of the time of erasing 100,000 entries).
        cursor = conn.connection.cursor()
        # PostgreSQL files the postings from the rows itself (POSTINGS_SQL): of the
        # lookup columns only account_id, which the service reads the personal keys of
        # (ledger.service.erasure.PERSONAL_KEY_KINDS), crosses the connection.
        lookups = "NULL, account_id, NULL" if self.store.is_postgres else LOOKUPS
        try:
            cursor.execute(
                f"SELECT seq, leaf_hash, kind, {lookups} FROM entries"
                f" WHERE erased_at IS NULL AND seq <= {self.mark} AND ({where})"
                # The log's own erasure, hold and lift records hold no personal data and
                # are what the audit checks erasures against: never erased.
                " AND leaf_hash NOT IN (SELECT leaf_hash FROM statements)"
                f" AND kind IN {ERASABLE_SQL} AND {self._not_held()} ORDER BY seq",
                (last_seq, *params),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        make = Target._make
        if rows and not isinstance(rows[0][1], bytes):
            return [make((r[0], bytes(r[1]), *r[2:])) for r in rows]
        return list(map(make, rows))

    def _held(self, conn: Connection, where: str, params: tuple[object, ...]) -> int:
        """How many sequenced entries not erased matching `where` an active hold keeps."""
        last_seq = self.store.read_state(conn).last_seq
        return int(
            conn.exec_driver_sql(
                f"SELECT count(*) FROM entries WHERE erased_at IS NULL AND seq <= {self.mark}"
                f" AND ({where}) AND kind IN {ERASABLE_SQL} AND NOT ({self._not_held()})",
                (last_seq, *params),
            ).scalar_one()
        )

    _ACCOUNT = "kind = 'interaction' AND account_id = {m}"

    def by_account(self, conn: Connection, account_id: str) -> list[Target]:
        """The erasable interaction entries of an account (licence records naming it as
        licensee are erased by leaf hash: their commitments back on-chain licences)."""
        return self._select(conn, self._ACCOUNT.format(m=self.mark), (account_id,))

    def held_of_account(self, conn: Connection, account_id: str) -> int:
        """How many of the account's interactions a hold keeps."""
        return self._held(conn, self._ACCOUNT.format(m=self.mark), (account_id,))

    def before(self, conn: Connection, ts: str) -> list[Target]:
        """The erasable entries whose record time is before `ts` (record time form)."""
        return self._select(conn, f"ts < {self.mark}", (ts,))

    def held_before(self, conn: Connection, ts: str) -> int:
        """How many entries with a record time before `ts` a hold keeps."""
        return self._held(conn, f"ts < {self.mark}", (ts,))

    def by_leaves(self, conn: Connection, leaves: Sequence[bytes]) -> list[Target]:
        """The erasable entries among `leaves`."""
        found: list[Target] = []
        for chunk in self._chunks(leaves):
            found.extend(self._select(conn, f"leaf_hash {self._in(chunk)}", chunk))
        found.sort(key=lambda target: target.seq)
        return found

    def held_of_leaves(self, conn: Connection, leaves: Sequence[bytes]) -> int:
        """How many of `leaves` a hold keeps."""
        return sum(
            self._held(conn, f"leaf_hash {self._in(chunk)}", chunk)
            for chunk in self._chunks(leaves)
        )

    def erased_mark(self, conn: Connection, leaf_hash: bytes) -> ErasedMark | None:
        """How the entry with `leaf_hash` was erased (None: it was not, or is unknown)."""
        row = conn.exec_driver_sql(
            f"SELECT erased_at, erased_by FROM entries WHERE leaf_hash = {self.mark}"
            " AND erased_at IS NOT NULL",
            (leaf_hash,),
        ).first()
        return None if row is None else ErasedMark(row[0], bytes(row[1]))

    def erased_list(self, conn: Connection, erased_by: bytes) -> list[tuple[int, bytes]]:
        """(seq, leaf hash) of the entries the erasure logged by `erased_by` erased, in
        seq (so leaf) order: the list its statement's ``leaves_root`` commits to."""
        rows = conn.exec_driver_sql(
            f"SELECT seq, leaf_hash FROM entries WHERE erased_by = {self.mark} ORDER BY seq",
            (erased_by,),
        ).cursor.fetchall()
        return [(int(seq), bytes(leaf)) for seq, leaf in rows]

    # -- erasing ----------------------------------------------------------------------

    def _in(self, chunk: tuple[Any, ...]) -> str:
        """`= ANY(%s)` for a chunk of `_chunks` on PostgreSQL, `IN (?, ...)` on SQLite."""
        if self.store.is_postgres:
            return "= ANY(%s)"
        return f"IN ({', '.join(['?'] * len(chunk))})"

    def _chunks(self, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """`values` cut for `_in`: one array per chunk on PostgreSQL, its items on SQLite."""
        size = ARRAY_CHUNK if self.store.is_postgres else CHUNK
        chunks = [values[i : i + size] for i in range(0, len(values), size)]
        if self.store.is_postgres:
            return [(list(chunk),) for chunk in chunks]
        return [tuple(chunk) for chunk in chunks]

    def erase(
        self,
        conn: Connection,
        targets: Sequence[Target],
        erased_at: str,
        erased_by: bytes,
    ) -> None:
        """Destroy the openings of `targets` and keep their index postings (`entry_keys`
        hashed by `key_hash`): in each entry's row (`key_hashes`) and by key hash
        (`erased_postings`, one row per key), in the caller's transaction. Set-based: a
        statement per chunk of entries, whatever their number."""
        seqs = [target.seq for target in targets]
        spans = seq_spans(seqs)
        m = self.mark
        destroy = (
            f"UPDATE entries SET record = {m}, external_id = NULL, account_id = NULL,"
            f" model = NULL, erased_at = {m}, erased_by = {m}, key_hashes = "
        )
        if not self.store.is_postgres:
            hashes = self._file_postings_sqlite(conn, targets)
            conn.exec_driver_sql(
                f"{destroy} {m} WHERE seq = {m}",
                [(b"", erased_at, erased_by, hashes[t.seq], t.seq) for t in targets],
            )
            return
        # The server reads the keys from the rows and hashes them (sha256()): no key
        # string or hash crosses the connection, no Python runs per posting. The
        # postings first: the UPDATE empties the columns they are read from.
        for i in range(0, len(spans), ARRAY_CHUNK):
            part = spans[i : i + ARRAY_CHUNK]
            conn.exec_driver_sql(
                POSTINGS_SQL, ([first for first, _ in part], [last for _, last in part])
            )
        destroy += KEY_HASHES_SQL
        if len(spans) * SPAN_RATIO <= len(seqs):
            # Runs of consecutive seqs (an erasure by time is one or a few): a range
            # scan each, with no list of seqs to bind and look up.
            conn.exec_driver_sql(
                f"{destroy} WHERE seq >= {m} AND seq <= {m}",
                [(b"", erased_at, erased_by, first, last) for first, last in spans],
            )
            return
        for chunk in self._chunks(seqs):
            conn.exec_driver_sql(
                f"{destroy} WHERE seq {self._in(chunk)}", (b"", erased_at, erased_by, *chunk)
            )

    def _file_postings_sqlite(
        self, conn: Connection, targets: Sequence[Target]
    ) -> dict[int, bytes]:
        """SQLite: file the postings of `targets` in erased_postings (hashed here, each
        key once: an account's entries share it); each target's entries.key_hashes."""
        hashes: dict[str, bytes] = {}
        by_key: dict[bytes, list[int]] = {}
        of_entry: dict[int, bytes] = {}
        statements = {leaf for _, leaf in self.statement_entries(conn)}
        for target in targets:
            mine = []
            keys = entry_keys(*target[2:])
            if target.kind == "digest" and target.leaf_hash in statements:
                keys.append(STATEMENT_KEY)  # never erased by the service: see IS_STATEMENT_SQL
            for key in keys:
                hashed = hashes.get(key)
                if hashed is None:
                    hashed = hashes[key] = key_hash(key)
                    by_key[hashed] = []
                by_key[hashed].append(target.seq)
                mine.append(hashed)
            of_entry[target.seq] = b"".join(mine)
        if by_key:
            conn.exec_driver_sql(
                "INSERT INTO erased_postings (key_hash, first_seq, seqs) VALUES (?, ?, ?)",
                [(key, seqs[0], pack_seqs(seqs)) for key, seqs in by_key.items()],
            )
        return of_entry

    def statement_entries(self, conn: Connection) -> list[tuple[int, bytes]]:
        """(seq, leaf hash) of the entries not erased that are the log's own statement
        records (`ledger.core.statements.statement_record`: the salt, read from the few
        records the service stored a statement with), in seq order."""
        rows = conn.exec_driver_sql(
            "SELECT e.seq, e.leaf_hash, e.external_id, e.record FROM statements s"
            " CROSS JOIN entries e WHERE e.leaf_hash = s.leaf_hash AND e.erased_at IS NULL"
            " AND e.kind = 'digest' ORDER BY e.seq"
        ).fetchall()
        return [
            (int(seq), bytes(leaf))
            for seq, leaf, sha256, record in rows
            if statement_record("digest", sha256, bytes(record))
        ]

    def live_values(self, conn: Connection, kind: str, column: str, values: list[str]) -> set[str]:
        """Those of `values` that an entry not erased still holds in `column` for record
        `kind`: one index probe per value that stops at the first such entry (not a
        scan of every entry of the value)."""
        found: set[str] = set()
        exists = f"EXISTS (SELECT 1 FROM entries WHERE {column} = v AND kind = {self.mark})"
        for chunk in self._chunks(values):
            if self.store.is_postgres:
                sql = f"SELECT v FROM unnest(%s::text[]) AS t(v) WHERE {exists}"
                params: tuple[Any, ...] = (*chunk, kind)
            else:
                listed = ", ".join(["(?)"] * len(chunk))
                sql = f"WITH t(v) AS (VALUES {listed}) SELECT v FROM t WHERE {exists}"
                params = (*chunk, kind)
            found.update(str(row[0]) for row in conn.exec_driver_sql(sql, params).fetchall())
        return found

    def blank_key_texts(self, conn: Connection, key_hashes: Sequence[bytes]) -> None:
        """Forget the readable text of index keys (their hashes, counts and frontiers,
        which the index's proofs need, stay)."""
        for chunk in self._chunks(key_hashes):
            conn.exec_driver_sql(
                f"UPDATE index_keys SET key = '' WHERE key_hash {self._in(chunk)}", chunk
            )

    def erased_postings(self, conn: Connection, key_hash: bytes, last_seq: int) -> list[int]:
        """Seqs of the erased entries filed under `key_hash`, up to `last_seq`, ascending."""
        rows = conn.exec_driver_sql(
            f"SELECT seqs FROM erased_postings WHERE key_hash = {self.mark}", (key_hash,)
        ).fetchall()
        return sorted(s for row in rows for s in unpack_seqs(bytes(row[0])) if s <= last_seq)

    def owe_scrub(self, conn: Connection, erased_by: bytes, since: str, vacuum_full: bool) -> None:
        """Record, in the erasure's transaction, that a scrub is owed (kept until a scrub
        completes: a crash before it leaves the record for the next start or erasure)."""
        m = self.mark
        conn.exec_driver_sql(
            "INSERT INTO scrub_pending (id, erased_by, since, vacuum_full)"
            f" VALUES (1, {m}, {m}, {m}) ON CONFLICT (id) DO UPDATE SET"
            " erased_by = excluded.erased_by,"
            " vacuum_full = scrub_pending.vacuum_full OR excluded.vacuum_full",
            (erased_by, since, vacuum_full),
        )

    def owed_scrub(self) -> OwedScrub | None:
        """The scrub committed erasures owe (None: none is owed)."""
        with self.store.read() as conn:
            row = conn.exec_driver_sql(
                "SELECT erased_by, since, vacuum_full FROM scrub_pending WHERE id = 1"
            ).first()
        return None if row is None else OwedScrub(bytes(row[0]), row[1], bool(row[2]))

    def _paid(self, owed: OwedScrub) -> None:
        """Forget the owed scrub `owed`, unless an erasure committed since it was read."""
        with self.store.transaction() as conn:
            conn.exec_driver_sql(
                f"DELETE FROM scrub_pending WHERE id = 1 AND erased_by = {self.mark}",
                (owed.erased_by,),
            )

    def scrub(self, full: bool = False, patience: float = SCRUB_PATIENCE) -> str:
        """`_scrub`, then, if it completed fully (the checkpoint was not blocked, VACUUM
        kept no dead row version), forget the scrub owed when it began (`owe_scrub`).
        An owed scrub that asked for VACUUM FULL runs it."""
        owed = self.owed_scrub()
        full = full or (owed is not None and owed.vacuum_full)
        said, complete = self._scrub(full, patience)
        if complete and owed is not None:
            self._paid(owed)
        return said

    def _scrub(self, full: bool, patience: float) -> tuple[str, bool]:
        """Make destroyed bytes unrecoverable from the database files; says what ran.

        PostgreSQL: a plain VACUUM removes the old row versions, but only those no open
        transaction of this database might still see; a page's free space keeps their
        bytes until overwritten. So VACUUM runs (VERBOSE, read for the count of dead
        versions it could not remove yet) until none is left or `patience` seconds
        pass; `full` then runs VACUUM FULL, which rewrites the tables into new files
        (an exclusive lock for as long as it takes). VACUUM FULL alone would not do:
        its own snapshot keeps every version deleted after the oldest transaction
        running anywhere in the cluster, so it copies them into the new files.

        Returns what ran, and whether it completed fully."""
        if self.store.is_postgres:
            kept = self._vacuum_until_removed(("entries", "index_keys"), patience)
            verb = "VACUUM FULL" if full else "VACUUM"
            if full:
                with self.store.engine.connect() as conn:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                    for table in ("entries", "index_keys"):
                        conn.execute(text(f"VACUUM FULL {table}"))
            if kept is None:
                return (
                    f"{verb} entries, index_keys; whether every old row version was removed"
                    " is not known: VACUUM VERBOSE's report was not in English (the"
                    " server's lc_messages); check with it yourself"
                ), False
            if kept:
                return (
                    f"{verb} entries, index_keys; {kept} old row versions are still visible"
                    " to open transactions: run the erasure again later to remove them"
                ), False
            return f"{verb} entries, index_keys", True
        raw = self.store.engine.raw_connection()  # outside any transaction, as it must be
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        if busy:
            return "PRAGMA wal_checkpoint(TRUNCATE) blocked by a reader: run it again later", False
        return "PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on", True

    def _vacuum_until_removed(self, tables: Sequence[str], patience: float) -> int | None:
        """VACUUM `tables` until PostgreSQL reports no dead row version it had to keep,
        or `patience` runs out; how many it still kept at the end (None: its report
        could not be read, as when the server's messages are in another language)."""
        deadline = time.monotonic() + patience
        notices: list[str] = []
        with self.store.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = conn.connection.driver_connection
            assert driver is not None

            def heard(notice: Any) -> None:
                notices.append(notice.message_primary)

            # The connection goes back to the pool: its handler must not stay on it.
            driver.add_notice_handler(heard)
            try:
                while True:
                    notices.clear()
                    for table in tables:
                        conn.execute(text(f"VACUUM (VERBOSE, INDEX_CLEANUP ON) {table}"))
                    counts = [int(n) for note in notices for n in NOT_REMOVABLE.findall(note)]
                    if len(counts) < len(tables):
                        return None
                    kept = sum(counts)
                    if not kept or time.monotonic() >= deadline:
                        return kept
                    time.sleep(0.2)
            finally:
                driver.remove_notice_handler(heard)

    # -- statements and holds -----------------------------------------------------------

    def add_statement(
        self, conn: Connection, leaf_hash: bytes, kind: str, created_at: str, body: bytes
    ) -> None:
        """Keep the statement a digest record commits to."""
        m = self.mark
        conn.exec_driver_sql(
            "INSERT INTO statements (leaf_hash, kind, created_at, body)"
            f" VALUES ({m}, {m}, {m}, {m})",
            (leaf_hash, kind, created_at, body),
        )

    def statement(self, conn: Connection, leaf_hash: bytes) -> tuple[str, bytes] | None:
        """(kind, canonical bytes) of the statement logged by the digest record `leaf_hash`."""
        row = conn.exec_driver_sql(
            f"SELECT kind, body FROM statements WHERE leaf_hash = {self.mark}", (leaf_hash,)
        ).first()
        return None if row is None else (row[0], bytes(row[1]))

    def add_hold(self, conn: Connection, hold: Hold) -> None:
        """Place a hold."""
        m = self.mark
        conn.exec_driver_sql(
            "INSERT INTO legal_holds (id, scope, value, reason, created_at, added_by)"
            f" VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
            (hold.id, hold.scope, hold.value, hold.reason, hold.created_at, hold.added_by),
        )

    def lift_hold(self, conn: Connection, hold_id: str, lifted_at: str, lifted_by: bytes) -> bool:
        """Lift an active hold; False if there is no active hold `hold_id`."""
        m = self.mark
        result = conn.exec_driver_sql(
            f"UPDATE legal_holds SET lifted_at = {m}, lifted_by = {m}"
            f" WHERE id = {m} AND lifted_at IS NULL",
            (lifted_at, lifted_by, hold_id),
        )
        return result.rowcount == 1

    def holds(self, conn: Connection, *, active_only: bool = False) -> list[Hold]:
        """Every hold, oldest first (only those still holding with `active_only`)."""
        where = " WHERE lifted_at IS NULL" if active_only else ""
        rows = conn.exec_driver_sql(
            "SELECT id, scope, value, reason, created_at, added_by, lifted_at, lifted_by"
            f" FROM legal_holds{where} ORDER BY created_at, id"
        ).fetchall()
        return [
            Hold(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                bytes(r[5]),
                r[6],
                None if r[7] is None else bytes(r[7]),
            )
            for r in rows
        ]

    def hold(self, conn: Connection, hold_id: str) -> Hold | None:
        """The hold `hold_id`, if any."""
        return next((h for h in self.holds(conn) if h.id == hold_id), None)
