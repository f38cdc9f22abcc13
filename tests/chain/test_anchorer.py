"""The anchorer's state machine against a real Anvil: the happy path on both backends,
then each fault the design names: the node down, a restart with a transaction in
flight (sent, and recorded but never sent), a dropped transaction, a reorganisation, a
duplicate send (refused in the estimate, and failed in a block), a conflicting chain."""

from __future__ import annotations

import threading
import time

import pytest
from eth_account import Account
from sqlalchemy import delete

from ledger.chain.anvil import Anvil
from ledger.chain.errors import ChainError, ChainUnavailableError
from ledger.core import merkle
from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.formats.fields import hex0x
from ledger.service.anchorer import AnchorConflictError, Anchorer
from ledger.service.index import index_root_at
from ledger.service.outbox import Backoff
from ledger.service.proofs import consistency
from ledger.store.anchors import AnchorStatus
from ledger.store.schema import chain_calls
from tests.chain.conftest import Setup, log_signer_for


def confirmed_sizes(setup: Setup) -> list[int]:
    return [a.tree_size for a in setup.repo.anchors() if a.status is AnchorStatus.CONFIRMED]


def test_anchors_each_checkpoint_and_chain_agrees(any_setup: Setup) -> None:
    setup = any_setup
    anchorer = setup.anchorer()
    assert anchorer.schedule() is None  # empty log: nothing to anchor

    first = setup.grow(5)
    done = anchorer.anchor_latest(timeout=20)
    assert (done.tree_size, done.root, done.prev_size, done.status) == (
        5,
        first.root,
        0,
        AnchorStatus.CONFIRMED,
    )
    receipt = setup.chain.receipt(done.tx_hash)  # type: ignore[arg-type]
    block = setup.chain.block(receipt.block_number)  # type: ignore[union-attr]
    assert receipt is not None and block is not None
    assert (
        done.block_number,
        done.block_hash,
        done.block_timestamp,
        done.gas_used,
        done.attempts,
    ) == (
        receipt.block_number,
        block.hash,
        block.timestamp,
        receipt.gas_used,
        1,
    )

    second = setup.grow(8)
    done = anchorer.anchor_latest(timeout=20)
    assert (done.tree_size, done.prev_size) == (13, 5)
    on_chain = setup.contract.latest(setup.deployment.log_id)
    assert (on_chain.size, on_chain.root) == (13, second.root)
    event = setup.contract.anchored_at(setup.deployment.log_id, 13)
    assert event is not None and (event.tx_hash, event.block_number, event.prev_size) == (
        done.tx_hash,
        done.block_number,
        5,
    )
    assert anchorer.schedule() is None  # nothing new
    assert anchorer.anchor_latest(timeout=5).id == done.id  # already anchored: no new transaction

    # Whatever the database says, the chain is the base: rows lost, the log grows.
    with setup.store.transaction() as conn:
        conn.execute(delete(chain_calls).where(chain_calls.c.kind == "anchor"))
    setup.grow(4)
    done = anchorer.anchor_latest(timeout=20)
    assert (done.tree_size, done.prev_size) == (17, 13)
    assert setup.repo.count_by_status()[AnchorStatus.CONFIRMED] == 1


def test_the_newest_pending_anchor_covers_everything_sealed(setup: Setup) -> None:
    setup.grow(3)
    anchorer = setup.anchorer()
    assert anchorer.schedule() is not None
    setup.grow(4)  # sealed after scheduling
    anchorer.step()
    sent = setup.repo.open_anchors()[0]
    assert (sent.tree_size, sent.status) == (7, AnchorStatus.SUBMITTED)
    for _ in range(200):  # the node may take a moment to mine and report it (a busy machine)
        anchorer.step()
        if confirmed_sizes(setup):
            break
        time.sleep(0.05)
    assert confirmed_sizes(setup) == [7]


