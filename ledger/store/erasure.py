"""All SQL of erasure, legal holds and the statements the log commits to.

Guarantees callers rely on:

- `erase` runs inside the caller's transaction: the digest record that logs an erasure
  and the erasure itself commit together or not at all.
- An erased entry keeps its seq, leaf hash, kind and ts (so every proof, the tiles and
  the retention schedule are untouched); its record bytes become empty, its lookup
  columns NULL, and it is marked with the time and the leaf hash of the logging record.
  Its index postings move to `erased_keys` (by key hash), so completeness proofs still
  find it.
- `scrub` makes the destroyed bytes unrecoverable from the database's files where the
  database offers a way: SQLite runs with secure_delete on (freed content is zeroed,
  ledger.store.db) and the WAL is checkpointed and truncated here; PostgreSQL's old row
  versions are dead tuples until VACUUM, which `scrub` runs on the tables touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from ledger.store.repository import Store

CHUNK = 500
"""Parameters per IN (...) list."""

HELD_SCOPES = {"account": ("interaction", "account_id"), "licence": ("licence", "external_id")}
"""Hold scope -> (record kind, entries column) of the entries a hold protects."""


@dataclass(frozen=True)
class Target:
    """A sequenced, not yet erased entry chosen for erasure, with its lookup columns."""

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

    def _select(
        self, conn: Connection, where: str, params: tuple[object, ...], held: bool = False
    ) -> list[Target]:
        """Sequenced entries not erased matching `where`: those under no active hold, or
        with `held` those a hold protects."""
        last_seq = self.store.read_state(conn).last_seq
        holds = f"NOT ({self._not_held()})" if held else self._not_held()
        rows = conn.exec_driver_sql(
            "SELECT seq, leaf_hash, kind, external_id, account_id, model FROM entries"
            f" WHERE erased_at IS NULL AND seq <= {self.mark} AND ({where})"
            # The log's own erasure, hold and lift records hold no personal data and
            # are what the audit checks erasures against: never erased.
            " AND leaf_hash NOT IN (SELECT leaf_hash FROM statements)"
            f" AND {holds} ORDER BY seq",
            (last_seq, *params),
        ).fetchall()
        return [Target(int(r[0]), bytes(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def by_account(self, conn: Connection, account_id: str, held: bool = False) -> list[Target]:
        """The erasable interaction entries of an account (licence records naming it as
        licensee are erased by leaf hash: their commitments back on-chain licences);
        with `held`, those a hold keeps."""
        return self._select(
            conn, f"kind = 'interaction' AND account_id = {self.mark}", (account_id,), held
        )

    def before(self, conn: Connection, ts: str, held: bool = False) -> list[Target]:
        """The erasable entries whose record time is before `ts` (record time form)."""
        return self._select(conn, f"ts < {self.mark}", (ts,), held)

    def by_leaves(
        self, conn: Connection, leaves: Sequence[bytes], held: bool = False
    ) -> list[Target]:
        """The erasable entries among `leaves`."""
        found: list[Target] = []
        for i in range(0, len(leaves), CHUNK):
            chunk = tuple(leaves[i : i + CHUNK])
            marks = ", ".join([self.mark] * len(chunk))
            found.extend(self._select(conn, f"leaf_hash IN ({marks})", chunk, held))
        found.sort(key=lambda target: target.seq)
        return found

    def erased_mark(self, conn: Connection, leaf_hash: bytes) -> ErasedMark | None:
        """How the entry with `leaf_hash` was erased (None: it was not, or is unknown)."""
        row = conn.exec_driver_sql(
            f"SELECT erased_at, erased_by FROM entries WHERE leaf_hash = {self.mark}"
            " AND erased_at IS NOT NULL",
            (leaf_hash,),
        ).first()
        return None if row is None else ErasedMark(row[0], bytes(row[1]))

    # -- erasing ----------------------------------------------------------------------

    def erase(
        self,
        conn: Connection,
        targets: Sequence[Target],
        postings: Sequence[tuple[bytes, int]],
        erased_at: str,
        erased_by: bytes,
    ) -> None:
        """Destroy the openings of `targets` and keep their index `postings` (key hash,
        seq) by key hash, in the caller's transaction."""
        m = self.mark
        if postings:
            conn.exec_driver_sql(
                f"INSERT INTO erased_keys (key_hash, seq) VALUES ({m}, {m})", list(postings)
            )
        conn.exec_driver_sql(
            f"UPDATE entries SET record = {m}, external_id = NULL, account_id = NULL,"
            f" model = NULL, erased_at = {m}, erased_by = {m} WHERE seq = {m}",
            [(b"", erased_at, erased_by, target.seq) for target in targets],
        )

    def live_key(self, conn: Connection, kind: str, column: str, value: str) -> bool:
        """Whether an entry not erased still holds `value` in `column` for record `kind`."""
        row = conn.exec_driver_sql(
            f"SELECT 1 FROM entries WHERE {column} = {self.mark} AND kind = {self.mark} LIMIT 1",
            (value, kind),
        ).first()
        return row is not None

    def blank_key_texts(self, conn: Connection, key_hashes: Sequence[bytes]) -> None:
        """Forget the readable text of index keys (their hashes, counts and frontiers,
        which the index's proofs need, stay)."""
        if not key_hashes:
            return
        conn.exec_driver_sql(
            f"UPDATE index_keys SET key = '' WHERE key_hash = {self.mark}",
            [(key,) for key in key_hashes],
        )

    def erased_postings(self, conn: Connection, key_hash: bytes, last_seq: int) -> list[int]:
        """Seqs of the erased entries filed under `key_hash`, up to `last_seq`."""
        rows = conn.exec_driver_sql(
            f"SELECT seq FROM erased_keys WHERE key_hash = {self.mark} AND seq <= {self.mark}",
            (key_hash, last_seq),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def scrub(self, full: bool = False) -> str:
        """Make destroyed bytes unrecoverable from the database files; says what ran.

        PostgreSQL: VACUUM frees the old row versions, but a page's free space keeps
        their bytes until overwritten; `full` runs VACUUM FULL, which rewrites the
        tables into new files (an exclusive lock for as long as it takes)."""
        if self.store.is_postgres:
            verb = "VACUUM FULL" if full else "VACUUM"
            with self.store.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("entries", "index_keys"):
                    conn.execute(text(f"{verb} {table}"))
            return f"{verb} entries, index_keys"
        raw = self.store.engine.raw_connection()  # outside any transaction, as it must be
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        if busy:
            return "PRAGMA wal_checkpoint(TRUNCATE) blocked by a reader: run it again later"
        return "PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on"

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
