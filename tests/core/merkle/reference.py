"""A slow Merkle tree written straight from the recursive definitions of RFC 9162 2.1.

Only hashlib, no code shared with `ledger.core.merkle`, so the two can be checked against each
other. Every function recurses on list slices exactly as the RFC's text does: quadratic
in places, fine for the few thousand leaves tests use.

D is a list of leaf hashes (MTH of a one-leaf list is its leaf hash), and D[a:b] is the
Python slice, as in the RFC's notation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1), by counting up."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]): the Merkle Tree Hash of the leaf hashes `d`."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return d[0]
    k = largest_power_of_two_below(n)
    return node_hash(mth(d[0:k]), mth(d[k:n]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the inclusion proof of leaf m (2.1.3.1)."""
    n = len(d)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return path(m, d[0:k]) + [mth(d[k:n])]
    return path(m - k, d[k:n]) + [mth(d[0:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of 2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, d[0:k], b) + [mth(d[k:n])]
    return subproof(m - k, d[k:n], False) + [mth(d[0:k])]


def proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true): the consistency proof from size m."""
    return subproof(m, d, True)


def subtree_ranges(n: int) -> set[tuple[int, int]]:
    """Every [a, b) whose MTH(D[a:b]) the recursion of MTH(D[0:n]) computes: the nodes of
    the tree of n leaves."""
    found: set[tuple[int, int]] = set()

    def visit(a: int, b: int) -> None:
        found.add((a, b))
        if b - a > 1:
            k = largest_power_of_two_below(b - a)
            visit(a, a + k)
            visit(a + k, b)

    if n:
        visit(0, n)
    return found
