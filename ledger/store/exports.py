"""All SQL of the auditor's reads: the log in leaf index order (exports) and the
entries matching a campaign query (evidence packs). Reads only.

Leaf indices are not stored per entry: the runs table maps them (leaf_index =
first_index + seq - first_seq within a run). Runs are assigned in seq order, so leaf
index order is seq order, and "leaf index < n" is "seq <= the seq of leaf n - 1".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from ledger.formats.export_line import Erased, Logged
from ledger.store.repository import Run, Store, StoreError
from ledger.store.schema import entries, runs

EXPORT_WINDOW = 5_000
"""Entries read per query while exporting: memory stays flat whatever the range."""

_IN_CHUNK = 500
"""Account ids per IN (...) list: well under every driver's limit."""


@dataclass(frozen=True)
class RunMap:
    """The runs of a tree, ordered, to map between seqs and leaf indices."""

    runs: tuple[Run, ...]

    @classmethod
    def load(cls, store: Store, conn: Connection, tree_size: int) -> RunMap:
        """The runs holding leaf indices below `tree_size`."""
        rows = conn.execute(
            select(runs.c.first_seq, runs.c.last_seq, runs.c.first_index)
            .where(runs.c.first_index < tree_size)
            .order_by(runs.c.first_index)
        ).all()
        found = tuple(Run(int(a), int(b), int(c)) for a, b, c in rows)
        expected = 0
        for run in found:
            if run.first_index != expected:
                raise StoreError(f"no run holds leaf index {expected}: the log storage is damaged")
            expected = run.first_index + run.last_seq - run.first_seq + 1
        if expected < tree_size:
            raise StoreError(
                f"no run holds leaf index {expected} (tree size"
                f" {tree_size}): the log storage is damaged"
            )
        return cls(found)

    def seq_of(self, leaf_index: int) -> int:
        """The seq of the entry at `leaf_index` (which a run holds)."""
        position = bisect_right([run.first_index for run in self.runs], leaf_index) - 1
        run = self.runs[position]
        return run.first_seq + leaf_index - run.first_index

    def indices_of(self, seqs: Sequence[int]) -> list[int]:
        """The leaf index of each seq (ascending seqs, each held by a run)."""
        firsts = [run.first_seq for run in self.runs]
        out = []
        for seq in seqs:
            run = self.runs[bisect_right(firsts, seq) - 1]
            if seq > run.last_seq:
                raise StoreError(f"entry seq {seq} has no leaf index")
            out.append(run.first_index + seq - run.first_seq)
        return out


def export_records(
    store: Store, from_index: int, to_index: int | None
) -> tuple[int, Iterator[tuple[int, bytes | Erased | Logged]]]:
    """(the end of the range, the entries of leaf indices [from_index, end) in order as
    (leaf index, canonical record), (leaf index, erasure marker) for an erased entry, or
    (leaf index, record and statement) for a digest record that logs a statement).
    `to_index` None means the log's current size.

    Reads on one connection, EXPORT_WINDOW entries per query; the iterator closes the
    connection when exhausted or closed. Raises ValueError for a range the log does
    not hold.
    """
    conn = store.read()
    try:
        size = store.read_state(conn).tree_size
        end = size if to_index is None else to_index
        if from_index < 0 or end < from_index:
            raise ValueError(
                f"need 0 <= from_index <= to_index, got from_index={from_index} to_index={end}"
            )
        if end > size:
            raise ValueError(f"to_index {end} is beyond the log's size {size}")
        run_map = RunMap.load(store, conn, end)
    except BaseException:
        conn.close()
        raise
    return end, _stream(store, conn, run_map, from_index, end)


