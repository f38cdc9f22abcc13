"""The verifiable index's pure core: the map against an independent reference, proofs
of presence and absence, postings windows, and every tampering a verifier must refuse,
each named by its check."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.index import (
    EMPTY,
    Frontier,
    IndexBuilder,
    IndexProofError,
    MapLeaf,
    MapProof,
    PostingsClaim,
    SparseMap,
    WindowProof,
    build,
    build_claim,
    index_root,
    key_hash,
    parse_key,
    postings_root,
    record_keys,
    root_from_proof,
    root_from_window,
    update,
    verify_postings,
    window_proof,
)
from ledger.core.merkle import hash_children, hash_leaf

# --- an independent reference: the definition of docs/completeness.md, recursively ---


def ref_leaf(k: bytes, n: int, p: bytes) -> bytes:
    return hashlib.sha256(b"\x02" + k + n.to_bytes(8, "big") + p).digest()


def ref_root(values: dict[bytes, tuple[int, bytes]], depth: int = 0) -> bytes:
    """The map root straight from the definition: empty, one leaf, or split on a bit."""
    if not values:
        return bytes(32)
    if len(values) == 1:
        ((k, (n, p)),) = values.items()
        return ref_leaf(k, n, p)
    bit = lambda k: (k[depth // 8] >> (7 - depth % 8)) & 1
    left = {k: v for k, v in values.items() if bit(k) == 0}
    right = {k: v for k, v in values.items() if bit(k) == 1}
    return hashlib.sha256(b"\x03" + ref_root(left, depth + 1) + ref_root(right, depth + 1)).digest()


def ref_postings_root(indices: list[int]) -> bytes:
    """RFC 9162 MTH of the u64be leaves, by its recursive definition."""
    if len(indices) == 1:
        return hash_leaf(indices[0].to_bytes(8, "big"))
    k = 1 << ((len(indices) - 1).bit_length() - 1)
    return hash_children(ref_postings_root(indices[:k]), ref_postings_root(indices[k:]))


def value(seed: int) -> tuple[int, bytes]:
    return 1 + seed % 1000, hashlib.sha256(b"P%d" % seed).digest()


keys_st = st.lists(st.binary(min_size=32, max_size=32), min_size=0, max_size=40, unique=True)


# --- the map ---


def test_empty_map_root_is_zero() -> None:
    assert SparseMap().root == EMPTY == build({}).root
    assert update({}, {}).writes == {}


@settings(max_examples=150, deadline=None)
@given(keys=keys_st, batches=st.integers(1, 5), data=st.data())
def test_incremental_equals_from_scratch(
    keys: list[bytes], batches: int, data: st.DataObject
) -> None:
    """Any split of the keys into batches, with some keys updated again later, gives
    the root of the reference built from the final values."""
    live = SparseMap()
    final: dict[bytes, tuple[int, bytes]] = {}
    for batch in range(batches):
        chosen = data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
        changes = {k: value(batch * 7 + i) for i, k in enumerate(chosen)}
        live.apply(changes)
        final.update(changes)
        assert live.root == ref_root(final) == build(final).root


def test_adversarial_shared_prefixes() -> None:
    """Keys sharing long prefixes (up to 255 bits) still give the reference root."""
    base = bytes(32)
    keys = [
        base,
        base[:-1] + b"\x01",
        base[:-1] + b"\x02",
        b"\x80" + base[1:],
        base[:16] + b"\x80" + base[17:],
    ]
    live = SparseMap()
    final = {}
    for i, k in enumerate(keys):
        live.apply({k: value(i)})
        final[k] = value(i)
        assert live.root == ref_root(final)
    for k in keys:
        leaf, proof = live.prove(k)
        assert leaf is not None
        assert root_from_proof(k, leaf, proof) == live.root
    assert len(live.prove(base)[1].siblings) == 256  # keys differing in the last bit only


@settings(max_examples=100, deadline=None)
@given(keys=keys_st, probes=st.lists(st.binary(min_size=32, max_size=32), max_size=5))
def test_presence_and_absence_proofs(keys: list[bytes], probes: list[bytes]) -> None:
    live = SparseMap()
    live.apply({k: value(i) for i, k in enumerate(keys)})
    for k in keys:
        leaf, proof = live.prove(k)
        assert leaf == MapLeaf(k, *value(keys.index(k)))
        assert root_from_proof(k, leaf, proof) == live.root
        # The same path cannot also show the key absent.
        assert root_from_proof(k, None, proof) != live.root
    for k in probes:
        if k in keys:
            continue
        leaf, proof = live.prove(k)
        assert leaf is None
        assert root_from_proof(k, None, proof) == live.root
        # Nor can a present key be invented on an absence path.
        assert root_from_proof(k, MapLeaf(k, 1, EMPTY), MapProof(proof.siblings)) != live.root


def test_absence_proof_checks_the_other_leaf() -> None:
    keys = [hashlib.sha256(b"%d" % i).digest() for i in range(50)]
    live = SparseMap()
    live.apply({k: value(i) for i, k in enumerate(keys)})
    probe = next(
        p
        for p in (hashlib.sha256(b"x%d" % i).digest() for i in range(1000))
        if live.prove(p)[1].other is not None
    )
    _, proof = live.prove(probe)
    assert proof.other is not None
    with pytest.raises(IndexProofError, match="index map: the leaf shown .* is the key's own"):
        root_from_proof(proof.other.key_hash, None, proof)
    far = MapLeaf(bytes(b ^ 0xFF for b in probe), proof.other.count, proof.other.postings_root)
    with pytest.raises(IndexProofError, match="not on the key's path"):
        root_from_proof(probe, None, MapProof(proof.siblings, far))
    with pytest.raises(IndexProofError, match="at most 256"):
        root_from_proof(probe, None, MapProof((EMPTY,) * 257))


def test_update_writes_only_the_touched_paths() -> None:
    keys = [hashlib.sha256(b"%d" % i).digest() for i in range(4096)]
    live = SparseMap()
    live.apply({k: value(i) for i, k in enumerate(keys)})
    result = update(live.store, {keys[5]: (9, EMPTY)})
    depth = len(live.prove(keys[5])[1].siblings)
    assert len(result.writes) == depth + 1  # the leaf and each interior node above it


# --- postings ---


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 2**40), min_size=1, max_size=140, unique=True).map(sorted),
    st.lists(st.integers(0, 40), min_size=1, max_size=12),
)
def test_postings_root_and_frontier(indices: list[int], chunks: list[int]) -> None:
    """Appending in any chunks (empty ones too) gives the RFC 9162 root of the prefix."""
    assert postings_root(indices) == ref_postings_root(indices)
    frontier, done = Frontier(), 0
    for chunk in [*chunks, len(indices)]:
        frontier = frontier.extend(indices[done : done + chunk])
        done = min(done + chunk, len(indices))
        assert frontier.size == done
        if done:
            assert frontier.root() == ref_postings_root(indices[:done])
            assert len(frontier.hashes) == done.bit_count()
        if done == len(indices):
            break
    assert frontier.size == len(indices)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=60, unique=True).map(sorted),
    st.integers(0, 520),
    st.integers(1, 520),
)
def test_window_proofs(indices: list[int], start: int, width: int) -> None:
    end = start + width
    inside, proof = window_proof(indices, start, end)
    assert inside == [i for i in indices if start <= i < end]
    assert root_from_window(len(indices), start, end, inside, proof) == postings_root(indices)
    if inside:  # leaving any one out is caught
        for drop in range(len(inside)):
            short = inside[:drop] + inside[drop + 1 :]
            try:
                got = root_from_window(len(indices), start, end, short, proof)
            except IndexProofError as error:
                assert error.check == "omitted"
            else:
                assert got != postings_root(indices)


# --- claims: what a completeness document proves, and every tampering ---

LOG_SIZE = 300


def make_index(seed: int = 1) -> tuple[SparseMap, dict[str, list[int]]]:
    """A log of LOG_SIZE entries spread over 40 keys, indexed in 6 batches."""
    rng = random.Random(seed)
    names = [f"account:acct-{i}" for i in range(40)]
    postings: dict[str, list[int]] = {}
    live = SparseMap()
    for start in range(0, LOG_SIZE, 50):
        touched = set()
        for leaf in range(start, start + 50):
            name = rng.choice(names)
            postings.setdefault(name, []).append(leaf)
            touched.add(name)
        live.apply({key_hash(n): (len(postings[n]), postings_root(postings[n])) for n in touched})
    return live, postings


@pytest.fixture(scope="module")
def index() -> tuple[SparseMap, dict[str, list[int]]]:
    return make_index()


def busiest(postings: dict[str, list[int]]) -> str:
    return max(postings, key=lambda n: len(postings[n]))


def test_full_claim_verifies(index: tuple[SparseMap, dict[str, list[int]]]) -> None:
    live, postings = index
    for name, indices in postings.items():
        claim = build_claim(live.store, LOG_SIZE, name, indices)
        assert claim.leaf_indices == tuple(indices)
        assert verify_postings(claim) == live.root
        assert claim.index_root == index_root(LOG_SIZE, live.root)


def test_window_claim_verifies(index: tuple[SparseMap, dict[str, list[int]]]) -> None:
    live, postings = index
    name = busiest(postings)
    for start, end in [(0, 1), (10, 90), (100, 300), (299, 300), (0, 300)]:
        claim = build_claim(live.store, LOG_SIZE, name, postings[name], start, end)
        assert claim.leaf_indices == tuple(i for i in postings[name] if start <= i < end)
        verify_postings(claim)


def test_absence_claim_verifies(index: tuple[SparseMap, dict[str, list[int]]]) -> None:
    live, _ = index
    for name in ["account:nobody", "model:none", "licensee:x"]:
        claim = build_claim(live.store, LOG_SIZE, name, [])
        assert claim.count == 0 and claim.window is None
        verify_postings(claim)


def tampered(claim: PostingsClaim, **changes: object) -> str:
    with pytest.raises(IndexProofError) as failure:
        verify_postings(replace(claim, **changes))  # type: ignore[arg-type]
    return failure.value.check


def test_every_tampering_names_its_check(index: tuple[SparseMap, dict[str, list[int]]]) -> None:
    live, postings = index
    name = busiest(postings)
    claim = build_claim(live.store, LOG_SIZE, name, postings[name])
    indices = claim.leaf_indices
    other = next(i for i in range(LOG_SIZE) if i not in indices)
    assert tampered(claim, leaf_indices=indices[1:]) == "omitted"
    assert tampered(claim, leaf_indices=indices[1:], count=claim.count - 1) == "omitted"
    added = tuple(sorted((*indices[:-1], other)))
    assert tampered(claim, leaf_indices=added) == "omitted"
    assert tampered(claim, leaf_indices=(indices[1], indices[0], *indices[2:])) == "reordered"
    assert tampered(claim, leaf_indices=(indices[0], *indices)) == "duplicated"
    stale = build_claim(live.store, LOG_SIZE, name, postings[name])
    assert tampered(stale, index_root=index_root(LOG_SIZE - 50, live.root)) == "index root"
    assert tampered(claim, tree_size=LOG_SIZE + 1, end=LOG_SIZE + 1) == "index root"
    assert tampered(claim, tree_size=indices[-1], end=indices[-1]) == "tree size"
    assert tampered(claim, key="account:someone-else") == "index root"
    assert tampered(claim, key="nokind:x") == "key"
    # A flipped bit anywhere in a proof.
    for at in range(len(claim.map_proof.siblings)):
        sibs = list(claim.map_proof.siblings)
        sibs[at] = bytes([sibs[at][0] ^ 1]) + sibs[at][1:]
        assert tampered(claim, map_proof=MapProof(tuple(sibs))) == "index root"
    window = claim.window
    assert window is not None
    narrow = build_claim(live.store, LOG_SIZE, name, postings[name], 50, 250)
    assert narrow.window is not None and narrow.window.nodes
    nodes = list(narrow.window.nodes)
    nodes[0] = bytes([nodes[0][0] ^ 0x80]) + nodes[0][1:]
    assert tampered(narrow, window=replace(narrow.window, nodes=tuple(nodes))) == "omitted"
    assert tampered(narrow, postings_root=bytes(32)) == "omitted"
    assert tampered(narrow, window=replace(narrow.window, before=None)) == "omitted"
    # A neighbour moved inside the window hides it: refused.
    assert narrow.window.before is not None
    assert tampered(narrow, start=narrow.window.before) == "omitted"


def test_absence_cannot_hide_a_present_key(index: tuple[SparseMap, dict[str, list[int]]]) -> None:
    live, postings = index
    name = busiest(postings)
    present = build_claim(live.store, LOG_SIZE, name, postings[name])
    # Claim the key absent with its own (inclusion) path: the empty slot does not hash to M.
    assert (
        tampered(present, count=0, postings_root=None, leaf_indices=(), window=None) == "index root"
    )
    absent = build_claim(live.store, LOG_SIZE, "account:nobody", [])
    # Another key's absence path, given for this key: off its path, or another root.
    with pytest.raises(IndexProofError) as failure:
        verify_postings(replace(absent, key=name))
    assert failure.value.check in ("index map", "index root")
    assert tampered(absent, leaf_indices=(3,)) == "added"


def test_keys_of_records() -> None:
    interaction = {"kind": "interaction", "body": {"account_id": "a", "model": "m"}}
    licence = {"kind": "licence", "body": {"licence_id": "L", "licensee": "acme"}}
    model = {"kind": "model", "body": {"model_id": "m1"}}
    assert record_keys(interaction) == ["account:a", "model:m"]
    assert record_keys(licence) == ["licence:L", "licensee:acme"]
    assert record_keys(model) == ["model_id:m1"]
    assert record_keys({"kind": "digest", "body": {"sha256": "00"}}) == []
    assert parse_key("account:a:b") == ("account", "a:b")
    for bad in ["account", "acct:x", "account:", "account:" + "x" * 257, "account:\ud800"]:
        with pytest.raises(IndexProofError, match="^key: "):
            parse_key(bad)
    assert key_hash("account:a") == hashlib.sha256(b"account:a").digest()


def test_window_proof_needs_postings() -> None:
    with pytest.raises(ValueError):
        window_proof([], 0, 1)
    assert WindowProof(0, None, None, ()).nodes == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["account:a", "account:b", "model:m", "licence:L", "x:y"]),
            max_size=3,
            unique=True,
        ),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.integers(1, 20), min_size=1, max_size=10),
)
def test_builder_replays_to_the_reference(entries: list[list[str]], cuts: list[int]) -> None:
    """Entries filed under keys and sealed at any cuts: R(S) at each seal is the index
    root of the reference map of the postings up to S, whether the keys are given as
    texts or, as an audit gives them, as their hashes."""
    builder = IndexBuilder()
    hashed = IndexBuilder()
    leaf, seals = 0, [*cuts, len(entries)]
    for cut in seals:
        end = min(leaf + cut, len(entries))
        for index in range(leaf, end):
            builder.add(index, entries[index])
            hashed.add_hashed(index, [key_hash(key) for key in entries[index]])
        leaf = end
        postings: dict[str, list[int]] = {}
        for index in range(end):
            for key in entries[index]:
                postings.setdefault(key, []).append(index)
        expected = ref_root(
            {key_hash(k): (len(v), ref_postings_root(v)) for k, v in postings.items()}
        )
        assert builder.seal() == index_root(end, expected)
        assert hashed.seal() == index_root(end, expected)
        if end == len(entries):
            break
    with pytest.raises(ValueError, match="leaf order"):
        builder.add(leaf + 1, ["account:a"])
    with pytest.raises(ValueError, match="leaf order"):
        hashed.add_hashed(leaf + 1, [key_hash("account:a")])
    # One builder takes keys one way: texts or hashes, never both.
    with pytest.raises(ValueError, match="use add$"):
        builder.add_hashed(len(entries), [key_hash("account:a")])
    with pytest.raises(ValueError, match="use add_hashed"):
        hashed.add(len(entries), ["account:a"])
