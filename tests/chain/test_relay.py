"""`ledger.service.relay` (what `mledger relay` runs) on a real Anvil: a checkpoint the
log key signed is read against the pinned identity and anchored by anyone, with its
index root; a checkpoint the chain holds already is checked index root and all."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.formats.fields import hex0x
from ledger.service.index import index_root_at
from ledger.service.proofs import consistency
from ledger.service.relay import RelayError, read_checkpoint, relay
from tests.chain.conftest import Setup


def published(setup: Setup, size: int, root: bytes, index_root: bytes) -> dict[str, Any]:
    """The checkpoint as GET /v1/checkpoints/{size} serves it (the fields relay reads)."""
    return {
        "log_id": hex0x(setup.deployment.log_id),
        "tree_size": size,
        "root": hex0x(root),
        "index_root": hex0x(index_root),
        "signature": setup.signer.sign_checkpoint(size, root, index_root),
    }


def proofs(setup: Setup) -> Any:
    def answer(first: int, second: int) -> dict[str, Any]:
        found = consistency(setup.store, first, second)
        return {"proof": [hex0x(node) for node in found.proof]}

    return answer


def test_a_relayed_checkpoint_carries_its_signed_index_root(setup: Setup) -> None:
    state = setup.grow(6)
    ours = index_root_at(setup.store, 6)
    assert ours is not None and ours != NO_INDEX_ROOT
    checkpoint = read_checkpoint(published(setup, 6, state.root, ours), setup.identity)
    done = relay(setup.chain, setup.identity, checkpoint, proofs(setup))
    assert done.receipt is not None and done.tree_size == 6
    event = setup.contract.anchored_at(setup.deployment.log_id, 6)
    assert event is not None and event.index_root == ours
    # Relaying it again: the chain holds it, with the same index root: nothing to do.
    assert relay(setup.chain, setup.identity, checkpoint, proofs(setup)).receipt is None


def test_a_held_checkpoint_with_another_signed_index_root_is_two_views(setup: Setup) -> None:
    state = setup.grow(4)
    ours = index_root_at(setup.store, 4)
    assert ours is not None
    setup.contract.anchor(setup.deployment.log_id, 4, state.root, [], setup.sign(4, state.root))
    checkpoint = read_checkpoint(published(setup, 4, state.root, ours), setup.identity)
    with pytest.raises(RelayError) as caught:
        relay(setup.chain, setup.identity, checkpoint, proofs(setup))
    assert f"with index root {hex0x(NO_INDEX_ROOT)}, but the log key also signed index root" in (
        str(caught.value)
    )
    assert "two indexes of one checkpoint" in str(caught.value)
