"""The index's batch paths, against the one-entry-at-a-time ones: grouping a seal's
entries by key a column at a time, filing them at once, hashing postings leaves in bulk,
appending leaves of any count to a frontier, and reading a level of map nodes at a
time. Every root must be the one the per-entry path gives."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.index import (
    Frontier,
    IndexBuilder,
    SparseMap,
    entry_keys,
    group_entry_keys,
    key_hash,
    postings_leaf,
    postings_leaves,
    update,
)
from ledger.core.index.postings import MAX_LEAF_INDEX
from ledger.core.index.smt import Node, Position, read_paths
from ledger.core.statements import statement_salt
from tests.core.test_index import ref_postings_root

KINDS = ["interaction", "licence", "model", "digest"]

SHA = "ab" * 32
STATEMENT_BYTES = b'{"body":{"sha256":"%s"},"kind":"digest","salt":"%s"' % (
    SHA.encode(),
    statement_salt(SHA).encode(),
)
"""The start of the canonical bytes of a statement record whose sha256 is SHA."""

row_st = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(["e-1", "e-2", "None", None, SHA]),
    st.sampled_from(["a-1", "a-2", "a:3", None]),
    st.sampled_from(["m-1", "m-2", None]),
    st.sampled_from([None, b"", b'{"salt":"00"}', STATEMENT_BYTES]),
)


def filed_one_by_one(rows: list[tuple[str, str | None, str | None, str | None, bytes]]) -> dict:
    grouped: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        for key in entry_keys(*row):
            grouped.setdefault(key, []).append(position)
    return grouped


@settings(max_examples=200, deadline=None)
@given(st.lists(row_st, max_size=80))
def test_grouping_a_column_at_a_time_is_filing_entry_by_entry(rows: list) -> None:
    assert group_entry_keys(rows) == filed_one_by_one(rows)
    # the same columns elsewhere in wider rows (as the sequencer reads them)
    wide = [(i, b"leaf", *row, "x") for i, row in enumerate(rows)]
    assert group_entry_keys(wide, (2, 3, 4, 5, 6)) == filed_one_by_one(rows)


def test_grouping_of_one_kind_and_of_none() -> None:
    rows = [("interaction", f"req-{i}", f"acct-{i % 3}", "m", None) for i in range(10)]
    assert group_entry_keys(rows) == filed_one_by_one(rows)
    assert group_entry_keys(rows)["model:m"] == list(range(10))
    assert group_entry_keys([]) == {}
    assert group_entry_keys([("digest", None, None, None, None)] * 3) == {}
    # the log's own statement records, and only they, are filed under statement:log
    mixed = [("digest", SHA, None, None, STATEMENT_BYTES), ("digest", SHA, None, None, b"{}")]
    assert group_entry_keys(mixed * 2) == {"statement:log": [0, 2]}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["account:a", "account:b", "model:m", "licence:L"]),
            max_size=3,
            unique=True,
        ),
        min_size=1,
        max_size=90,
    ),
    st.lists(st.integers(1, 30), min_size=1, max_size=8),
    st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_filing_a_batch_is_filing_each_entry(
    entries: list[list[str]], cuts: list[int], batched: list[bool]
) -> None:
    """Batches of any size, mixed with single entries within one seal, seal to the
    roots entry-by-entry filing gives."""
    one, many = IndexBuilder(), IndexBuilder()
    leaf = 0
    for n, cut in enumerate([*cuts, len(entries)]):
        end = min(leaf + cut, len(entries))
        for index in range(leaf, end):
            one.add(index, entries[index])
        if batched[n % len(batched)]:
            half = (leaf + end) // 2
            for index in range(leaf, half):  # some one by one, the rest as a batch
                many.add(index, entries[index])
            part = entries[half:end]
            positions: dict[str, list[int]] = {}
            for position, keys in enumerate(part):
                for key in keys:
                    positions.setdefault(key, []).append(position)
            many.add_batch(len(part), positions)
        else:
            for index in range(leaf, end):
                many.add(index, entries[index])
        leaf = end
        assert many.seal() == one.seal()
        assert many.size == one.size == end
        if end == len(entries):
            break
    assert dict(many.frontiers) == dict(one.frontiers)


@pytest.mark.parametrize(
    ("count", "positions", "says"),
    [
        (3, {"account:a": [0, 3]}, r"lie in \[0, 3\)"),
        (3, {"account:a": [-1, 2]}, r"lie in \[0, 3\)"),
        (3, {"account:a": []}, r"lie in \[0, 3\)"),
        (3, {"account:a": [0, 2, 2]}, "increasing"),
        (3, {"account:a": [1, 0]}, "increasing"),
        (-1, {}, "negative"),
    ],
)
def test_a_bad_batch_is_refused_and_changes_nothing(
    count: int, positions: dict[str, list[int]], says: str
) -> None:
    builder = IndexBuilder()
    builder.add(0, ["account:a"])
    with pytest.raises(ValueError, match=says):
        builder.add_batch(count, {"model:m": [0], **positions})
    builder.add_batch(2, {"account:a": [1], "model:m": [0, 1]})
    reference = IndexBuilder()
    for leaf, keys in enumerate([["account:a"], ["model:m"], ["account:a", "model:m"]]):
        reference.add(leaf, keys)
    assert builder.seal() == reference.seal()


def test_a_batch_takes_keys_as_texts_only() -> None:
    hashed = IndexBuilder()
    hashed.add_hashed(0, [key_hash("account:a")])
    with pytest.raises(ValueError, match="use add_hashed"):
        hashed.add_batch(1, {"account:a": [0]})
    assert IndexBuilder().add_batch(0, {}) is None


def test_postings_leaves_in_bulk() -> None:
    for first, count in ((0, 0), (0, 5), (2**40, 7), (MAX_LEAF_INDEX - 2, 3)):
        assert postings_leaves(first, count) == [
            postings_leaf(i) for i in range(first, first + count)
        ]
    for first, count in ((-1, 2), (MAX_LEAF_INDEX - 1, 3), (0, -1)):
        with pytest.raises(ValueError, match="leaf indices run from 0"):
            postings_leaves(first, count)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=8))
def test_frontier_appends_of_any_length(chunks: list[int]) -> None:
    """Short appends go a leaf at a time, long ones a level at a time: both give the
    RFC 9162 root of every prefix."""
    indices = sorted(random.Random(sum(chunks)).sample(range(10**6), sum(chunks)))
    frontier, done = Frontier(), 0
    for chunk in chunks:
        part = indices[done : done + chunk]
        frontier = frontier.extend_leaves([postings_leaf(i) for i in part])
        done += chunk
        assert frontier == Frontier().extend(indices[:done])
        if done:
            assert frontier.root() == ref_postings_root(indices[:done])
            assert len(frontier.hashes) == done.bit_count()


class Reader:
    """The nodes of a map, handed out only once fetched (a table behind a cache)."""

    def __init__(self, nodes: dict[Position, Node]) -> None:
        self.nodes = nodes
        self.held: dict[Position, Node] = {}
        self.fetched: set[Position] = set()
        self.calls = 0

    def fetch(self, positions: list[Position]) -> None:
        self.calls += 1
        for position in positions:
            self.fetched.add(position)
            if position in self.nodes:
                self.held[position] = self.nodes[position]

    def get(self, position: Position, /) -> Node | None:
        assert position in self.fetched, f"position {position} read before it was fetched"
        return self.held.get(position)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(1, 60), st.integers(0, 2**32))
def test_a_level_at_a_time_fetches_every_node_an_update_reads(
    keys: int, touched: int, seed: int
) -> None:
    rng = random.Random(seed)
    names = [hashlib.sha256(b"k%d" % i).digest() for i in range(keys)]
    live = SparseMap()
    live.apply({k: (1 + i, hashlib.sha256(k).digest()) for i, k in enumerate(names)})
    changes = {
        k: (9, hashlib.sha256(b"new" + k).digest()) for k in rng.sample(names, min(touched, keys))
    }
    changes |= {hashlib.sha256(b"n%d" % i).digest(): (1, bytes(32)) for i in range(touched // 2)}
    reader = Reader(dict(live.store))
    read_paths(reader, changes, reader.fetch)
    assert update(reader, changes) == update(live.store, changes)
    depth = max((p.bit_length() for p in reader.fetched), default=0)
    assert reader.calls <= depth + 1  # one call per level
