"""Multi-entry proofs against the slow reference tree (tests/core/merkle/reference.py) and
the single-entry proofs: the right nodes, each once, and every way to break them fails."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.merkle import (
    ProofError,
    ProofLengthError,
    RootMismatchError,
    inclusion_ranges,
    root_hash,
)
from ledger.core.merkle.multiproof import (
    multi_inclusion_ranges,
    multi_proof_length,
    root_from_multi_proof,
    verify_multi_inclusion,
)
from tests.core.merkle.reference import mth

LEAVES = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(300)]


def proof_for(indices: list[int], size: int) -> list[bytes]:
    return [root_hash(LEAVES[a:b]) for a, b in multi_inclusion_ranges(indices, size)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[int], int]:
    size = draw(st.integers(1, 300))
    indices = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=size, unique=True))
    return sorted(indices), size


@settings(max_examples=300, deadline=None)
@given(cases())
def test_multi_proof_leads_to_the_reference_root(case: tuple[list[int], int]) -> None:
    indices, size = case
    proof = proof_for(indices, size)
    leaves = [LEAVES[i] for i in indices]
    assert root_from_multi_proof(indices, size, leaves, proof) == mth(LEAVES[:size])
    verify_multi_inclusion(indices, size, leaves, proof, root_hash(LEAVES[:size]))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_nodes_are_the_single_proofs_nodes_once_and_not_derivable(
    case: tuple[list[int], int],
) -> None:
    indices, size = case
    ranges = multi_inclusion_ranges(indices, size)
    assert len(set(ranges)) == len(ranges) == multi_proof_length(indices, size)
    assert ranges == sorted(ranges)  # left to right
    wanted = set(indices)
    singles = {r for i in indices for r in inclusion_ranges(i, size)}
    for a, b in ranges:
        assert not wanted & set(range(a, b)), "a node covering an included leaf is derivable"
        assert (a, b) in singles, "every node is one some single proof needs"
    # Every single-proof node is in the multi-proof or derivable from it (covers a leaf
    # or lies inside a multi-proof node).
    for a, b in singles:
        assert (
            (a, b) in ranges
            or wanted & set(range(a, b))
            or any(x <= a and b <= y for x, y in ranges)
        )
    # Covered exactly once: the included leaves and the nodes tile [0, size).
    covered = sorted([(i, i + 1) for i in indices] + ranges)
    assert covered[0][0] == 0 and covered[-1][1] == size
    assert all(left[1] == right[0] for left, right in itertools.pairwise(covered))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 100])
def test_one_leaf_is_the_rfc_inclusion_proof(size: int) -> None:
    for index in range(size):
        assert multi_inclusion_ranges([index], size) == sorted(inclusion_ranges(index, size))


def test_all_leaves_need_no_node_and_shared_nodes_appear_once() -> None:
    assert multi_inclusion_ranges(list(range(10)), 10) == []
    assert root_from_multi_proof(list(range(10)), 10, LEAVES[:10], []) == root_hash(LEAVES[:10])
    # Leaves 0 and 1 of 8 share [2, 4) and [4, 8): 2 nodes instead of 3 + 3.
    assert multi_inclusion_ranges([0, 1], 8) == [(2, 4), (4, 8)]


@settings(max_examples=150, deadline=None)
@given(cases(), st.data())
def test_any_change_fails(case: tuple[list[int], int], data: st.DataObject) -> None:
    indices, size = case
    proof = proof_for(indices, size)
    leaves = [LEAVES[i] for i in indices]
    root = root_hash(LEAVES[:size])
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[at] = bytes([bad[at][0] ^ 1]) + bad[at][1:]
        with pytest.raises(RootMismatchError):
            verify_multi_inclusion(indices, size, leaves, bad, root)
        with pytest.raises(ProofLengthError):
            verify_multi_inclusion(indices, size, leaves, proof[:-1], root)
    with pytest.raises(ProofLengthError):
        verify_multi_inclusion(indices, size, leaves, [*proof, root], root)
    at = data.draw(st.integers(0, len(leaves) - 1))
    changed = list(leaves)
    changed[at] = (
        LEAVES[(indices[at] + 1) % 300]
        if LEAVES[(indices[at] + 1) % 300] != leaves[at]
        else LEAVES[299]
    )
    if changed[at] != leaves[at]:
        with pytest.raises(RootMismatchError):
            verify_multi_inclusion(indices, size, changed, proof, root)
    with pytest.raises(RootMismatchError):
        verify_multi_inclusion(indices, size, leaves, proof, b"\xff" * 32)


def test_bad_arguments_are_refused_before_hashing() -> None:
    with pytest.raises(ProofError, match="at least one leaf index"):
        multi_inclusion_ranges([], 4)
    with pytest.raises(ProofError, match=r"increase strictly: index\[1\] = 2 after 2"):
        multi_inclusion_ranges([2, 2], 4)
    with pytest.raises(ProofError, match=r"index\[1\] = 1 after 3"):
        multi_inclusion_ranges([3, 1], 4)
    with pytest.raises(ProofError, match="index is beyond size: 4 >= 4"):
        multi_inclusion_ranges([1, 4], 4)
    with pytest.raises(ProofError, match="negative"):
        multi_inclusion_ranges([-1, 2], 4)
    with pytest.raises(ProofError, match="tree size must be positive"):
        multi_inclusion_ranges([0], 0)
    with pytest.raises(ProofError, match="2 leaf indices but 1 leaf hashes"):
        root_from_multi_proof([0, 1], 4, LEAVES[:1], [])
    with pytest.raises(ProofError, match=r"leaf_hashes\[0\] must be 32 bytes"):
        root_from_multi_proof([0], 1, [b"x"], [])
    with pytest.raises(ProofError, match=r"proof\[0\] must be 32 bytes"):
        root_from_multi_proof([0], 2, LEAVES[:1], [b"short"])
    with pytest.raises(ProofError, match="root must be 32 bytes"):
        verify_multi_inclusion([0], 1, LEAVES[:1], [], b"")