def test_rpc_down_then_back_retries_and_catches_up(setup: Setup) -> None:
    anchorer = setup.anchorer()
    setup.grow(4)
    anchorer.anchor_latest(timeout=20)
    port = setup.anvil.port
    setup.anvil.stop()  # saves its state
    state = setup.grow(6)  # ingest and seal go on while the chain is away

    stop = threading.Event()
    errors: list[str] = []
    confirmed: list[int] = []
    worker = threading.Thread(
        target=anchorer.run,
        args=(stop, 0.2),
        kwargs={
            "on_confirmed": lambda a: confirmed.append(a.tree_size),
            "on_error": errors.append,
            "retry": Backoff(base=0.05, cap=0.4),
        },
    )
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(errors) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(errors) >= 3 and all("unreachable" in e and "retrying in" in e for e in errors)
        waiting = setup.repo.open_anchors()
        assert [a.tree_size for a in waiting] == [10] and "unreachable" in (
            waiting[0].last_error or ""
        )

        restarted = Anvil(
            port, setup.anvil.state_file, setup.anvil.log_file, binary=setup.anvil.binary
        )
        restarted.start()
        setup.anvil.process = restarted.process  # the fixture stops it
        deadline = time.monotonic() + 15
        while confirmed != [10] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
    assert confirmed == [10]
    on_chain = setup.contract.latest(setup.deployment.log_id)
    assert (on_chain.size, on_chain.root) == (10, state.root)
    assert setup.repo.get(10).last_error is None  # type: ignore[union-attr]


def test_a_step_while_the_node_is_down_changes_nothing(setup: Setup) -> None:
    setup.grow(2)
    anchorer = setup.anchorer()
    anchorer.schedule()
    setup.anvil.stop()
    with pytest.raises(ChainUnavailableError):
        anchorer.step()
    assert [(a.status, a.attempts) for a in setup.repo.anchors()] == [(AnchorStatus.PENDING, 0)]


def test_restart_with_a_sent_transaction_resolves_it_from_its_receipt(setup: Setup) -> None:
    setup.rpc("evm_setAutomine", False)
    setup.grow(6)
    first = setup.anchorer()
    first.schedule()
    first.step()  # signed, recorded, sent: then the process "dies"
    sent = setup.repo.open_anchors()[0]
    assert sent.status is AnchorStatus.SUBMITTED and sent.tx_hash is not None
    setup.rpc("evm_mine")

    restarted = setup.anchorer()
    assert [a.tree_size for a in restarted.refresh()] == [6]  # refresh sends nothing
    done = setup.repo.get(6)
    assert done is not None and done.status is AnchorStatus.CONFIRMED
    assert (done.tx_hash, done.attempts) == (sent.tx_hash, 1)  # no second transaction


def test_restart_after_recording_but_before_sending_resends(setup: Setup) -> None:
    state = setup.grow(6)
    anchorer = setup.anchorer()
    pending = anchorer.schedule()
    assert pending is not None
    # Crash between step 5 (recorded) and step 6 (sent): signed, recorded, never sent.
    signed = setup.contract.build_anchor(
        setup.deployment.log_id,
        6,
        state.root,
        [],
        setup.sign(6, state.root),
        nonce=setup.chain.nonce(),
    )
    setup.repo.submit(pending, 0, signed.tx_hash, signed.nonce, "t")

    restarted = setup.anchorer()
    restarted.step()  # unknown to the node: back to pending
    reopened = setup.repo.get(6)
    assert reopened is not None and reopened.status is AnchorStatus.PENDING
    assert "unknown to the node" in (reopened.last_error or "")
    done = restarted.anchor_latest(timeout=20)
    assert done.tree_size == 6 and done.attempts == 2 and done.nonce == signed.nonce
    # Signing is deterministic: the same nonce and fees give the same transaction again.
    assert setup.chain.receipt(done.tx_hash).status == 1  # type: ignore[arg-type,union-attr]


