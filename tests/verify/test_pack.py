"""Evidence packs, verified purely: packs built here from records and ledger.core.merkle.multiproof,
the chain faked in memory (tests/verify/test_bundle.py's). Every record, proof node, the root
and the size are changed in turn, and each must fail with the right check; a pack about
another log than the pinned one is refused."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from ledger.core.merkle import root_hash
from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.formats.bundle import BUNDLE_FORMAT
from ledger.formats.pack import (
    MAX_PACK_ENTRIES,
    PACK_FORMAT,
    PackQuery,
    QueryError,
    normalize_time,
    parse_pack,
    parse_query,
    parse_query_input,
    time_bound,
)
from ledger.verify.evidence import verify_evidence
from ledger.verify.pack import record_entry, verify_pack
from ledger.verify.result import VerificationError
from tests.verify.test_bundle import (
    CONTRACT,
    IDENTITY,
    LEAVES,
    LOG_ID,
    ONLINE_CHECKS,
    RECORDS,
    SIZE,
    FakeChain,
    anchor_json,
    bundle_for,
    changed,
    h,
    record_paths,
    set_path,
)


def pack_for(
    indices: list[int], size: int = SIZE, query: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A correct pack of the leaves at `indices` in the tree of the first `size` leaves."""
    return {
        "format": PACK_FORMAT,
        "chain_id": 31337,
        "contract": h(CONTRACT),
        "log_id": h(LOG_ID),
        "checkpoint": {
            "tree_size": size,
            "root": h(root_hash(LEAVES[:size])),
            "anchor": anchor_json(size),
        },
        "query": query or {},
        "entries": [{"leaf_index": i, "record": copy.deepcopy(RECORDS[i])} for i in indices],
        "proof": [h(root_hash(LEAVES[a:b])) for a, b in multi_inclusion_ranges(indices, size)],
    }


def failure(pack: Any, chain: FakeChain | None = None) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_evidence(
            pack if isinstance(pack, (str, bytes)) else json.dumps(pack),
            chain,
            None if chain is None else IDENTITY,
        )
    error = caught.value
    assert error.result is not None and error.result.checks[-1].name == error.check
    assert not error.result.checks[-1].passed and not error.result.valid
    return error


@pytest.mark.parametrize("indices", [[0], [10], [0, 1], [2, 3, 7], list(range(SIZE)), [1, 4, 5, 9]])
def test_packs_verify_offline_and_against_the_chain(indices: list[int]) -> None:
    offline = verify_pack(json.dumps(pack_for(indices)), None)
    assert offline.valid and not offline.chain_consulted
    assert [c.name for c in offline.checks] == ["pack", "records", "query", "inclusion"]
    assert "NOT consulted" in offline.statement() and "the pack states" in offline.statement()
    online = verify_evidence(json.dumps(pack_for(indices)), FakeChain(), IDENTITY)
    assert [c.name for c in online.checks][:2] == ["pack", "log identity"] and [
        c.name for c in online.checks
    ][5:] == ONLINE_CHECKS
    assert (
        online.valid
        and online.statement()
        == f"existed no later than 2026-05-28T20:26:40Z (block 12), in {IDENTITY.describe()}"
    )
    smaller = pack_for(indices[:1], size=5) if indices[0] < 5 else pack_for([4], size=5)
    assert verify_pack(smaller, FakeChain(), IDENTITY).valid


def test_the_dispatcher_still_reads_single_bundles() -> None:
    assert verify_evidence(json.dumps(bundle_for(3)), FakeChain(), IDENTITY).valid
    with pytest.raises(ValueError, match="needs a pinned log identity"):
        verify_evidence(json.dumps(bundle_for(3)), FakeChain())
    error = failure({"format": "model-ledger/evidence/v9"})
    assert (
        error.check == "bundle" and PACK_FORMAT in error.message and BUNDLE_FORMAT in error.message
    )
    assert failure(b"[1, 2]").check == "bundle"
    assert failure(b"{oops").check == "bundle"


def test_inclusion_detail_says_how_many_nodes_are_shared() -> None:
    result = verify_pack(pack_for(list(range(0, SIZE, 2))), None)
    detail = result.checks[-1].detail
    assert (
        f"6 leaves of the tree of size {SIZE}" in detail
        and "one proof per entry would need" in detail
    )


