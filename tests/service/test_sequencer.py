"""The sequencer on real SQLite and PostgreSQL: contiguous indices, tiles, proofs,
restart after a failure at every step (failed-and-not-persisted and
failed-but-persisted), and the compare-and-swap between two sequencers."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select, text

from ledger.core import merkle
from ledger.core.merkle.tiles import TILE_WIDTH
from ledger.core.records import Entry, parse_object
from ledger.errors import InvalidRequestError, NotFoundError, NotSequencedError
from ledger.service.proofs import consistency, inclusion
from ledger.service.sequencer import seal, seal_step
from ledger.store.repository import ConcurrentSealError, LogState, Store
from ledger.store.schema import checkpoints, runs, tiles
from ledger.workload import interaction


def make_entries(count: int, seed: int = 0, start: int = 0) -> list[Entry]:
    return [parse_object(interaction(i, seed=seed)) for i in range(start, start + count)]


def test_seal_assigns_contiguous_indices_and_the_rfc9162_root(store: Store) -> None:
    batch = make_entries(700)
    assert store.add_entries([batch[:300], batch[300:]]) == 700
    assert store.pending_count() == 700
    state = seal(store, max_batch=128)  # several transactions
    leaves = [e.leaf_hash for e in batch]
    assert state.tree_size == 700
    assert state.root == merkle.root_hash(leaves)
    assert store.pending_count() == 0
    with store.engine.connect() as conn:
        for i in (0, 1, 255, 256, 699):
            assert store.find_entry(conn, leaves[i]).leaf_index == i  # type: ignore[union-attr]
        # Every seal step kept a checkpoint, each with the root of its own size.
        sizes = [
            r.tree_size for r in conn.execute(select(checkpoints).order_by(checkpoints.c.tree_size))
        ]
    assert sizes == [128, 256, 384, 512, 640, 700]
    assert store.checkpoint(256).root == merkle.root_hash(leaves[:256])  # type: ignore[union-attr]


def test_tiles_follow_tlog_tiles_layout(store: Store) -> None:
    batch = make_entries(2 * TILE_WIDTH + 5)
    store.add_entries([batch])
    seal(store, max_batch=100)
    with store.engine.connect() as conn:
        rows = {(r.level, r.idx): (r.width, bytes(r.hashes)) for r in conn.execute(select(tiles))}
    leaves = [e.leaf_hash for e in batch]
    assert set(rows) == {(0, 0), (0, 1), (0, 2), (1, 0)}
    assert rows[(0, 0)] == (256, b"".join(leaves[:256]))
    assert rows[(0, 2)] == (5, b"".join(leaves[512:]))  # the partial right edge
    assert rows[(1, 0)] == (2, merkle.root_hash(leaves[:256]) + merkle.root_hash(leaves[256:512]))


def test_proofs_from_tiles_verify(store: Store) -> None:
    batch = make_entries(1000)
    store.add_entries([batch[:517]])
    first = seal(store)
    store.add_entries([batch[517:]])
    second = seal(store)
    leaves = [e.leaf_hash for e in batch]
    rng = random.Random(7)
    for index in [0, 255, 256, 516, 999] + rng.sample(range(1000), 20):
        proof = inclusion(store, leaves[index])
        assert proof.proof == merkle.inclusion_proof(index, leaves)
        merkle.verify_inclusion(index, 1000, leaves[index], proof.proof, second.root)
    old = inclusion(store, leaves[3], tree_size=517)
    merkle.verify_inclusion(3, 517, leaves[3], old.proof, first.root)
    proof = consistency(store, 517, 1000)
    assert (proof.first_root, proof.second_root) == (first.root, second.root)
    merkle.verify_consistency(517, 1000, proof.proof, first.root, second.root)
    # Any size in between works, checkpointed or not.
    middle = consistency(store, 300, 700)
    assert middle.second_root == merkle.root_hash(leaves[:700])
    merkle.verify_consistency(300, 700, middle.proof, middle.first_root, middle.second_root)


def test_proof_errors_say_what_is_wrong(store: Store) -> None:
    batch = make_entries(10)
    store.add_entries([batch[:5]])
    seal(store)
    store.add_entries([batch[5:]])
    with pytest.raises(NotFoundError, match="no entry has leaf hash"):
        inclusion(store, b"\x11" * 32)
    with pytest.raises(NotSequencedError, match="pending"):
        inclusion(store, batch[7].leaf_hash)
    with pytest.raises(InvalidRequestError, match="beyond the log's size 5"):
        inclusion(store, batch[0].leaf_hash, tree_size=6)
    with pytest.raises(InvalidRequestError, match="leaf index 4, beyond tree size 3"):
        inclusion(store, batch[4].leaf_hash, tree_size=3)
    with pytest.raises(InvalidRequestError, match="first <= second"):
        consistency(store, 4, 3)


def test_same_record_twice_is_stored_once(store: Store) -> None:
    batch = make_entries(3)
    assert store.add_entries([batch]) == 3
    assert store.add_entries([batch[1:2]]) == 0
    assert seal(store).tree_size == 3


def test_failed_batch_stores_nothing(store: Store) -> None:
    batch = make_entries(50)

    def batches():  # the second chunk fails, as a bad line would
        yield batch[:25]
        raise ValueError("line 26 is bad")

    with pytest.raises(ValueError):
        store.add_entries(batches())
    assert store.pending_count() == 0


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("step", ["write_tiles", "add_run", "replace_state"])
def test_crash_inside_a_seal_changes_nothing(
    store: Store, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed and not persisted: the transaction rolls back whole; a rerun is exact."""
    batch = make_entries(300)
    store.add_entries([batch[:100]])
    seal(store)
    store.add_entries([batch[100:]])
    original = getattr(Store, step)

    def failing(self: Store, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        raise Boom(step)

    monkeypatch.setattr(Store, step, failing)
    with pytest.raises(Boom):
        seal(store)
    monkeypatch.setattr(Store, step, original)
    assert store.state().tree_size == 100
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(checkpoints)).scalar_one() == 1
    state = seal(store)
    assert state.root == merkle.root_hash([e.leaf_hash for e in batch])


