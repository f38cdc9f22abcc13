"""All SQL the HTTP API needs beyond the log's core: search, seqs of new entries,
owners, checkpoints with their time. Reads only; each call is one snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.store.repository import Store
from ledger.store.schema import checkpoints, entries, index_roots

MAX_PAGE = 1000
"""Most entries one search page returns."""

_IN_CHUNK = 500  # leaf hashes per IN (...) list: well under every driver's limit


@dataclass(frozen=True)
class Found:
    """One search hit: the entry's lookup columns, seq and leaf index (None while pending)."""

    seq: int
    leaf_hash: bytes
    kind: str
    ts: str
    external_id: str | None
    account_id: str | None
    model: str | None
    leaf_index: int | None


@dataclass(frozen=True)
class Checkpoint:
    """A sealed checkpoint and when it was sealed."""

    tree_size: int
    root: bytes
    created_at: str
    index_root: bytes = NO_INDEX_ROOT
    """R(S) of the verifiable index; zero for a size sealed before the index."""


def seqs_of(store: Store, leaf_hashes: Sequence[bytes]) -> dict[bytes, int]:
    """The seq of each stored entry among `leaf_hashes` (one query per 500 hashes)."""
    found: dict[bytes, int] = {}
    mark = "%s" if store.is_postgres else "?"
    with store.read() as conn:
        for start in range(0, len(leaf_hashes), _IN_CHUNK):
            chunk = tuple(leaf_hashes[start : start + _IN_CHUNK])
            # The hot read of ingest: straight to the driver.
            sql = (
                "SELECT leaf_hash, seq FROM entries WHERE"
                f" leaf_hash IN ({', '.join([mark] * len(chunk))})"
            )
            rows = conn.exec_driver_sql(sql, chunk).fetchall()
            found.update((bytes(leaf), int(seq)) for leaf, seq in rows)
    return found


def account_of(store: Store, leaf_hash: bytes) -> tuple[bool, str | None]:
    """(whether the entry exists, its account id: the licensee of a licence record)."""
    with store.read() as conn:
        row = conn.execute(
            select(entries.c.account_id).where(entries.c.leaf_hash == leaf_hash)
        ).first()
    return (False, None) if row is None else (True, row[0])


def search(
    store: Store,
    *,
    external_id: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    ts_from: str | None = None,
    ts_to: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> tuple[list[Found], int | None]:
    """Entries matching every given filter, in arrival order after seq `after_seq`.

    `ts_from` is inclusive, `ts_to` exclusive (timestamps compare as text: they share
    one fixed format). Returns the page and the seq to continue after (None: the end).
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = select(
        entries.c.seq,
        entries.c.leaf_hash,
        entries.c.kind,
        entries.c.ts,
        entries.c.external_id,
        entries.c.account_id,
        entries.c.model,
    ).where(entries.c.seq > after_seq)
    if external_id is not None:
        query = query.where(entries.c.external_id == external_id)
    if account_id is not None:
        query = query.where(entries.c.account_id == account_id)
    if kind is not None:
        query = query.where(entries.c.kind == kind)
    if ts_from is not None:
        query = query.where(entries.c.ts >= ts_from)
    if ts_to is not None:
        query = query.where(entries.c.ts < ts_to)
    query = query.order_by(entries.c.seq).limit(limit + 1)
    with store.read() as conn:
        rows = conn.execute(query).all()
        page = [
            Found(
                int(r[0]),
                bytes(r[1]),
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                store.leaf_index_of_seq(conn, int(r[0])),
            )
            for r in rows[:limit]
        ]
    return page, (page[-1].seq if len(rows) > limit else None)


def checkpoint(store: Store, tree_size: int | None = None) -> Checkpoint | None:
    """The checkpoint sealed at `tree_size` (default: the latest), if any."""
    query = select(
        checkpoints.c.tree_size,
        checkpoints.c.root,
        checkpoints.c.created_at,
        index_roots.c.index_root,
    ).outerjoin(index_roots, index_roots.c.tree_size == checkpoints.c.tree_size)
    if tree_size is None:
        query = query.order_by(checkpoints.c.tree_size.desc()).limit(1)
    else:
        query = query.where(checkpoints.c.tree_size == tree_size)
    with store.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    index_root = NO_INDEX_ROOT if row[3] is None else bytes(row[3])
    return Checkpoint(int(row[0]), bytes(row[1]), row[2], index_root)
