"""Complete evidence packs (docs/evidence-format.md, "Complete packs") on the page's
verifier (verify-core.js with verify-completeness.js) against ledger/verify/pack.py,
under Node and offline: a complete pack built from an in-memory log and indexed as the
service does, packs that leave an entry out or hide one, and a few hundred with one field
changed at random get the same checks, with the same words, in both."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from ledger.core.index import build_claim
from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.formats.bundle import BundleEntry
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import erasures_json
from ledger.formats.pack import (
    KeyProof,
    PackCompleteness,
    account_key,
    completeness_part_json,
    pack_head,
    parse_query,
)
from ledger.verify.completeness import key_statement
from ledger.verify.pack import verify_pack
from ledger.verify.result import VerificationError
from tests.verify.test_completeness import (
    CHAIN_ID,
    CONTRACT,
    ERASED_AT,
    LOG_ID,
    Log,
    erase_in,
    leaf_paths,
    mutated,
)
from tests.web.test_completeness_parity import node

QUERY = {
    "account_ids": ["acct-1", "acct-2", "nobody"],
    "from": "2026-06-01T00:00:00.000Z",
    "to": "2026-06-15T00:00:00.000Z",
    "kind": "interaction",
}


def complete_pack(
    log: Log, query_json: dict[str, Any] = QUERY, anchor: AnchorRef | None = None
) -> dict[str, Any]:
    """The complete pack of `query_json` at the log's size, as build_pack writes it
    (against `anchor`, by default a made-up one)."""
    query = parse_query(query_json)
    assert query.account_ids is not None
    records = log.records
    indices = [
        i
        for i, record in enumerate(records)
        if record["kind"] == "interaction"
        and record["body"]["account_id"] in query.account_ids
        and query.ts_from <= record["ts"] < query.ts_to  # type: ignore[operator]
    ]
    keys = []
    for account in query.account_ids:
        key = account_key(account)
        postings = log.postings.get(key, [])
        claim = build_claim(log.map.store, log.size, key, postings, 0, log.size)
        outside = tuple(
            BundleEntry(i, log.leaves[i], records[i], tuple(inclusion_proof(i, log.leaves)))
            for i in postings
            if i not in indices
        )
        keys.append(
            KeyProof(key, claim.count, claim.postings_root, claim.map_proof, claim.window, outside)
        )
    anchor = anchor or AnchorRef(b"\x11" * 32, 7, b"\x22" * 32, 1_780_000_000)
    checkpoint = AnchoredCheckpoint(log.size, log.root, anchor)
    pack = pack_head(CHAIN_ID, CONTRACT, LOG_ID, checkpoint, query)
    pack["entries"] = [{"leaf_index": i, "record": records[i]} for i in indices]
    pack["completeness"] = completeness_part_json(
        PackCompleteness(log.index_root, 0, log.size, tuple(keys))
    )
    return reproved(log, pack)


def reproved(log: Log, pack: dict[str, Any]) -> dict[str, Any]:
    """The pack with its multi-entry proof made for its entries (as a forger would)."""
    indices = [entry["leaf_index"] for entry in pack["entries"]]
    ranges = multi_inclusion_ranges(indices, log.size) if indices else []
    pack["proof"] = ["0x" + root_hash(log.leaves[a:b]).hex() for a, b in ranges]
    return pack


def python(text: str) -> dict[str, Any]:
    try:
        result = verify_pack(text, None)
    except VerificationError as error:
        assert error.result is not None
        return {
            "check": error.check,
            "checks": [[c.name, c.passed, c.detail] for c in error.result.checks],
        }
    return {
        "checks": [[c.name, c.passed, c.detail] for c in result.checks],
        # what `mledger verify` prints for each account of a complete pack
        "complete_lines": [key_statement(k, None, "pack") for k in result.complete_keys],
    }


def page(texts: list[str]) -> list[dict[str, Any]]:
    found = node(texts)["documents"]
    return [
        {k: v for k, v in outcome.items() if k in ("check", "checks", "complete_lines")}
        for outcome in found
    ]


def variants(log: Log) -> list[dict[str, Any]]:
    """The complete pack, and packs changed as an operator might to hide an entry."""
    pack = complete_pack(log)
    assert pack["entries"] and pack["completeness"]["keys"][0]["outside"]
    dropped = copy.deepcopy(pack)
    dropped["entries"] = dropped["entries"][1:]
    hidden = copy.deepcopy(pack)
    hidden["completeness"]["keys"][0]["outside"].pop()
    moved = copy.deepcopy(pack)
    first = moved["entries"].pop(0)
    entry = {
        "leaf_index": first["leaf_index"],
        "leaf_hash": "0x" + log.leaves[first["leaf_index"]].hex(),
        "record": first["record"],
        "proof": ["0x" + node.hex() for node in inclusion_proof(first["leaf_index"], log.leaves)],
    }
    key = "account:" + first["record"]["body"]["account_id"]
    for proof in moved["completeness"]["keys"]:
        if proof["key"] == key:
            proof["outside"].insert(0, entry)
    swapped = copy.deepcopy(pack)
    swapped["completeness"]["keys"].reverse()
    absent = complete_pack(log, {**QUERY, "account_ids": ["nobody"]})
    modelled = copy.deepcopy(pack)
    modelled["query"]["model"] = "coder-2"
    return [
        pack,
        reproved(log, dropped),
        hidden,
        reproved(log, moved),
        swapped,
        absent,
        modelled,
    ]


def test_complete_packs_get_the_same_checks_in_both() -> None:
    log = Log()
    texts = [json.dumps(pack) for pack in variants(log)]
    expected = [python(text) for text in texts]
    assert [e.get("check") for e in expected] == [
        None,
        "omitted",
        "omitted",
        "omitted",
        "completeness",
        None,
        "pack",
    ]
    assert expected[0]["checks"][-1][0] == "complete"
    assert len(expected[0]["complete_lines"]) == 3
    assert expected[0]["complete_lines"][2].startswith(
        "COMPLETE: 0 entries of account:nobody in the first 120 entries match the query ("
    )
    assert page(texts) == expected


def test_complete_packs_changed_at_random_get_the_same_checks() -> None:
    log = Log()
    rng = random.Random(21)
    originals = variants(log)[:1] + [complete_pack(log, {**QUERY, "account_ids": ["acct-3"]})]
    texts = []
    for _ in range(300):
        document = copy.deepcopy(rng.choice(originals))
        path = rng.choice(leaf_paths(document))
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = mutated(target[path[-1]], rng)
        texts.append(json.dumps(document))
    expected = [python(text) for text in texts]
    assert page(texts) == expected
    assert {e.get("check") for e in expected} >= {None, "pack", "omitted", "inclusion"}


def _erase(entry: dict[str, Any]) -> dict[str, Any]:
    """An outside entry erased as the service writes it: no record, its marker."""
    out = {k: v for k, v in entry.items() if k != "record"}
    out["erased"] = {"at": "2026-12-02T00:41:21.354Z", "by": "0x" + "ab" * 32}
    return out


def test_erased_entries_of_a_complete_pack_verify_the_same_in_both() -> None:
    """An account's erased entries (docs/privacy.md) are among its entries outside the
    query, by leaf hash, inclusion proof and marker: the pack stays complete in both
    verifiers, in the same words, whether the erased entry matched the query once or
    not; one with another leaf hash fails inclusion, one left out fails omitted."""
    log = Log()
    pack = complete_pack(log)
    erased = copy.deepcopy(pack)
    proof = erased["completeness"]["keys"][0]
    proof["outside"][0] = _erase(proof["outside"][0])
    gone = erased["entries"].pop(0)  # a matching entry, erased: outside the pack now
    index = gone["leaf_index"]
    key = "account:" + gone["record"]["body"]["account_id"]
    holder = next(p for p in erased["completeness"]["keys"] if p["key"] == key)
    holder["outside"].append(
        {
            "leaf_index": index,
            "leaf_hash": "0x" + log.leaves[index].hex(),
            "erased": {"at": "2026-12-02T00:41:21.354Z", "by": "0x" + "ab" * 32},
            "proof": ["0x" + node.hex() for node in inclusion_proof(index, log.leaves)],
        }
    )
    holder["outside"].sort(key=lambda entry: entry["leaf_index"])
    erased = reproved(log, erased)
    forged = copy.deepcopy(erased)
    forged["completeness"]["keys"][0]["outside"][0]["leaf_hash"] = "0x" + "cd" * 32
    dropped = copy.deepcopy(erased)
    dropped["completeness"]["keys"][0]["outside"].pop(0)
    texts = [json.dumps(document) for document in (erased, forged, dropped)]
    expected = [python(text) for text in texts]
    assert [e.get("check") for e in expected] == [None, "inclusion", "omitted"]
    name, passed, words = expected[0]["checks"][-1]
    assert name == "complete" and passed
    assert "do not match the query and 2 marked erased (whether they match cannot" in words
    assert "is the operator's claim here; `mledger audit` of the log's export checks it" in words
    assert page(texts) == expected
    result = verify_pack(texts[0], None)
    assert sum(key.erased for key in result.complete_keys) == 2
    lines = [key_statement(key, None, "pack") for key in result.complete_keys]
    assert (
        sum(
            int(line.split("; ")[-1].split(" more ")[0])
            for line in lines
            if " marked erased, so whether they match cannot be shown)" in line
        )
        == 2
    ), lines


def test_a_pack_with_two_bad_fields_names_the_same_one_in_both() -> None:
    """Both verifiers read a pack's fields in one order (the proof's nodes, then the
    completeness part, then the checkpoint note), so a pack with several bad fields
    fails with the same words in both: the first bad field in that order."""
    pack = complete_pack(Log())
    bad_node = copy.deepcopy(pack)
    bad_node["proof"][0] = bad_node["proof"][0].upper()
    bad_part = copy.deepcopy(bad_node)
    bad_part["completeness"]["keys"][0]["postings_proof"]["first_position"] = True
    bad_note = copy.deepcopy(bad_node)
    bad_note["checkpoint_note"] = 5
    only_part = copy.deepcopy(bad_part)
    only_part["proof"] = pack["proof"]
    texts = [json.dumps(p) for p in (bad_part, bad_note, only_part)]
    expected = [python(text) for text in texts]
    assert [e["checks"][-1][2].split(" must ")[0] for e in expected] == [
        "proof[0]",
        "proof[0]",
        "completeness.keys[0].postings_proof.first_position",
    ]
    assert page(texts) == expected


def test_unknown_fields_are_named_in_code_point_order_in_both() -> None:
    """Of two unknown fields, both verifiers name the first in Python's sorted() order
    (code points: U+FFFD before U+1F600, which UTF-16 code units order the other way)."""
    pack = complete_pack(Log())
    odd = {"\U0001f600": 1, "\ufffd": 2}
    top = pack | odd
    query = copy.deepcopy(pack)
    query["query"] |= odd
    key = copy.deepcopy(pack)
    key["completeness"]["keys"][0] |= odd
    texts = [json.dumps(p) for p in (top, query, key)]
    expected = [python(text) for text in texts]
    assert all("\ufffd" in e["checks"][-1][2] for e in expected)
    assert page(texts) == expected


def test_proven_erased_entries_of_a_complete_pack_verify_the_same_in_both() -> None:
    """An account's entry erased by a logged erasure, its marker proven: the pack is
    complete in both verifiers and says the entry is proven erased (not put apart as
    unknown); another entry of the account, live, shown erased by that erasure with the
    erased entry's proof fails check erasure in both; the same marker without proof is
    the operator's claim in both."""
    log = Log()
    erased_index = complete_pack(log)["completeness"]["keys"][0]["outside"][0]["leaf_index"]
    erasure, members = erase_in(log, [erased_index])
    pack = complete_pack(log)
    outside = pack["completeness"]["keys"][0]["outside"]
    member = members[erased_index]
    marker = {
        "at": ERASED_AT,
        "by": "0x" + log.leaves[erasure.leaf_index].hex(),
        "member": {"position": member.position, "path": ["0x" + n.hex() for n in member.path]},
    }
    outside[0] = {k: v for k, v in outside[0].items() if k != "record"} | {"erased": marker}
    pack["completeness"] |= erasures_json([erasure])
    forged = copy.deepcopy(pack)
    live = forged["completeness"]["keys"][0]["outside"][1]
    del live["record"]
    live["erased"] = marker
    claimed = copy.deepcopy(forged)
    del claimed["completeness"]["erasures"]
    for entry in claimed["completeness"]["keys"][0]["outside"][:2]:
        del entry["erased"]["member"]
    empty = copy.deepcopy(pack)
    empty["completeness"]["erasures"] = []
    texts = [json.dumps(document) for document in (pack, forged, claimed, empty)]
    expected = [python(text) for text in texts]
    assert [e.get("check") for e in expected] == [None, "erasure", None, "pack"]
    assert "completeness.erasures must be a list of 1 to" in expected[3]["checks"][-1][2]
    assert page(texts) == expected
    name, passed, words = expected[0]["checks"][-1]
    assert name == "complete" and passed
    assert "do not match the query and 1 proven erased by a logged erasure, are all" in words
    assert "marked erased" not in words
    assert "; 1 more is proven erased by a logged erasure)" in expected[0]["complete_lines"][0]
    assert "that erasure does not list this entry" in expected[1]["checks"][-1][2]
    assert (
        "and 2 marked erased (whether they match cannot be shown" in (expected[2]["checks"][-1][2])
    )