def test_commit_that_reported_an_error_is_not_sealed_twice(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed but persisted: the commit landed, the caller saw an error; rerun adds nothing."""
    batch = make_entries(40)
    store.add_entries([batch])
    real_transaction = Store.transaction
    from contextlib import contextmanager

    @contextmanager
    def commit_then_fail(self: Store):  # type: ignore[no-untyped-def]
        with real_transaction(self) as conn:
            yield conn
        raise Boom("connection lost after COMMIT")

    monkeypatch.setattr(Store, "transaction", commit_then_fail)
    with pytest.raises(Boom):
        seal(store)
    monkeypatch.setattr(Store, "transaction", real_transaction)
    assert seal(store).tree_size == 40
    with store.engine.connect() as conn:
        assert [
            tuple(r)
            for r in conn.execute(select(runs.c.first_seq, runs.c.last_seq, runs.c.first_index))
        ] == [(1, 40, 0)]


def test_two_sequencers_cannot_both_move_the_log(store: Store) -> None:
    store.add_entries([make_entries(10)])
    with store.transaction() as conn:
        old = store.read_state(conn)
    new = LogState(10, b"\x01" * 32, 10)
    with store.transaction() as conn:
        store.replace_state(conn, old, new, "2026-01-01T00:00:00.000Z")
    with pytest.raises(ConcurrentSealError, match="tree size 0"), store.transaction() as conn:
        store.replace_state(conn, old, LogState(10, b"\x02" * 32, 10), "2026-01-01T00:00:00.000Z")


def test_seal_step_respects_the_barrier(store: Store) -> None:
    store.add_entries([make_entries(10)])
    state, count = seal_step(store, barrier=4)
    assert (state.tree_size, count) == (4, 4)
    assert seal(store).tree_size == 10


@pytest.mark.postgres
def test_sequence_gaps_on_postgres_keep_indices_contiguous(postgres_url: str) -> None:
    """PostgreSQL sequences skip values on rollback; leaf indices must not."""
    store = Store.open(postgres_url)
    try:
        batch = make_entries(30)
        store.add_entries([batch[:10]])
        with pytest.raises(ValueError):
            store.add_entries(_fail_after(batch[10:15]))
        store.add_entries([batch[15:]])
        seal(store)
        with store.engine.connect() as conn:
            seqs = [r[0] for r in conn.execute(text("SELECT seq FROM entries ORDER BY seq"))]
            assert len(seqs) == 25 and seqs[-1] - seqs[0] + 1 > 25  # there is a gap
            indices = [
                store.find_entry(conn, e.leaf_hash).leaf_index for e in batch[:10] + batch[15:]
            ]  # type: ignore[union-attr]
            assert indices == list(range(25))
            assert len(list(conn.execute(select(runs)))) == 2
        leaves = [e.leaf_hash for e in batch[:10] + batch[15:]]
        assert store.state().root == merkle.root_hash(leaves)
        proof = inclusion(store, leaves[20])
        merkle.verify_inclusion(20, 25, leaves[20], proof.proof, store.state().root)
    finally:
        store.close()


def _fail_after(batch: list[Entry]):  # type: ignore[no-untyped-def]
    yield batch
    raise ValueError("client went away mid-batch")


def test_tile_cache_is_per_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two logs in one process: a full tile cached for one must not answer for the other."""
    stores = [Store.open(f"sqlite:///{tmp_path / name / 'l.db'}") for name in ("a", "b")]
    try:
        for seed, store in enumerate(stores):
            batch = make_entries(300, seed=seed)
            store.add_entries([batch])
            root = seal(store).root
            proof = inclusion(store, batch[10].leaf_hash)
            merkle.verify_inclusion(10, 300, batch[10].leaf_hash, proof.proof, root)
    finally:
        for store in stores:
            store.close()
