"""What c2sp.org/tlog-tiles serves, read from the log's tables: the latest checkpoint
and its signed note, a tile's stored hashes, and the canonical records of a run of
leaves (an entry bundle)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update

from ledger.formats.tlog_tiles import erased_entry
from ledger.store.repository import Store
from ledger.store.schema import checkpoints, entries, runs


@dataclass(frozen=True)
class NotedCheckpoint:
    """A sealed checkpoint and its signed note (None: not signed yet)."""

    tree_size: int
    root: bytes
    note: str | None


def latest(store: Store) -> NotedCheckpoint | None:
    """The latest checkpoint with its note, if the log has one."""
    query = (
        select(checkpoints.c.tree_size, checkpoints.c.root, checkpoints.c.note)
        .order_by(checkpoints.c.tree_size.desc())
        .limit(1)
    )
    with store.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else NotedCheckpoint(int(row[0]), bytes(row[1]), row[2])


def note_of(store: Store, tree_size: int, root: bytes) -> str | None:
    """The stored note of the checkpoint (tree_size, root), if it has one."""
    query = select(checkpoints.c.note).where(
        checkpoints.c.tree_size == tree_size, checkpoints.c.root == root
    )
    with store.read() as conn:
        note = conn.execute(query).scalar()
    return None if note is None else str(note)


def keep_note(store: Store, tree_size: int, root: bytes, note: str) -> None:
    """Store the note of the checkpoint (tree_size, root) if it has none yet."""
    with store.transaction() as conn:
        conn.execute(
            update(checkpoints)
            .where(
                checkpoints.c.tree_size == tree_size,
                checkpoints.c.root == root,
                checkpoints.c.note.is_(None),
            )
            .values(note=note)
        )


def tile(store: Store, level: int, index: int) -> bytes | None:
    """The stored hashes of tile (level, index): the widest written, or None."""
    mark = "%s" if store.is_postgres else "?"
    with store.read() as conn:  # plain SQL: this read serves every tile request
        found = conn.exec_driver_sql(
            f"SELECT hashes FROM tiles WHERE level = {mark} AND idx = {mark}", (level, index)
        ).scalar()
    return None if found is None else bytes(found)


def records(store: Store, first_index: int, count: int) -> list[bytes]:
    """The canonical records (RFC 8785 bytes) of leaves [first_index, first_index + count),
    in leaf order, an erased entry's erasure marker in its place
    (`ledger.formats.tlog_tiles.erased_entry`); fewer when the log has fewer sequenced
    leaves."""
    end = first_index + count
    with store.read() as conn:
        containing = (
            select(runs.c.first_seq, runs.c.last_seq, runs.c.first_index)
            .where(runs.c.first_index <= first_index)
            .order_by(runs.c.first_index.desc())
            .limit(1)
        )
        later = (
            select(runs.c.first_seq, runs.c.last_seq, runs.c.first_index)
            .where(runs.c.first_index > first_index, runs.c.first_index < end)
            .order_by(runs.c.first_index)
        )
        found = list(conn.execute(containing)) + list(conn.execute(later))
        spans = []  # (first seq, last seq) of each piece of the range, in leaf order
        for first_seq, last_seq, run_index in found:
            lo = max(first_index, run_index)
            hi = min(end, run_index + last_seq - first_seq + 1)
            if lo < hi:
                spans.append((first_seq + lo - run_index, first_seq + hi - 1 - run_index))
        if not spans:
            return []
        rows = conn.execute(
            select(entries.c.record, entries.c.erased_at, entries.c.erased_by, entries.c.leaf_hash)
            .where(or_(*(and_(entries.c.seq >= a, entries.c.seq <= b) for a, b in spans)))
            .order_by(entries.c.seq)
        )
        return [
            bytes(record) if at is None else erased_entry(bytes(leaf), at, bytes(by))
            for record, at, by, leaf in rows
        ]
