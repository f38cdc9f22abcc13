"""The anchors repository (ledger/store/anchors.py) on both backends: one deployment per
database, unique sizes, and every state change a compare-and-swap."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from ledger.store.anchors import (
    MAX_ERROR_LENGTH,
    AnchorBlock,
    AnchorRepository,
    AnchorStatus,
    Deployment,
    StaleAnchorError,
)
from ledger.store.repository import Store, StoreError

DEPLOYMENT = Deployment(
    31337, b"\x05" * 20, b"\x8b" * 32, "model-ledger", b"\xf3" * 20, 1, "2026-06-05T12:00:00.000Z"
)
ROOT = b"\x11" * 32


def test_tables_exist_and_one_deployment_per_database(store: Store) -> None:
    assert {"deployment", "chain_calls"} <= set(inspect(store.engine).get_table_names())
    assert {"anchors", "licence_commitments"} <= set(inspect(store.engine).get_view_names())
    repo = AnchorRepository(store)
    assert repo.deployment() is None
    repo.record_deployment(DEPLOYMENT)
    assert repo.deployment() == DEPLOYMENT
    with pytest.raises(StoreError, match="already records a deployment"):
        repo.record_deployment(DEPLOYMENT)


def test_anchor_life_cycle_by_compare_and_swap(store: Store) -> None:
    repo = AnchorRepository(store)
    pending = repo.add_pending(10, ROOT, "t0")
    assert pending is not None and pending.status is AnchorStatus.PENDING and pending.attempts == 0
    assert repo.add_pending(10, ROOT, "t0") is None  # one row per size

    submitted = repo.submit(pending, 0, b"\xaa" * 32, 7, "t1")
    assert (submitted.status, submitted.tx_hash, submitted.nonce, submitted.attempts) == (
        AnchorStatus.SUBMITTED,
        b"\xaa" * 32,
        7,
        1,
    )
    with pytest.raises(StaleAnchorError):
        repo.submit(pending, 0, b"\xbb" * 32, 8, "t1")  # a stale view changes nothing
    assert repo.get(10) == submitted

    block = AnchorBlock(b"\xaa" * 32, 42, b"\xcc" * 32, 1_780_000_000, 77_426)
    confirmed = repo.confirm(submitted, block, "t2")
    assert (
        confirmed.block_number,
        confirmed.block_hash,
        confirmed.block_timestamp,
        confirmed.gas_used,
    ) == (
        42,
        b"\xcc" * 32,
        1_780_000_000,
        77_426,
    )
    assert repo.latest_confirmed() == confirmed
    assert repo.confirmed_since(40, 10) == [confirmed] and repo.confirmed_since(43, 10) == []

    reopened = repo.reopen(confirmed, "x" * (MAX_ERROR_LENGTH + 50), "t3")
    assert reopened.status is AnchorStatus.PENDING and reopened.block_hash is None
    assert reopened.tx_hash == b"\xaa" * 32  # the lost attempt stays on record
    assert len(reopened.last_error or "") == MAX_ERROR_LENGTH
    with pytest.raises(StaleAnchorError):
        repo.confirm(confirmed, block, "t4")

    moved = repo.retarget(reopened, 15, b"\x22" * 32, "t5")
    assert (moved.tree_size, moved.root) == (15, b"\x22" * 32)
    assert repo.add_pending(20, ROOT, "t6") is not None
    assert [a.tree_size for a in repo.open_anchors()] == [15, 20]
    assert repo.newest().tree_size == 20  # type: ignore[union-attr]
    with pytest.raises(StaleAnchorError, match="has an anchor row already"):
        repo.retarget(moved, 20, ROOT, "t7")
    repo.drop_pending(moved)
    assert [a.tree_size for a in repo.anchors()] == [20]
    assert repo.count_by_status() == {
        AnchorStatus.PENDING: 1,
        AnchorStatus.SUBMITTED: 0,
        AnchorStatus.CONFIRMED: 0,
    }