def test_a_dropped_transaction_is_resent(setup: Setup) -> None:
    setup.rpc("evm_setAutomine", False)
    setup.grow(9)
    anchorer = setup.anchorer()
    anchorer.schedule()
    anchorer.step()
    sent = setup.repo.open_anchors()[0]
    anchorer.step()  # still in the pool: wait
    assert setup.repo.get(9).status is AnchorStatus.SUBMITTED  # type: ignore[union-attr]

    setup.rpc("anvil_dropTransaction", "0x" + sent.tx_hash.hex())  # type: ignore[union-attr]
    anchorer.step()
    dropped = setup.repo.get(9)
    assert dropped is not None and dropped.status is AnchorStatus.PENDING
    assert "dropped" in (dropped.last_error or "")

    setup.rpc("evm_setAutomine", True)
    done = anchorer.anchor_latest(timeout=20)
    assert done.tree_size == 9 and done.attempts == 2 and done.nonce == sent.nonce
    assert setup.contract.latest(setup.deployment.log_id).size == 9


def test_a_reorganised_anchor_returns_to_pending_and_is_anchored_again(setup: Setup) -> None:
    anchorer = setup.anchorer()
    setup.grow(3)
    anchorer.anchor_latest(timeout=20)
    snapshot = setup.rpc("evm_snapshot")
    setup.grow(5)
    lost = anchorer.anchor_latest(timeout=20)
    assert lost.tree_size == 8

    setup.rpc("evm_revert", snapshot)  # the block holding the anchor of 8 is gone
    setup.rpc("evm_mine")
    setup.rpc("evm_mine")  # ... and its height now holds another block
    assert setup.chain.block(lost.block_number).hash != lost.block_hash  # type: ignore[arg-type,union-attr]

    moved = anchorer.check_reorgs()
    assert [(a.tree_size, a.status) for a in moved] == [(8, AnchorStatus.PENDING)]
    assert "reorganised out" in (moved[0].last_error or "") and moved[0].block_hash is None
    assert setup.contract.latest(setup.deployment.log_id).size == 3

    again = anchorer.anchor_latest(timeout=20)
    assert (again.tree_size, again.prev_size, again.status) == (8, 3, AnchorStatus.CONFIRMED)
    assert again.block_hash != lost.block_hash
    assert setup.contract.latest(setup.deployment.log_id).size == 8
    assert confirmed_sizes(setup) == [3, 8]


def test_a_duplicate_refused_by_the_estimate_is_confirmed_by_the_other_send(setup: Setup) -> None:
    state = setup.grow(7)
    anchorer = setup.anchorer()
    anchorer.schedule()
    # Another anchorer (same key) got the same checkpoint on chain first.
    index_root = index_root_at(setup.store, 7) or NO_INDEX_ROOT
    other = setup.contract.anchor(
        setup.deployment.log_id,
        7,
        state.root,
        [],
        setup.sign(7, state.root, index_root),
        index_root=index_root,
    )
    anchorer.step()
    done = setup.repo.get(7)
    assert done is not None and done.status is AnchorStatus.CONFIRMED
    assert (done.tx_hash, done.block_number, done.gas_used, done.prev_size) == (
        other.tx_hash,
        other.block_number,
        other.gas_used,
        0,
    )
    assert done.attempts == 0  # we never sent one


def test_a_duplicate_failing_in_its_block_is_harmless(setup: Setup) -> None:
    state = setup.grow(7)
    setup.rpc("evm_setAutomine", False)
    # Another send, first in the pool: the estimate (on the latest block) cannot see it.
    index_root = index_root_at(setup.store, 7) or NO_INDEX_ROOT
    other = setup.contract.build_anchor(
        setup.deployment.log_id,
        7,
        state.root,
        [],
        setup.sign(7, state.root, index_root),
        index_root=index_root,
        gas=200_000,
    )
    setup.chain.send(other)
    anchorer = setup.anchorer()
    anchorer.schedule()
    anchorer.step()
    ours = setup.repo.get(7)
    assert (
        ours is not None and ours.status is AnchorStatus.SUBMITTED and ours.nonce == other.nonce + 1
    )
    setup.rpc("evm_mine")
    receipt = setup.chain.receipt(ours.tx_hash)  # type: ignore[arg-type]
    assert receipt is not None and receipt.status == 0  # ours failed in the block

    anchorer.step()
    done = setup.repo.get(7)
    assert (
        done is not None and done.status is AnchorStatus.CONFIRMED and done.tx_hash == other.tx_hash
    )