# -- one thing changed: the right check fails -------------------------------------------


@pytest.mark.parametrize("path", record_paths(RECORDS[4]), ids=lambda p: ".".join(map(str, p)))
def test_any_record_field_changed_fails(path: tuple[Any, ...]) -> None:
    pack = pack_for([2, 4, 8])
    record = pack["entries"][1]["record"]
    old = record
    for key in path:
        old = old[key]
    set_path(record, path, changed(old))
    error = failure(pack)
    if path == ("kind",):  # v 2 is valid too, with another leaf: inclusion fails
        assert error.check == "records" and error.message.startswith(
            "entries[1] (leaf index 4): not a valid v1 record"
        )
    else:
        assert error.check == "inclusion", error
        assert (
            "the 3 records, their leaf indices and the" in error.message
            and "not to the checkpoint root" in error.message
        )


@pytest.mark.parametrize("position", range(len(multi_inclusion_ranges([1, 6, 7], SIZE))))
def test_any_proof_node_changed_fails(position: int) -> None:
    pack = pack_for([1, 6, 7])
    node = pack["proof"][position]
    pack["proof"][position] = node[:-1] + ("0" if node[-1] != "0" else "1")
    error = failure(pack)
    assert error.check == "inclusion" and "not to the checkpoint root" in error.message


def test_proof_nodes_added_removed_or_swapped_fail() -> None:
    pack = pack_for([1, 6])
    short = copy.deepcopy(pack)
    short["proof"].pop()
    error = failure(short)
    assert (
        error.check == "inclusion"
        and f"the proof has {len(pack['proof']) - 1} nodes" in error.message
    )
    assert f"need exactly {len(pack['proof'])}" in error.message
    long = copy.deepcopy(pack)
    long["proof"].append(long["proof"][0])
    assert failure(long).check == "inclusion"
    swapped = copy.deepcopy(pack)
    swapped["proof"][0], swapped["proof"][1] = swapped["proof"][1], swapped["proof"][0]
    assert failure(swapped).check == "inclusion"


def test_root_size_and_indices_changed_fail() -> None:
    pack = pack_for([0, 3, 9])
    bad_root = copy.deepcopy(pack)
    bad_root["checkpoint"]["root"] = h(root_hash(LEAVES[:5]))
    assert failure(bad_root).check == "inclusion"
    for size in (SIZE - 1, 13, 16):
        bad_size = copy.deepcopy(pack)
        bad_size["checkpoint"]["tree_size"] = size
        assert failure(bad_size).check == "inclusion", size
    # As with single proofs, a proof does not pin the size by itself: these leaves fold
    # the same way in a tree of 12. Only the chain, which keeps the root by size, does.
    grown = copy.deepcopy(pack)
    grown["checkpoint"]["tree_size"] = 12
    assert verify_pack(grown, None).valid
    assert failure(grown, FakeChain()).check == "root on chain"
    moved = copy.deepcopy(pack)
    moved["entries"][1]["leaf_index"] = 4
    assert failure(moved).check == "inclusion"
    swapped = copy.deepcopy(pack)
    swapped["entries"][0]["record"], swapped["entries"][1]["record"] = (
        swapped["entries"][1]["record"],
        swapped["entries"][0]["record"],
    )
    assert failure(swapped).check == "inclusion"
    dropped = copy.deepcopy(pack)
    del dropped["entries"][1]
    assert failure(dropped).check == "inclusion"


