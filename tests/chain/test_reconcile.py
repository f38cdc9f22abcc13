"""Reconciling on start (ledger/anchorer.py, step 13): confirmed anchors the chain lacks,
beyond any reorganisation window, go back to pending and are anchored again from the
chain's own latest anchor; one the chain holds in another block is adopted there."""

from __future__ import annotations

from ledger.service.index import index_root_at
from ledger.service.proofs import consistency
from ledger.store.anchors import AnchorStatus
from tests.chain.conftest import Setup


def test_anchors_the_chain_lost_are_anchored_again_from_its_latest(setup: Setup) -> None:
    first = setup.anchorer()
    setup.grow(3)
    first.anchor_latest(timeout=20)
    snapshot = setup.rpc("evm_snapshot")
    for count in (5, 4):
        setup.grow(count)
        first.anchor_latest(timeout=20)
    lost = {a.tree_size: a for a in setup.repo.anchors()}

    setup.rpc("evm_revert", snapshot)  # the chain forgets the anchors of 8 and 12 ...
    setup.rpc("anvil_mine", hex(100))  # ... deeper than the reorganisation check looks
    restarted = setup.anchorer()
    assert restarted.check_reorgs() == []  # out of its window: only reconciling sees it
    reopened = restarted.reconcile()
    assert [(a.tree_size, a.status) for a in reopened] == [
        (8, AnchorStatus.PENDING),
        (12, AnchorStatus.PENDING),
    ]
    assert "the chain lacks it: its latest anchor is size 3" in (reopened[0].last_error or "")
    assert restarted.reconcile() == []  # nothing left to do

    done = restarted.anchor_latest(timeout=20)
    assert done.tree_size == 12
    rows = {a.tree_size: a for a in setup.repo.anchors()}
    assert [(a.tree_size, a.status, a.prev_size) for a in rows.values()] == [
        (3, AnchorStatus.CONFIRMED, 0),
        (8, AnchorStatus.CONFIRMED, 3),
        (12, AnchorStatus.CONFIRMED, 8),
    ]
    assert rows[3].block_hash == lost[3].block_hash and rows[8].block_number != lost[8].block_number
    on_chain = setup.contract.latest(setup.deployment.log_id)
    assert (on_chain.size, on_chain.root) == (12, setup.store.state().root)


def test_an_anchor_the_chain_holds_in_another_block_is_adopted_there(setup: Setup) -> None:
    first = setup.anchorer()
    setup.grow(3)
    first.anchor_latest(timeout=20)
    snapshot = setup.rpc("evm_snapshot")
    state = setup.grow(5)
    was = first.anchor_latest(timeout=20)

    setup.rpc("evm_revert", snapshot)
    setup.rpc("anvil_mine", hex(100))
    index_root = index_root_at(setup.store, 8)
    assert index_root is not None
    again = setup.contract.anchor(
        setup.deployment.log_id,
        8,
        state.root,
        consistency(setup.store, 3, 8).proof,
        setup.sign(8, state.root, index_root),
        index_root=index_root,
    )
    assert again.block_number != was.block_number

    restarted = setup.anchorer()
    (moved,) = restarted.reconcile()
    assert moved.tree_size == 8 and f"the chain holds it in block {again.block_number}" in (
        moved.last_error or ""
    )
    done = restarted.anchor_latest(timeout=20)
    assert (done.tree_size, done.tx_hash, done.block_number, done.prev_size) == (
        8,
        again.tx_hash,
        again.block_number,
        3,
    )
    assert done.attempts == was.attempts  # adopted: nothing sent
