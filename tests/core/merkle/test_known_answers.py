"""Known answers: the RFC 6962 reference test data of Certificate Transparency, also used by
transparency-dev/merkle (testonly/constants.go, proof/verify_test.go).

Eight leaf inputs; the roots of the trees of their first 0..8 leaves; the hashes of every
complete subtree of the tree of 8; and a few inclusion and consistency proofs. A log
whose hashes disagree with these proves nothing to anybody else.
"""

from __future__ import annotations

import pytest

from ledger.core.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    fold_nodes,
    hash_children,
    hash_leaf,
    inclusion_proof,
    range_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [hash_leaf(data) for data in LEAF_INPUTS]

ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
"""ROOTS[n] is the root of the tree of the first n leaves."""

NODES = {
    (0, 0): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    (0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    (0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    (0, 4): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (0, 5): "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    (0, 6): "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    (0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
"""Hash of every complete subtree (level, index) of the tree of 8 leaves."""


def _node(level: int, index: int) -> bytes:
    return bytes.fromhex(NODES[(level, index)])


INCLUSION_PROOFS = [
    (0, 8, [_node(0, 1), _node(1, 1), _node(2, 1)]),
    (5, 8, [_node(0, 4), _node(1, 3), _node(2, 0)]),
    (2, 3, [_node(1, 0)]),
    (1, 5, [_node(0, 0), _node(1, 1), _node(0, 4)]),
    (0, 1, []),
]
"""(leaf index, tree size, proof)."""

CONSISTENCY_PROOFS = [
    (1, 1, []),
    (1, 8, [_node(0, 1), _node(1, 1), _node(2, 1)]),
    (6, 8, [_node(1, 2), _node(1, 3), _node(2, 0)]),
    (2, 5, [_node(1, 1), _node(0, 4)]),
    (6, 7, [_node(1, 2), _node(0, 6), _node(2, 0)]),
]
"""(size1, size2, proof)."""


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT == ROOTS[0]
    assert root_hash([]) == EMPTY_ROOT
    assert HASH_SIZE == len(EMPTY_ROOT) == 32


def test_leaf_and_node_hashing() -> None:
    assert [leaf.hex() for leaf in LEAVES] == [NODES[(0, i)] for i in range(8)]
    assert hash_children(_node(0, 0), _node(0, 1)) == _node(1, 0)
    assert hash_children(_node(2, 0), _node(2, 1)) == _node(3, 0)


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots(size: int) -> None:
    assert root_hash(LEAVES[:size]) == ROOTS[size]
    if size:
        assert fold_nodes([_node(*n) for n in range_nodes(0, size)]) == ROOTS[size]


@pytest.mark.parametrize("level, index", sorted(NODES))
def test_complete_subtrees(level: int, index: int) -> None:
    start, end = index << level, (index + 1) << level
    assert root_hash(LEAVES[start:end]) == _node(level, index)
    assert range_nodes(start, end) == [(level, index)]


@pytest.mark.parametrize("index, size, proof", INCLUSION_PROOFS)
def test_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, LEAVES[:size]) == proof
    verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size])


@pytest.mark.parametrize("size1, size2, proof", CONSISTENCY_PROOFS)
def test_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    assert consistency_proof(size1, LEAVES[:size2]) == proof
    verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
