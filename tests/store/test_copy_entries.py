"""The PostgreSQL bulk path of `mledger ingest`: binary COPY rows made where records are
parsed, stored by `Store.copy_entries` all or nothing, under the ingest lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from ledger.core import merkle
from ledger.core.records import Entry, parse_object
from ledger.service.sequencer import seal
from ledger.store.copyrows import copy_row, copy_rows, read_rows
from ledger.store.repository import DuplicateEntries, Store, StoreError
from ledger.workload import interaction


def entries(count: int, seed: int = 0, start: int = 0) -> list[Entry]:
    return [parse_object(interaction(i, seed=seed)) for i in range(start, start + count)]


def chunk(batch: list[Entry]) -> tuple[bytes, bytes]:
    return copy_rows(batch), b"".join(e.leaf_hash for e in batch)


def test_copy_rows_round_trip_with_nulls_and_unicode() -> None:
    batch = entries(5)
    odd = Entry(b"\x07" * 32, "digest", "2026-01-01T00:00:00.000Z", "é" * 3, None, None, b"{}")
    rows = copy_rows([*batch, odd])
    assert read_rows(rows) == [*batch, odd]
    assert copy_row(odd).count(b"\xff\xff\xff\xff") == 2  # account and model are NULL
    with pytest.raises(ValueError, match="leaf hash of 31 bytes"):
        copy_row(odd._replace(leaf_hash=b"\x07" * 31))
    with pytest.raises(ValueError, match="end inside a row"):
        read_rows(rows[:-1])
    with pytest.raises(ValueError, match="end inside a row"):
        read_rows(rows[:1])


def test_copy_entries_needs_postgres(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/ledger.db")
    try:
        with pytest.raises(StoreError, match="needs PostgreSQL"):
            store.copy_entries([chunk(entries(2))])
        assert store.pending_count() == 0
    finally:
        store.close()


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Store]:
    store = Store.open(postgres_url)
    try:
        yield store
    finally:
        store.close()


def stored(store: Store) -> list[bytes]:
    with store.read() as conn:
        return [
            bytes(row[0])
            for row in conn.execute(text("SELECT leaf_hash FROM entries ORDER BY seq"))
        ]


@pytest.mark.postgres
def test_copied_entries_equal_inserted_ones_in_file_order(pg: Store, postgres_url: str) -> None:
    batch = entries(500)
    assert pg.copy_entries([chunk(batch[:200]), chunk(batch[200:])]) == 500
    assert stored(pg) == [e.leaf_hash for e in batch]
    with pg.read() as conn:
        found = pg.find_entry(conn, batch[321].leaf_hash)
    assert found is not None
    assert (found.kind, found.ts, found.record) == ("interaction", batch[321].ts, batch[321][6])
    with pg.read() as conn:
        columns = conn.execute(
            text("SELECT external_id, account_id, model FROM entries WHERE leaf_hash = :h"),
            {"h": batch[7].leaf_hash},
        ).one()
    assert tuple(columns) == batch[7][3:6]
    state = seal(pg)
    assert (state.tree_size, state.root) == (500, merkle.root_hash([e.leaf_hash for e in batch]))


@pytest.mark.postgres
def test_a_stored_leaf_hash_stores_nothing_of_the_copy(pg: Store) -> None:
    batch = entries(300)
    pg.add_entries([batch[250:260]])
    with pytest.raises(DuplicateEntries, match="already stored"):
        pg.copy_entries([chunk(batch[:200]), chunk(batch[200:])])
    assert stored(pg) == [e.leaf_hash for e in batch[250:260]]
    # The same record twice in one copy is refused too.
    with pytest.raises(DuplicateEntries):
        pg.copy_entries([chunk(batch[:5]), chunk(batch[4:6])])
    assert len(stored(pg)) == 10
    # The fallback the CLI takes stores the rest once.
    assert pg.add_entries([batch]) == 290
    assert seal(pg).tree_size == 300


@pytest.mark.postgres
def test_a_failing_source_stores_nothing(pg: Store) -> None:
    batch = entries(100)

    def chunks() -> Iterator[tuple[bytes, bytes]]:
        yield chunk(batch[:50])
        raise ValueError("line 51: bad")

    with pytest.raises(ValueError, match="line 51"):
        pg.copy_entries(chunks())
    assert stored(pg) == []
    assert pg.copy_entries([chunk(batch)]) == 100  # the connection is usable again


@pytest.mark.postgres
def barrier_waits_for(
    pg: Store, writer: threading.Thread, started: threading.Event, release: threading.Event
) -> None:
    """Start `writer`; once it has `started` (holding the ingest lock, before its
    commit), the sequencer's barrier must wait until `release` lets it finish, then
    return the newest seq, the writer's entries included."""
    writer.start()
    assert started.wait(30)
    barriers: list[int] = []
    waiter = threading.Thread(target=lambda: barriers.append(pg.ingest_barrier()))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and barriers == []  # held back by the writer's shared lock
    release.set()
    writer.join(30)
    waiter.join(30)
    with pg.read() as conn:
        newest = conn.execute(text("SELECT max(seq) FROM entries")).scalar_one()
    assert barriers == [newest]


