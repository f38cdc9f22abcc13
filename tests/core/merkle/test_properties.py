"""Properties of ledger.core.merkle, checked against the slow RFC reference in reference.py.

- root_hash, inclusion_proof and consistency_proof equal the reference, for every size
  up to 40 exhaustively, random sizes up to 300, and a few large sizes;
- every proof verifies, and breaking any part of it (a bit of a node, of a root, of the
  leaf hash; a node added or removed; another index or size) makes it fail;
- range_nodes folds back to the MTH of every range a proof or a root can ask for.

A proof does not bind the tree size on its own: a proof for leaf 0 of 3 leaves has the
same hashing steps as one for leaf 0 of 4, and so verifies against the same root with
either size. The size tests say exactly when that happens (same "shape") and check that
it is the only way another size or index can pass.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    ProofLengthError,
    RootMismatchError,
    consistency_proof,
    consistency_ranges,
    fold_nodes,
    inclusion_proof,
    inclusion_ranges,
    range_nodes,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    root_hash,
    split_point,
    verify_consistency,
    verify_inclusion,
)
from tests.core.merkle import reference

MAX_RANDOM_SIZE = 300
EXHAUSTIVE_SIZE = 40
LARGE_SIZES = [1000, 1024, 1025, 65537]

merkle_settings = settings(max_examples=150, deadline=None)


@cache
def leaves(n: int) -> tuple[bytes, ...]:
    """n distinct leaf hashes (distinct, so no two subtrees hash alike by accident)."""
    return tuple(reference.leaf_hash(b"leaf %d" % i) for i in range(n))


@cache
def ref_root(n: int) -> bytes:
    return reference.mth(leaves(n))


def flip(value: bytes, bit: int) -> bytes:
    """`value` with bit number `bit` (0 = most significant bit of byte 0) inverted."""
    data = bytearray(value)
    data[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(data)


def inclusion_shape(index: int, size: int) -> tuple[bool, ...] | None:
    """The hashing steps of an inclusion proof: for each node, whether it is the right
    sibling. None where (index, size) describes no proof."""
    if not 0 <= index < size:
        return None
    return tuple(a > index for a, _ in inclusion_ranges(index, size))


def consistency_shape(size1: int, size2: int) -> object:
    """The hashing steps of a consistency proof: whether the old tree is a complete
    subtree (its root then starts the fold) and, for each later node, whether it joins
    on the right. None where (size1, size2) describes no proof."""
    if not 0 < size1 <= size2:
        return None
    if size1 == size2:
        return "equal sizes"
    ranges = consistency_ranges(size1, size2)
    whole = size1 & (size1 - 1) == 0
    (low, high), siblings = ((0, size1), ranges) if whole else (ranges[0], ranges[1:])
    sides = []
    for a, b in siblings:
        if b == low:
            low = a
            sides.append(False)
        else:
            assert a == high, (size1, size2, ranges)
            high = b
            sides.append(True)
    assert (low, high) == (0, size2)
    return whole, tuple(sides)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_RANDOM_SIZE))
    return size, draw(st.integers(0, size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(1, MAX_RANDOM_SIZE))
    return draw(st.integers(1, size2)), size2


# -- Equal to the reference --------------------------------------------------------------


@merkle_settings
@given(st.integers(0, MAX_RANDOM_SIZE))
def test_root_hash_is_mth(size: int) -> None:
    assert root_hash(leaves(size)) == ref_root(size)


@merkle_settings
@given(tree_and_index())
def test_inclusion_proof_is_path(case: tuple[int, int]) -> None:
    size, index = case
    proof = inclusion_proof(index, leaves(size))
    assert proof == reference.path(index, leaves(size))
    assert root_from_inclusion_proof(index, size, leaves(size)[index], proof) == ref_root(size)
    verify_inclusion(index, size, leaves(size)[index], proof, ref_root(size))


@merkle_settings
@given(two_sizes())
def test_consistency_proof_is_proof(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = consistency_proof(size1, leaves(size2))
    assert proof == reference.proof(size1, leaves(size2))
    assert root_from_consistency_proof(size1, size2, proof, ref_root(size1)) == ref_root(size2)
    verify_consistency(size1, size2, proof, ref_root(size1), ref_root(size2))


def test_every_small_tree() -> None:
    for size in range(1, EXHAUSTIVE_SIZE + 1):
        tree = leaves(size)
        assert root_hash(tree) == ref_root(size)
        for index in range(size):
            proof = inclusion_proof(index, tree)
            assert proof == reference.path(index, tree), (index, size)
            verify_inclusion(index, size, tree[index], proof, ref_root(size))
        for size1 in range(1, size + 1):
            proof = consistency_proof(size1, tree)
            assert proof == reference.proof(size1, tree), (size1, size)
            verify_consistency(size1, size, proof, ref_root(size1), ref_root(size))


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_large_trees(size: int) -> None:
    tree = leaves(size)
    root = ref_root(size)
    assert root_hash(tree) == root
    top = 1 << (size.bit_length() - 1)
    for index in sorted({0, 1, top - 1, top, size // 2, size - 1} & set(range(size))):
        proof = inclusion_proof(index, tree)
        assert proof == reference.path(index, tree), index
        verify_inclusion(index, size, tree[index], proof, root)
    for size1 in sorted({1, 3, top - 1, top, size - 1, size} & set(range(1, size + 1))):
        proof = consistency_proof(size1, tree)
        assert proof == reference.proof(size1, tree), size1
        verify_consistency(size1, size, proof, ref_root(size1), root)


@merkle_settings
@given(st.integers(2, 1 << 40))
def test_split_point(n: int) -> None:
    k = split_point(n)
    assert k < n <= 2 * k and k & (k - 1) == 0
    if n < 5000:
        assert k == reference.largest_power_of_two_below(n)


# -- Ranges and nodes --------------------------------------------------------------------


def assert_folds_to_mth(start: int, end: int) -> None:
    nodes = range_nodes(start, end)
    position = start
    for level, index in nodes:
        assert index << level == position, (start, end, nodes)
        position += 1 << level
    assert position == end
    assert [level for level, _ in nodes] == sorted({level for level, _ in nodes}, reverse=True)
    tree = leaves(end)
    hashes = [reference.mth(tree[i << lv : (i + 1) << lv]) for lv, i in nodes]
    assert fold_nodes(hashes) == reference.mth(tree[start:end]), (start, end)


def is_tree_node(start: int, end: int) -> bool:
    """[start, end) is a node of some RFC 9162 tree: start is a multiple of the smallest
    power of two that is at least end - start."""
    return start % (1 << (end - start - 1).bit_length()) == 0


@merkle_settings
@given(tree_and_index())
def test_inclusion_ranges_fold(case: tuple[int, int]) -> None:
    size, index = case
    assert_folds_to_mth(0, size)
    for start, end in inclusion_ranges(index, size):
        assert is_tree_node(start, end) and not start <= index < end
        assert_folds_to_mth(start, end)


@merkle_settings
@given(two_sizes())
def test_consistency_ranges_fold(case: tuple[int, int]) -> None:
    size1, size2 = case
    for start, end in consistency_ranges(size1, size2):
        assert is_tree_node(start, end) and end <= size2
        assert_folds_to_mth(start, end)


@cache
def tree_ranges(n: int) -> frozenset[tuple[int, int]]:
    return frozenset(reference.subtree_ranges(n))


@merkle_settings
@given(st.integers(0, MAX_RANDOM_SIZE), st.integers(1, MAX_RANDOM_SIZE))
def test_range_nodes_accepts_exactly_the_nodes_of_a_tree(start: int, length: int) -> None:
    end = start + length
    if (start, end) in tree_ranges(end):
        assert is_tree_node(start, end)
        assert_folds_to_mth(start, end)
    else:
        assert not is_tree_node(start, end)
        with pytest.raises(ValueError, match="not a node of any tree"):
            range_nodes(start, end)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 13, 100, 255, 256, 257])
def test_range_nodes_folds_every_node_of_a_tree(size: int) -> None:
    for start, end in tree_ranges(size):
        assert_folds_to_mth(start, end)


# -- Broken proofs fail ------------------------------------------------------------------


@merkle_settings
@given(tree_and_index(), st.data())
def test_broken_inclusion_proofs_fail(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    tree, root = leaves(size), ref_root(size)
    leaf, proof = tree[index], inclusion_proof(index, tree)
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")

    with pytest.raises(RootMismatchError):
        verify_inclusion(index, size, leaf, proof, flip(root, bit))
    with pytest.raises(RootMismatchError):
        verify_inclusion(index, size, flip(leaf, bit), proof, root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="node")
        broken = [flip(node, bit) if i == at else node for i, node in enumerate(proof)]
        with pytest.raises(RootMismatchError):
            verify_inclusion(index, size, leaf, broken, root)
        with pytest.raises(ProofLengthError):
            verify_inclusion(index, size, leaf, proof[:at] + proof[at + 1 :], root)
    at = data.draw(st.integers(0, len(proof)), label="insert at")
    extra = data.draw(st.sampled_from([root, leaf, EMPTY_ROOT, *proof]), label="inserted")
    with pytest.raises(ProofLengthError):
        verify_inclusion(index, size, leaf, [*proof[:at], extra, *proof[at:]], root)

    other_index = data.draw(st.integers(-1, size), label="other index")
    other_size = data.draw(st.integers(-1, 2 * size + 2), label="other size")
    for i, n in ((other_index, size), (index, other_size)):
        if (i, n) == (index, size):
            continue
        if inclusion_shape(i, n) == inclusion_shape(index, size):
            assert i == index  # another index always hashes differently
            verify_inclusion(i, n, leaf, proof, root)
        else:
            with pytest.raises(ProofError):
                verify_inclusion(i, n, leaf, proof, root)


@merkle_settings
@given(two_sizes(), st.data())
def test_broken_consistency_proofs_fail(case: tuple[int, int], data: st.DataObject) -> None:
    size1, size2 = case
    root1, root2 = ref_root(size1), ref_root(size2)
    proof = consistency_proof(size1, leaves(size2))
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")

    with pytest.raises(RootMismatchError):
        verify_consistency(size1, size2, proof, flip(root1, bit), root2)
    with pytest.raises(RootMismatchError):
        verify_consistency(size1, size2, proof, root1, flip(root2, bit))
    if size1 != size2:
        with pytest.raises(RootMismatchError):
            verify_consistency(size1, size2, proof, root2, root1)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="node")
        broken = [flip(node, bit) if i == at else node for i, node in enumerate(proof)]
        with pytest.raises(RootMismatchError):
            verify_consistency(size1, size2, broken, root1, root2)
        with pytest.raises(ProofLengthError):
            verify_consistency(size1, size2, proof[:at] + proof[at + 1 :], root1, root2)
    at = data.draw(st.integers(0, len(proof)), label="insert at")
    extra = data.draw(st.sampled_from([root1, root2, EMPTY_ROOT, *proof]), label="inserted")
    with pytest.raises(ProofLengthError):
        verify_consistency(size1, size2, [*proof[:at], extra, *proof[at:]], root1, root2)

    other1 = data.draw(st.integers(-1, size2 + 1), label="other size1")
    other2 = data.draw(st.integers(-1, 2 * size2 + 2), label="other size2")
    for s1, s2 in ((other1, size2), (size1, other2)):
        if (s1, s2) == (size1, size2):
            continue
        if consistency_shape(s1, s2) == consistency_shape(size1, size2):
            verify_consistency(s1, s2, proof, root1, root2)
        else:
            with pytest.raises(ProofError):
                verify_consistency(s1, s2, proof, root1, root2)


@pytest.mark.parametrize("index, size", [(0, 2), (5, 13), (12, 13), (6, 8)])
def test_every_bit_of_an_inclusion_proof_matters(index: int, size: int) -> None:
    tree, root = leaves(size), ref_root(size)
    proof = inclusion_proof(index, tree)
    for at in range(len(proof)):
        for bit in range(8 * HASH_SIZE):
            broken = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
            with pytest.raises(RootMismatchError):
                verify_inclusion(index, size, tree[index], broken, root)


@pytest.mark.parametrize("size1, size2", [(1, 2), (4, 13), (6, 7), (7, 13)])
def test_every_bit_of_a_consistency_proof_matters(size1: int, size2: int) -> None:
    root1, root2 = ref_root(size1), ref_root(size2)
    proof = consistency_proof(size1, leaves(size2))
    for at in range(len(proof)):
        for bit in range(8 * HASH_SIZE):
            broken = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
            with pytest.raises(RootMismatchError):
                verify_consistency(size1, size2, broken, root1, root2)


def test_size_is_not_bound_by_the_proof_alone() -> None:
    # Documented behaviour of RFC 9162 proofs: the size comes from the checkpoint.
    proof = inclusion_proof(0, leaves(3))
    verify_inclusion(0, 4, leaves(3)[0], proof, ref_root(3))
    proof = consistency_proof(2, leaves(3))
    verify_consistency(2, 4, proof, ref_root(2), ref_root(3))


# -- Preconditions and errors ------------------------------------------------------------


def test_range_preconditions() -> None:
    with pytest.raises(ValueError, match=r"index is beyond size: 5 >= 4"):
        inclusion_ranges(5, 4)
    with pytest.raises(ValueError, match=r"index is beyond size: 0 >= 0"):
        inclusion_ranges(0, 0)
    with pytest.raises(ValueError, match=r"index is negative: -1"):
        inclusion_ranges(-1, 4)
    with pytest.raises(ValueError, match=r"size1 must be positive: 0"):
        consistency_ranges(0, 4)
    with pytest.raises(ValueError, match=r"size1 is beyond size2: 5 > 4"):
        consistency_ranges(5, 4)
    assert consistency_ranges(4, 4) == [] and inclusion_ranges(0, 1) == []
    for start, end in ((3, 3), (4, 2), (-1, 3)):
        with pytest.raises(ValueError, match="not a non-empty range"):
            range_nodes(start, end)
    with pytest.raises(ValueError, match="start 2 is not a multiple of 4"):
        range_nodes(2, 5)
    with pytest.raises(ValueError, match="start 4 is not a multiple of 8"):
        range_nodes(4, 9)
    assert range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_nodes(4, 7) == [(1, 2), (0, 6)]
    assert range_nodes(1024, 1025) == [(0, 1024)]
    with pytest.raises(ValueError):
        fold_nodes([])
    with pytest.raises(ValueError):
        split_point(1)
    with pytest.raises(ValueError, match="32 bytes"):
        root_hash([EMPTY_ROOT, b"short"])


def test_wrong_hash_lengths_are_proof_errors() -> None:
    tree, root = leaves(5), ref_root(5)
    proof = inclusion_proof(1, tree)
    with pytest.raises(ProofError, match=r"leaf_hash must be 32 bytes, got 31"):
        verify_inclusion(1, 5, tree[1][:31], proof, root)
    with pytest.raises(ProofError, match=r"root must be 32 bytes, got 33"):
        verify_inclusion(1, 5, tree[1], proof, root + b"\x00")
    with pytest.raises(ProofError, match=r"proof\[2\] must be 32 bytes, got 0"):
        verify_inclusion(1, 5, tree[1], [*proof[:2], b""], root)
    c_proof = consistency_proof(3, tree)
    with pytest.raises(ProofError, match=r"root1 must be 32 bytes"):
        verify_consistency(3, 5, c_proof, b"", root)
    with pytest.raises(ProofError, match=r"root2 must be 32 bytes"):
        verify_consistency(3, 5, c_proof, ref_root(3), b"")


def test_parameter_errors_carry_the_values() -> None:
    with pytest.raises(ProofError, match=r"index is beyond size: 5 >= 4"):
        verify_inclusion(5, 4, EMPTY_ROOT, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match=r"must not be negative: index -1, size 4"):
        verify_inclusion(-1, 4, EMPTY_ROOT, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match=r"size1 is beyond size2: 3 > 2"):
        verify_consistency(3, 2, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match=r"size1 is 0"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match=r"size1 is 0"):
        root_from_consistency_proof(0, 5, [], EMPTY_ROOT)
    with pytest.raises(ProofLengthError, match=r"expected 0 nodes, got 1") as length:
        verify_consistency(2, 2, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)
    assert (length.value.expected, length.value.got) == (0, 1)
    with pytest.raises(ProofLengthError, match=r"expected 3 nodes, got 2"):
        verify_inclusion(0, 8, EMPTY_ROOT, [EMPTY_ROOT] * 2, EMPTY_ROOT)


def test_root_mismatch_carries_both_roots() -> None:
    tree = leaves(6)
    proof = inclusion_proof(4, tree)
    with pytest.raises(RootMismatchError) as mismatch:
        verify_inclusion(4, 6, tree[4], proof, EMPTY_ROOT)
    assert mismatch.value.expected == EMPTY_ROOT
    assert mismatch.value.calculated == ref_root(6)
    assert f"0x{EMPTY_ROOT.hex()}" in str(mismatch.value)
    assert f"0x{ref_root(6).hex()}" in str(mismatch.value)
    assert isinstance(mismatch.value, ProofError) and isinstance(mismatch.value, ValueError)