def test_a_self_consistent_forgery_fails_only_on_chain() -> None:
    """Change a record and rebuild the proof and root: the mathematics hold, the chain
    does not have that root."""
    records = copy.deepcopy(RECORDS)
    records[4]["body"]["input_tokens"] += 1
    leaves = list(LEAVES)
    leaves[4] = record_entry(records[4]).leaf_hash
    forged = pack_for([4])
    forged["entries"][0]["record"] = records[4]
    forged["checkpoint"]["root"] = h(root_hash(leaves))
    forged["proof"] = [h(root_hash(leaves[a:b])) for a, b in multi_inclusion_ranges([4], SIZE)]
    assert verify_pack(forged, None).valid
    error = failure(forged, FakeChain())
    assert error.check == "root on chain" and "the pack's checkpoint has" in error.message
    never = pack_for([2], size=7)
    assert verify_pack(never, None).valid
    assert failure(never, FakeChain()).check == "root on chain"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("chain_id", 1, "chain_id: the pack names 1, the pinned log has 31337"),
        (
            "contract",
            "0x" + "ab" * 20,
            f"log_anchor: the pack names 0x{'ab' * 20}, the pinned log has {h(CONTRACT)}",
        ),
        (
            "log_id",
            "0x" + "cd" * 32,
            f"log_id: the pack names 0x{'cd' * 32}, the pinned log has {h(LOG_ID)}",
        ),
    ],
)
def test_a_pack_about_another_log_is_refused(field: str, value: Any, words: str) -> None:
    other = pack_for([2]) | {field: value}
    assert verify_pack(other, None).valid  # unpinned and offline: mathematics only
    for chain in (None, FakeChain()):
        with pytest.raises(VerificationError) as caught:
            verify_evidence(json.dumps(other), chain, IDENTITY)
        assert caught.value.check == "log identity" and words in caught.value.message, caught.value


def test_a_pack_is_checked_on_chain_as_a_bundle_is() -> None:
    """The chain checks are the bundle's (tests/verify/test_bundle.py): one of each, for a pack."""
    chain = FakeChain()
    chain.codes[CONTRACT] = b"\x60\x80"
    assert failure(pack_for([2]), chain).check == "contract"
    tampered = pack_for([2])
    tampered["checkpoint"]["anchor"]["block_timestamp"] -= 1
    error = failure(tampered, FakeChain())
    assert error.check == "anchor block" and "the pack says" in error.message
    tampered["checkpoint"]["anchor"] = anchor_json(5)
    assert failure(tampered, FakeChain()).check == "anchor transaction"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: p.pop("query"), "pack lacks 'query'"),
        (lambda p: p.update(extra=1), "pack has unknown field 'extra'"),
        (lambda p: p.update(entries=[]), "entries must be a non-empty list"),
        (
            lambda p: p["entries"][0].update(leaf_hash="0x00"),
            "entries[0] has unknown field 'leaf_hash'",
        ),
        (
            lambda p: p["entries"].reverse(),
            "entries[1].leaf_index is 2 after 5: leaf indices must increase strictly",
        ),
        (
            lambda p: p["entries"].append(copy.deepcopy(p["entries"][-1])),
            "entries[2].leaf_index is 5 after 5",
        ),
        (
            lambda p: p["entries"][1].update(leaf_index=SIZE),
            f"entries[1].leaf_index must be between 0 and {SIZE - 1}",
        ),
        (lambda p: p["entries"][0].update(record=[1]), "entries[0].record must be a JSON object"),
        (lambda p: p.update(proof="0x00"), "proof must be a list of hashes"),
        (
            lambda p: p["proof"].__setitem__(0, "0xAB"),
            "proof[0] must be 0x and 64 lowercase hex digits",
        ),
        (lambda p: p.update(query={"color": "red"}), "query.color: unknown field"),
        (lambda p: p.update(query={"kind": "weather"}), "query.kind: must be one of"),
        (lambda p: p["checkpoint"].update(tree_size=0), "checkpoint.tree_size must be between 1"),
    ],
)
def test_malformed_packs_are_refused(change: Any, words: str) -> None:
    pack = pack_for([2, 5])
    change(pack)
    error = failure(pack)
    assert error.check == "pack" and words in error.message, error.message


def test_duplicate_keys_floats_and_limits() -> None:
    text = json.dumps(pack_for([2, 5]))
    assert (
        failure(text.replace('"chain_id": 31337', '"chain_id": 31337, "chain_id": 31337')).check
        == "bundle"
    )
    assert failure(text.replace('"chain_id": 31337', '"chain_id": 31337.0')).check == "bundle"
    many = pack_for([2])
    many["entries"] = many["entries"] * (MAX_PACK_ENTRIES + 1)
    error = failure(many)
    assert (
        error.check == "pack"
        and f"pack has {MAX_PACK_ENTRIES + 1} entries; the limit is {MAX_PACK_ENTRIES}"
        in error.message
    )


# -- the query ---------------------------------------------------------------------------


