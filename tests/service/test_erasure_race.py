"""A completeness proof read while an erasure commits, on a real PostgreSQL database
(hostile review): each statement of a PostgreSQL read sees what is committed when it
starts, so a key's postings must be read in one statement, live and erased together."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from ledger.core.index.keys import key_hash
from ledger.service.completeness import build_completeness
from ledger.service.erasure import erase
from ledger.store.anchors import AnchorRepository, Deployment
from ledger.store.repository import Store
from ledger.verify.completeness import verify_completeness
from tests.service.test_erasure import SECRET, _fill
from tests.service.test_window_blocks import NOW, anchored


def _waiting(admin: psycopg.Connection[Any], query: str) -> bool:
    """Whether a session waits on a lock running a statement LIKE `query` ends with %."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        (query + "%",),
    ).fetchone()
    return row is not None and row[0] > 0


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class _Run(threading.Thread):
    """A call in a thread, keeping its result or error."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            self.error = error


@pytest.mark.postgres
def test_completeness_read_across_an_erasure_commit(postgres_url: str) -> None:
    """The postings of the key being erased are read live by one statement and erased by
    the next, the erasure committing between them (made to, with locks): the proof must
    still list each entry once and verify, not fail as damaged storage."""
    store = Store.open(postgres_url)
    admin = psycopg.connect(postgres_url, autocommit=True)
    rows = psycopg.connect(postgres_url)
    table = psycopg.connect(postgres_url)
    try:
        anchors = AnchorRepository(store)
        anchors.record_deployment(
            Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
        )
        _fill(store)
        size = anchored(store, anchors)
        key = f"account:{SECRET}"
        before = build_completeness(store, anchors, key, size)
        # The erasure's last statement blanks the key's text: a row lock holds it there,
        # its postings filed and its entries emptied, not committed.
        rows.execute("SELECT 1 FROM index_keys WHERE key_hash = %s FOR UPDATE", (key_hash(key),))
        erasing = _Run(
            lambda: erase(store, "account", "GDPR art. 17", account=SECRET, scrub_patience=0.5)
        )
        erasing.start()
        _until(lambda: _waiting(admin, "UPDATE index_keys"), "the erasure")
        # Queued behind the erasure: the proof's read of erased_postings waits behind it
        # until the erasure has committed.
        locking = _Run(lambda: table.execute("LOCK TABLE erased_postings IN ACCESS EXCLUSIVE MODE"))
        locking.start()
        _until(lambda: _waiting(admin, "LOCK TABLE erased_postings"), "the table lock")
        proving = _Run(lambda: build_completeness(store, anchors, key, size))
        proving.start()
        _until(lambda: _waiting(admin, "SELECT %FROM erased_postings"), "the proof")
        rows.commit()  # the erasure commits
        erasing.join(20)
        locking.join(20)
        assert erasing.error is None and locking.error is None
        table.commit()
        proving.join(20)
        assert proving.error is None, proving.error
        after = proving.result
        claim = ("index_root", "count", "postings_root", "map_proof", "postings_proof")
        assert [after[field] for field in claim] == [before[field] for field in claim]
        assert [e["leaf_index"] for e in after["entries"]] == [
            e["leaf_index"] for e in before["entries"]
        ]
        assert verify_completeness(json.dumps(after), None).valid
    finally:
        for conn in (rows, table, admin):
            conn.close()
        store.close()