def _stream(
    store: Store, conn: Connection, run_map: RunMap, start: int, end: int
) -> Iterator[tuple[int, bytes | Erased | Logged]]:
    mark = "%s" if store.is_postgres else "?"
    sql = (
        "SELECT seq, record, erased_at, erased_by, CASE WHEN erased_at IS NULL THEN NULL"
        " ELSE leaf_hash END, CASE WHEN kind = 'digest' AND erased_at IS NULL THEN"
        " (SELECT body FROM statements s WHERE s.leaf_hash = entries.leaf_hash) END,"
        f" key_hashes FROM entries WHERE seq >= {mark} AND seq <= {mark} ORDER BY seq"
    )
    try:
        for run in run_map.runs:
            run_end = run.first_index + run.last_seq - run.first_seq + 1
            low, high = max(start, run.first_index), min(end, run_end)
            index = low
            while index < high:
                count = min(EXPORT_WINDOW, high - index)
                first_seq = run.first_seq + index - run.first_index
                rows = conn.exec_driver_sql(sql, (first_seq, first_seq + count - 1)).fetchall()
                if len(rows) != count:
                    raise StoreError(
                        f"leaf indices {index} to {index + count - 1} should be {count}"
                        f" entries, found {len(rows)}: the log storage is damaged"
                    )
                for offset, row in enumerate(rows):
                    _, record, erased_at, erased_by, leaf, said, key_hashes = row
                    if said is not None:
                        yield index + offset, Logged(bytes(record), bytes(said))
                    elif erased_at is None:
                        yield index + offset, bytes(record)
                    else:
                        yield (
                            index + offset,
                            Erased(bytes(leaf), erased_at, bytes(erased_by), _split(key_hashes)),
                        )
                index += count
    finally:
        conn.close()


def _split(key_hashes: bytes | None) -> tuple[bytes, ...]:
    """An erased entry's index key hashes (entries.key_hashes), in increasing order."""
    data = bytes(key_hashes or b"")
    return tuple(sorted(data[i : i + 32] for i in range(0, len(data), 32)))


@dataclass(frozen=True)
class Filters:
    """Which entries a campaign query selects (None: no filter); ts_from inclusive,
    ts_to exclusive, both in the records' fixed timestamp form."""

    account_ids: tuple[str, ...] | None = None
    ts_from: str | None = None
    ts_to: str | None = None
    model: str | None = None
    kind: str | None = None


def _selects(columns: list[ColumnElement[Any]], filters: Filters) -> list[Select[Any]]:
    """One select per chunk of account ids (one in all without an account filter)."""
    # Erased entries have no record to show: a pack proves the existence of live ones.
    base: Select[Any] = select(*columns).where(entries.c.erased_at.is_(None))
    if filters.ts_from is not None:
        base = base.where(entries.c.ts >= filters.ts_from)
    if filters.ts_to is not None:
        base = base.where(entries.c.ts < filters.ts_to)
    if filters.model is not None:
        base = base.where(entries.c.model == filters.model)
    if filters.kind is not None:
        base = base.where(entries.c.kind == filters.kind)
    if filters.account_ids is None:
        return [base]
    ids = filters.account_ids
    return [
        base.where(entries.c.account_id.in_(ids[i : i + _IN_CHUNK]))
        for i in range(0, len(ids), _IN_CHUNK)
    ]


def matching_entries(
    conn: Connection, filters: Filters, max_seq: int, limit: int
) -> list[tuple[int, bytes, bytes]]:
    """(seq, leaf hash, canonical record) of up to `limit` entries matching `filters`
    with seq <= max_seq, in seq (so leaf index) order."""
    found: list[tuple[int, bytes, bytes]] = []
    columns: list[ColumnElement[Any]] = [entries.c.seq, entries.c.leaf_hash, entries.c.record]
    for query in _selects(columns, filters):
        rows = conn.execute(
            query.where(entries.c.seq <= max_seq).order_by(entries.c.seq).limit(limit)
        )
        found.extend((int(seq), bytes(leaf), bytes(record)) for seq, leaf, record in rows)
    found.sort()
    return found[:limit]


def count_matching(conn: Connection, filters: Filters, after_seq: int) -> int:
    """How many entries matching `filters` have seq > after_seq (newer than a checkpoint,
    or still pending)."""
    total = 0
    for query in _selects([func.count()], filters):
        total += int(conn.execute(query.where(entries.c.seq > after_seq)).scalar_one())
    return total
