"""The verifiable index kept by the sequencer, on real SQLite and PostgreSQL: R(S) of
every seal equals a replay of the log through the pure IndexBuilder (so the keys taken
from stored columns are the records' keys), a log sealed without the index is indexed
by its next seal, proofs build at every sealed size, and a failed seal leaves no index
rows behind."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sqlalchemy import text

from ledger.core.index import IndexBuilder, build_claim, entry_keys, record_keys, verify_postings
from ledger.core.records import Entry, parse_object
from ledger.service.index import NodesAt, index_root_at
from ledger.service.sequencer import seal
from ledger.store.index import IndexStore
from ledger.store.repository import ConcurrentSealError, Store
from ledger.workload import interaction


def varied(i: int, seed: int = 0) -> dict[str, Any]:
    """Records of every kind, with few accounts so keys repeat across seals."""
    rng = random.Random(seed * 7919 + i)
    pick = rng.random()
    if pick < 0.7:
        return interaction(i, seed=seed, account=f"acct-{rng.randrange(12)}")
    if pick < 0.8:
        return {
            "v": 1,
            "kind": "licence",
            "salt": f"{rng.getrandbits(128):032x}",
            "body": {
                "action": "revoke",
                "licence_id": f"lic-{rng.randrange(4)}",
                "licensee": f"org-{rng.randrange(3)}",
                "reason": f"r{i}",
            },
        }
    if pick < 0.9:
        return {
            "v": 1,
            "kind": "model",
            "salt": f"{rng.getrandbits(128):032x}",
            "body": {
                "artifact_sha256": f"{i:064x}",
                "model_id": f"m-{rng.randrange(3)}",
                "version": f"v{i}",
            },
        }
    return {"v": 1, "kind": "digest", "salt": f"{i:032x}", "body": {"sha256": f"{i:064x}"}}


def entries(count: int, start: int = 0) -> list[Entry]:
    return [parse_object(varied(i)) for i in range(start, start + count)]


def replay(batch: list[Entry], sizes: list[int]) -> dict[int, bytes]:
    """R(S) at each size, from the decoded records (the monitor's replay)."""
    builder = IndexBuilder()
    roots = {}
    for i, entry in enumerate(batch):
        builder.add_record(i, json.loads(entry.canonical))
        if i + 1 in sizes:
            roots[i + 1] = builder.seal()
    return roots


def test_keys_from_columns_are_the_records_keys() -> None:
    for entry in entries(300):
        record = json.loads(entry.canonical)
        assert entry_keys(entry.kind, entry.external_id, entry.account_id, entry.model) == (
            record_keys(record)
        )


def test_every_seal_keeps_the_replayed_index_root(store: Store) -> None:
    batch = entries(700)
    store.add_entries([batch[:400]])
    seal(store, max_batch=150)
    store.add_entries([batch[400:]])
    seal(store, max_batch=150)
    sizes = [150, 300, 400, 550, 700]
    expected = replay(batch, sizes)
    for size in sizes:
        assert index_root_at(store, size) == expected[size]
    with store.read() as conn:
        roots = conn.execute(text("SELECT tree_size FROM index_roots ORDER BY tree_size"))
        assert [r[0] for r in roots] == sizes


def test_a_log_sealed_without_the_index_is_indexed_by_its_next_seal(store: Store) -> None:
    batch = entries(500)
    store.add_entries([batch[:300]])
    seal(store, max_batch=100, index=False)  # a log older than the index
    assert index_root_at(store, 300) is None
    store.add_entries([batch[300:]])
    seal(store, max_batch=1000)
    expected = replay(batch, [300, 500])
    assert index_root_at(store, 300) == expected[300]  # the backfill, kept at the old size
    assert index_root_at(store, 500) == expected[500]
    # and again from an indexed size: sealed without, then with
    more = entries(120, start=500)
    store.add_entries([more])
    seal(store, max_batch=50, index=False)
    store.add_entries([entries(10, start=620)])
    seal(store)
    assert index_root_at(store, 630) == replay(batch + more + entries(10, 620), [630])[630]


def test_proofs_build_at_every_sealed_size(store: Store) -> None:
    batch = entries(400)
    store.add_entries([batch])
    seal(store, max_batch=100)
    index = IndexStore(store)
    records = [json.loads(e.canonical) for e in batch]
    for size in (100, 200, 400):
        last_seq = store.checkpoint(size).last_seq  # type: ignore[union-attr]
        with store.read() as conn:
            for key in (
                "account:acct-3",
                "model:coder-2",
                "licensee:org-1",
                "model_id:m-2",
                "licence:lic-0",
                "account:nobody",
            ):
                kind, value = key.split(":", 1)
                postings = index.postings(conn, kind, value, last_seq)
                assert postings == [
                    i for i, r in enumerate(records[:size]) if key in record_keys(r)
                ]
                claim = build_claim(NodesAt(index, conn, size), size, key, postings)
                assert claim.index_root == index_root_at(store, size)
                verify_postings(claim)


def test_a_seal_that_loses_its_compare_and_swap_writes_no_index_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_entries([entries(50)])
    seal(store)
    store.add_entries([entries(50, start=50)])

    def lose(*_: Any) -> None:
        raise ConcurrentSealError("another sequencer sealed")

    monkeypatch.setattr(store, "replace_state", lose)
    with pytest.raises(ConcurrentSealError):
        seal(store)
    monkeypatch.undo()
    with store.read() as conn:
        assert conn.execute(text("SELECT MAX(tree_size) FROM index_nodes")).scalar() == 50
        assert conn.execute(text("SELECT COUNT(*) FROM index_roots")).scalar() == 1
    seal(store)
    assert index_root_at(store, 100) == replay(entries(100), [100])[100]