def test_query_is_checked_against_every_record() -> None:
    account = RECORDS[3]["body"]["account_id"]
    ok = pack_for(
        [3],
        query={
            "account_ids": [account, "acct-x"],
            "kind": "interaction",
            "model": RECORDS[3]["body"]["model"],
        },
    )
    assert verify_pack(ok, None).valid
    wrong = pack_for([3, 4], query={"account_ids": [account]})
    error = failure(wrong)
    assert error.check == "query" and error.message.startswith(
        "entries[1] (leaf index 4) does not match the pack's query"
    )
    ts = RECORDS[3]["ts"]
    assert (
        failure(pack_for([3], query={"from": normalize_time(ts[:10], "from"), "to": ts})).check
        == "query"
    )
    assert verify_pack(pack_for([3], query={"from": ts, "to": "9999-12-31"}), None).valid
    assert failure(pack_for([3], query={"kind": "licence"})).check == "query"


def test_query_parsing() -> None:
    query = parse_query(
        {
            "account_ids": ["a", "b", "a"],
            "from": "2026-06-01",
            "to": "2026-06-02T10:00:00Z",
            "model": "m",
            "kind": "interaction",
        }
    )
    assert query == PackQuery(
        ("a", "b"), "2026-06-01T00:00:00.000Z", "2026-06-02T10:00:00.000Z", "m", "interaction"
    )
    assert parse_query(query.as_json()) == query
    assert parse_query({}) == PackQuery() and parse_query({"model": None}) == PackQuery()
    for bad, field in [
        ({"account_ids": []}, "account_ids"),
        ({"account_ids": "a"}, "account_ids"),
        ({"account_ids": ["a", ""]}, "account_ids[1]"),
        ({"account_ids": ["x"] * 10_001}, "account_ids"),
        ({"from": "June"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-06-01T25:00:00Z"}, "to"),
        ({"from": "2026-06-02", "to": "2026-06-01"}, "to"),
        ({"model": 5}, "model"),
        ({"kind": "x"}, "kind"),
        ({"accounts": ["a"]}, "accounts"),
        ([], "query"),
    ]:
        with pytest.raises(QueryError) as caught:
            parse_query(bad)
        assert caught.value.field == field, (bad, caught.value)


def test_query_input_takes_any_rfc3339_utc_form() -> None:
    """What users send (API, CLI) may spell a bound in any RFC 3339 UTC form; the query is
    stated in the stored form. A pack's own query is read as before (`parse_query`)."""
    stored = "2026-06-01T00:00:00.000Z"
    for spelling in (
        "2026-06-01",
        "2026-06-01T00:00:00Z",
        "2026-06-01T00:00:00+00:00",
        "2026-06-01t00:00:00.000000z",
        stored,
    ):
        assert time_bound(spelling, "from") == stored, spelling
        assert parse_query_input({"from": spelling}) == PackQuery(ts_from=stored)
    assert parse_query_input({"to": None, "kind": "digest"}) == PackQuery(kind="digest")
    for bad, words in (
        ("2026-06-01T02:00:00+02:00", "the same instant is 2026-06-01T00:00:00.000Z"),
        ("2026-06-01T00:00:00.0001Z", "finer than a millisecond"),
        ("2026-02-30", "is not a real date: '2026-02-30'"),
        ("2026-02-30T00:00:00Z", "not a real date and time"),
        ("June", "must be a UTC time in RFC 3339 form"),
        (5, "must be a UTC time or a date"),
    ):
        with pytest.raises(QueryError, match=re.escape(words)) as caught:
            parse_query_input({"from": bad})
        assert caught.value.field == "from", bad
    # A pack's query is a document: the verifiers (Python and the page) read the forms
    # they always read, so a pack stating "+00:00" is refused by both alike.
    with pytest.raises(QueryError):
        parse_query({"from": "2026-06-01T00:00:00+00:00"})


def test_parse_pack_exposes_the_entries() -> None:
    pack = parse_pack(json.dumps(pack_for([1, 3], query={"kind": "interaction"})))
    assert (
        pack.indices == (1, 3)
        and pack.records[1] == RECORDS[3]
        and pack.query.kind == "interaction"
    )
    assert pack.tree_size == SIZE and pack.noun == "pack"