def test_the_sequencer_barrier_waits_for_a_copy_in_flight(pg: Store) -> None:
    """No entry commits behind a sealed seq: the barrier waits for the copy's lock."""
    first, second = entries(40), entries(40, seed=1)
    pg.add_entries([first])
    release, started = threading.Event(), threading.Event()

    def chunks() -> Iterator[tuple[bytes, bytes]]:
        yield chunk(second[:20])
        started.set()
        release.wait(30)
        yield chunk(second[20:])

    copier = threading.Thread(target=pg.copy_entries, args=(chunks(),))
    barrier_waits_for(pg, copier, started, release)
    started_at = time.monotonic()
    assert seal(pg).tree_size == 80
    assert time.monotonic() - started_at < 30


# -- add_group: the service's group commit (one COPY in a savepoint on PostgreSQL) --------


def test_add_group_stores_new_entries_in_order_and_skips_stored_ones(store: Store) -> None:
    batch = entries(60, seed=3)
    assert store.add_group([batch[:25], [], batch[25:40]]) == 40
    assert stored(store) == [e.leaf_hash for e in batch[:40]]
    # A retry of a stored batch: nothing new, the stored entries keep their seqs.
    with store.read() as conn:
        before = conn.execute(text("SELECT leaf_hash, seq FROM entries ORDER BY seq")).all()
    assert store.add_group([batch[25:40]]) == 0
    # One new and one stored record; the same record twice in one group.
    assert store.add_group([[batch[40], batch[3]], [batch[41], batch[41]]]) == 2
    assert store.add_group([batch[42:60], batch[50:52]]) == 18
    with store.read() as conn:
        after = conn.execute(text("SELECT leaf_hash, seq FROM entries ORDER BY seq")).all()
    assert after[:40] == before
    assert [bytes(leaf) for leaf, _ in after] == [e.leaf_hash for e in batch]
    assert seal(store).root == merkle.root_hash([e.leaf_hash for e in batch])


@pytest.mark.postgres
def test_add_group_takes_the_ingest_lock_before_its_copy(pg: Store) -> None:
    """The sequencer's barrier waits for a group in flight, and a group whose COPY fails
    on a stored leaf hash stores its new entries once, still under the lock."""
    first, second = entries(30), entries(30, seed=1)
    pg.add_group([first])
    release, started = threading.Event(), threading.Event()

    class Held(list[list[Entry]]):
        """Batches whose reading (after the lock, before the COPY) waits for `release`."""

        def __iter__(self) -> Iterator[list[Entry]]:
            started.set()
            release.wait(30)
            return super().__iter__()

    added: list[int] = []
    committer = threading.Thread(
        target=lambda: added.append(pg.add_group(Held([second[:10], first[:5]])))
    )
    barrier_waits_for(pg, committer, started, release)
    assert added == [10]
    assert stored(pg) == [e.leaf_hash for e in [*first, *second[:10]]]