def test_confirmations_wait_for_depth(setup: Setup) -> None:
    setup.grow(2)
    anchorer = setup.anchorer(confirmations=3)
    anchorer.schedule()
    anchorer.step()
    anchorer.step()
    assert setup.repo.get(2).status is AnchorStatus.SUBMITTED  # type: ignore[union-attr]
    setup.rpc("evm_mine")
    assert anchorer.step() == []
    setup.rpc("evm_mine")
    assert [a.tree_size for a in anchorer.step()] == [2]


def test_a_chain_that_disagrees_with_the_log_stops_anchoring(setup: Setup) -> None:
    setup.grow(6)
    forged = merkle.hash_leaf(
        b"not this log"
    )  # signed by the log key, but not this database's root
    setup.contract.anchor(setup.deployment.log_id, 3, forged, [], setup.sign(3, forged))
    with pytest.raises(AnchorConflictError, match="root at that size differs"):
        setup.anchorer().anchor_latest(timeout=10)
    assert consistency(setup.store, 3, 6).first_root != forged
    assert setup.contract.latest(setup.deployment.log_id).size == 3


def test_an_anchorer_without_the_log_key_only_follows(setup: Setup) -> None:
    """signer=None (`ledger anchors --rpc-url`): it settles what the chain holds and sends
    nothing; asked to send, it says it has no log key."""
    state = setup.grow(4)
    follower = Anchorer(setup.store, setup.contract, setup.deployment, None)
    follower.schedule()
    with pytest.raises(ChainError, match="has no log key: it can follow anchors, not send them"):
        follower.step()
    assert setup.chain.nonce() == 2  # deploy, createLog: nothing was sent
    index_root = index_root_at(setup.store, 4)
    assert index_root is not None
    relayed = setup.contract.anchor(
        setup.deployment.log_id,
        4,
        state.root,
        [],
        setup.sign(4, state.root, index_root),
        index_root=index_root,
    )
    follower.step()  # the chain holds it: adopted, no key needed
    (row,) = setup.repo.anchors()
    assert (row.status, row.tx_hash) == (AnchorStatus.CONFIRMED, relayed.tx_hash)


def test_a_relayed_anchor_with_another_index_root_stops_anchoring(setup: Setup) -> None:
    """Someone relays a checkpoint of this log's size and root that the log key signed
    with another index root (here none): adopting it would anchor an index proofs at
    that size contradict, so the anchorer stops, naming both index roots."""
    state = setup.grow(5)
    ours = index_root_at(setup.store, 5)
    assert ours is not None and ours != NO_INDEX_ROOT
    setup.contract.anchor(setup.deployment.log_id, 5, state.root, [], setup.sign(5, state.root))
    anchorer = setup.anchorer()
    anchorer.schedule()
    with pytest.raises(AnchorConflictError) as caught:
        anchorer.step()
    message = str(caught.value)
    assert f"with index root {hex0x(NO_INDEX_ROOT)}" in message
    assert f"this log's index root at that size is {hex0x(ours)}" in message


def test_a_log_key_the_contract_does_not_know_stops_anchoring(setup: Setup) -> None:
    """A database whose log key is not the log's (a misconfigured LEDGER_LOG_KEY): the
    contract refuses the signature in the estimate, nothing is sent, an operator must look."""
    setup.grow(3)
    wrong = log_signer_for(Account.create(), setup.deployment)
    anchorer = Anchorer(setup.store, setup.contract, setup.deployment, wrong)
    with pytest.raises(
        AnchorConflictError, match=f"LogAnchorBadSignature.*this service signs with {wrong.address}"
    ):
        anchorer.anchor_latest(timeout=10)
    assert setup.chain.nonce() == 2 and setup.contract.latest(setup.deployment.log_id).size == 0
