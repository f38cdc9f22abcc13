"""Fuzzing proof verification: no mutated proof is ever accepted, no input crashes.

test_properties.py breaks one thing at a time (a bit, a node added or removed, another
index or size). Here hypothesis stacks several edits of the kinds an attacker would try,
with material taken from the same tree (nodes of other proofs, interior subtree roots,
other leaves), and feeds the verifiers arbitrary arguments. A proof verifies only if it
is exactly the honest one; every refusal is a ProofError. The tree size is held fixed:
a proof alone does not bind it (see test_properties.py), the signed checkpoint does.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.core.merkle.test_properties import leaves, ref_root

MAX_SIZE = 70
fuzz_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@cache
def subtree_roots(size: int) -> tuple[bytes, ...]:
    """Every interior node a proof of this tree could name: plausible forgery material."""
    tree = leaves(size)
    found: list[bytes] = []
    width = 1
    while width < 2 * size:
        found += [root_hash(tree[start : start + width]) for start in range(0, size, width)]
        width *= 2
    found += [root_hash(tree[:end]) for end in range(1, size + 1)]  # roots of older trees
    return tuple(dict.fromkeys(found))


def mutate(data: st.DataObject, proof: list[bytes], size: int) -> list[bytes]:
    """`proof` after one to four edits drawn by hypothesis, from material of this tree."""
    material = st.sampled_from(subtree_roots(size)) | st.binary(min_size=32, max_size=32)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        edit = data.draw(
            st.sampled_from(["replace", "insert", "delete", "swap", "reverse", "flip", "rotate"])
        )
        if edit == "replace" and proof:
            at = data.draw(st.integers(0, len(proof) - 1))
            proof[at] = data.draw(material)
        elif edit == "insert":
            proof.insert(data.draw(st.integers(0, len(proof))), data.draw(material))
        elif edit == "delete" and proof:
            del proof[data.draw(st.integers(0, len(proof) - 1))]
        elif edit == "swap" and len(proof) > 1:
            i, j = data.draw(
                st.lists(st.integers(0, len(proof) - 1), min_size=2, max_size=2, unique=True)
            )
            proof[i], proof[j] = proof[j], proof[i]
        elif edit == "reverse":
            proof.reverse()
        elif edit == "flip" and proof:
            at = data.draw(st.integers(0, len(proof) - 1))
            bit = data.draw(st.integers(0, 255))
            node = bytearray(proof[at])
            node[bit // 8] ^= 0x80 >> (bit % 8)
            proof[at] = bytes(node)
        elif edit == "rotate" and proof:
            proof.append(proof.pop(0))
    return proof


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return size, draw(st.integers(0, size - 1))


@fuzz_settings
@given(inclusion_case(), st.data())
def test_mutated_inclusion_proofs_are_refused(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    tree, root = leaves(size), ref_root(size)
    honest = inclusion_proof(index, tree)
    forged = mutate(data, list(honest), size)
    claimed_index = data.draw(
        st.sampled_from([index]) | st.integers(0, size - 1), label="claimed index"
    )
    claimed_leaf = data.draw(
        st.sampled_from([tree[index]]) | st.sampled_from(subtree_roots(size)), label="leaf"
    )
    if (forged, claimed_index, claimed_leaf) == (honest, index, tree[index]):
        verify_inclusion(index, size, tree[index], forged, root)
        return
    if claimed_leaf == tree[claimed_index] and forged == inclusion_proof(claimed_index, tree):
        return  # the edits rebuilt another honest proof: nothing forged
    with pytest.raises(ProofError):
        verify_inclusion(claimed_index, size, claimed_leaf, forged, root)


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, MAX_SIZE))
    return draw(st.integers(1, size2 - 1)), size2


@fuzz_settings
@given(consistency_case(), st.data())
def test_mutated_consistency_proofs_are_refused(case: tuple[int, int], data: st.DataObject) -> None:
    size1, size2 = case
    honest = consistency_proof(size1, leaves(size2))
    forged = mutate(data, list(honest), size2)
    # An old root from another history of the same size, or the honest one.
    other = data.draw(st.sampled_from(subtree_roots(size2)), label="other old root")
    root1 = data.draw(st.sampled_from([ref_root(size1), other]), label="root1")
    if (forged, root1) == (honest, ref_root(size1)):
        verify_consistency(size1, size2, forged, root1, ref_root(size2))
        return
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, forged, root1, ref_root(size2))


hashes = st.binary(min_size=0, max_size=40) | st.binary(min_size=32, max_size=32)
numbers = st.integers(-(2**70), 2**70) | st.integers(-2, 80)


@settings(max_examples=500, deadline=None)
@given(numbers, numbers, hashes, st.lists(hashes, max_size=70), hashes)
def test_arbitrary_inclusion_arguments_are_refused_cleanly(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, root)


@settings(max_examples=500, deadline=None)
@given(numbers, numbers, st.lists(hashes, max_size=70), hashes, hashes)
def test_arbitrary_consistency_arguments_are_refused_cleanly(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    if size1 == size2 and size1 > 0 and not proof and root1 == root2:
        verify_consistency(size1, size2, proof, root1, root2)  # a tree is consistent with itself
        return
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, root2)
