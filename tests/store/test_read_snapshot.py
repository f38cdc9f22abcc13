"""`Store.read()` reads one snapshot of the log on both databases: a seal committing
between two statements of one read is not seen by the second (PostgreSQL reads at READ
COMMITTED unless told otherwise, where each statement sees its own snapshot)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from ledger.core.records import parse_object
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.workload import interaction


def _add(store: Store, start: int, count: int) -> None:
    store.add_entries([[parse_object(interaction(i, seed=5)) for i in range(start, start + count)]])


def test_a_read_sees_one_state_of_the_log_while_a_seal_commits(store: Store) -> None:
    _add(store, 0, 10)
    seal(store)
    _add(store, 10, 5)
    with store.read() as conn:
        before = store.read_state(conn)
        assert before.tree_size == 10
        seal(store)  # commits a new state between this read's two statements
        assert store.read_state(conn) == before
        assert conn.exec_driver_sql("SELECT max(tree_size) FROM checkpoints").scalar_one() == 10
    with store.read() as conn:
        assert store.read_state(conn).tree_size == 15


@pytest.mark.postgres
def test_a_read_cannot_write_on_postgres(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        with store.read() as conn, pytest.raises(DBAPIError, match="read-only transaction"):
            conn.exec_driver_sql("DELETE FROM entries")
    finally:
        store.close()
