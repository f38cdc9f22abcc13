"""Completeness proofs end to end on a real Anvil, as a user runs them: `mledger deploy`,
`mledger ingest`, `mledger anchor` (the anchorer signs and sends R(S)), `mledger evidence
--key`, then `mledger verify --log --rpc-url` against the chain: a key with entries, an
absent key, windows by size and by chain time, an older anchored size, refused requests,
and tampered documents failing by name."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.anvil import Anvil
from ledger.chain.client import ChainClient
from ledger.chain.keys import dev_key
from ledger.formats.completeness import COMPLETENESS_FORMAT
from ledger.workload import interaction


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def records(start: int, count: int) -> str:
    """Interactions; every third of account acct-1."""
    return (
        "\n".join(
            json.dumps(interaction(i, seed=3, account="acct-1" if i % 3 == 0 else f"acct-x{i}"))
            for i in range(start, start + count)
        )
        + "\n"
    )


def when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[dict[str, Any]]:
    """A log of 40 entries anchored twice (sizes 30 and 40, 100 s apart on chain); the
    tests only read it."""
    tmp_path = tmp_path_factory.mktemp("completeness")
    node = Anvil(0, tmp_path / "anvil-state.json", tmp_path / "anvil.log", binary=anvil_binary)
    node.start()
    try:
        yield _build(tmp_path, ChainClient(node.url, dev_key()))
    finally:
        node.stop()


def _build(tmp_path: Path, chain: ChainClient) -> dict[str, Any]:
    data = ["--data-dir", str(tmp_path / "data")]
    rpc = ["--rpc-url", chain.rpc_url]
    ok(ledger("deploy", *data, *rpc))
    (tmp_path / "a.ndjson").write_text(records(0, 30))
    ok(ledger("ingest", str(tmp_path / "a.ndjson"), *data))
    first = json.loads(ok(ledger("anchor", *data, *rpc)))
    chain.request("evm_increaseTime", [100])
    (tmp_path / "b.ndjson").write_text(records(30, 10))
    ok(ledger("ingest", str(tmp_path / "b.ndjson"), *data))
    second = json.loads(ok(ledger("anchor", *data, *rpc)))
    identity = tmp_path / "log.json"
    ok(ledger("identity", *data, "--out", str(identity)))
    return {
        "data": data,
        "rpc": rpc,
        "verify": ["--log", str(identity), *rpc],
        "anchors": {30: first, 40: second},
        "dir": tmp_path,
    }


def evidence(log: dict[str, Any], *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ok(ledger("evidence", *args, *log["data"])))
    return document


def verify(log: dict[str, Any], document: dict[str, Any], *args: str) -> Any:
    path = log["dir"] / "doc.json"
    path.write_text(json.dumps(document))
    return ledger("verify", str(path), *log["verify"], *args)


def test_completeness_of_a_key_verifies_against_the_chain(log: dict[str, Any]) -> None:
    document = evidence(log, "--key", "account:acct-1")
    own = [i for i in range(40) if i % 3 == 0]
    assert document["format"] == COMPLETENESS_FORMAT and document["count"] == len(own)
    assert [e["leaf_index"] for e in document["entries"]] == own
    anchor = log["anchors"][40]
    assert document["checkpoint"]["tree_size"] == 40
    out = ok(verify(log, document))
    assert (
        f"COMPLETE: {len(own)} entries of account:acct-1 in the first 40 entries (anchored"
        f" at block {anchor['block_number']}, time {when(anchor['block_timestamp'])})"
    ) in out
    assert "ok    index root on chain" in out or "index root on chain" in out
    report = json.loads(ok(verify(log, document, "--json")))
    assert report["valid"] is True and report["verdict"] == "VALID"
    assert (report["key"], report["count"], report["tree_size"]) == ("account:acct-1", 14, 40)
    assert report["leaf_indices"] == own

    # an older anchored size: the index as it was then
    older = evidence(log, "--key", "account:acct-1", "--tree-size", "30")
    assert older["count"] == 10
    assert "COMPLETE: 10 entries of account:acct-1 in the first 30 entries" in ok(
        verify(log, older)
    )


def test_an_absent_key_has_an_absence_proof(log: dict[str, Any]) -> None:
    document = evidence(log, "--key", "account:nobody")
    assert document["count"] == 0 and document["entries"] == []
    assert len(json.dumps(document)) < 2048 + 1024
    out = ok(verify(log, document))
    assert "COMPLETE: 0 entries of account:nobody in the first 40 entries (anchored" in out


def test_windows_by_size_and_by_chain_time(log: dict[str, Any]) -> None:
    by_size = evidence(log, "--key", "account:acct-1", "--from-size", "10", "--to-size", "31")
    assert [e["leaf_index"] for e in by_size["entries"]] == [12, 15, 18, 21, 24, 27, 30]
    assert "COMPLETE: 7 entries of account:acct-1 with leaf index in [10, 31) of the first 40" in (
        ok(verify(log, by_size))
    )
    first, second = log["anchors"][30], log["anchors"][40]
    by_time = evidence(
        log,
        "--key",
        "account:acct-1",
        "--from",
        when(first["block_timestamp"]),
        "--to",
        when(second["block_timestamp"]),
    )
    assert by_time["window"] == {"from_size": 30, "to_size": 40}
    assert [e["leaf_index"] for e in by_time["entries"]] == [30, 33, 36, 39]
    ok(verify(log, by_time))


def test_refused_requests_say_why(log: dict[str, Any]) -> None:
    for args, needle in [
        (("--tree-size", "35"), "tree size 35 is not an anchored size"),
        (("--from-size", "5", "--to-size", "50"), "the window [5, 50) is not"),
        (("--from-size", "5", "--from", "2026-01-01"), "not both"),
        (("--from", "not-a-time"), "is not a time"),
        (("--from", "1970-01-02", "--to", "1970-01-03"), "no entry was anchored"),
    ]:
        result = ledger("evidence", "--key", "account:acct-1", *args, *log["data"])
        assert result.returncode != 0 and needle in result.stderr, result.stderr
        assert result.stdout == ""
    result = ledger("evidence", "--key", "colour:blue", *log["data"])
    assert result.returncode != 0 and "is not KIND:VALUE" in result.stderr


def tampered(document: dict[str, Any], change: Any) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def test_tampered_documents_fail_naming_the_check(log: dict[str, Any]) -> None:
    document = evidence(log, "--key", "account:acct-1")
    other = evidence(log, "--key", "account:acct-x1")
    stale = evidence(log, "--key", "account:acct-1", "--tree-size", "30")

    def drop(d: dict[str, Any]) -> None:
        del d["entries"][3]

    def add_other(d: dict[str, Any]) -> None:
        d["entries"].insert(1, other["entries"][0])

    def swap(d: dict[str, Any]) -> None:
        d["entries"][1], d["entries"][2] = d["entries"][2], d["entries"][1]

    def repeat(d: dict[str, Any]) -> None:
        d["entries"].insert(1, d["entries"][0])

    def stale_root(d: dict[str, Any]) -> None:
        d["index_root"] = stale["index_root"]

    def never_anchored(d: dict[str, Any]) -> None:
        d["checkpoint"] = {**stale["checkpoint"], "tree_size": 35}

    for change, check in [
        (drop, "omitted"),
        (add_other, "added"),
        (swap, "reordered"),
        (repeat, "duplicated"),
        (stale_root, "index root"),
    ]:
        result = verify(log, tampered(document, change))
        assert result.returncode == 1, (check, result.stdout)
        assert f"INVALID: {check} check failed" in result.stdout, (check, result.stdout)
    # a size the chain never anchored: the mathematics of size 30 relabelled
    result = verify(log, tampered(stale, never_anchored))
    assert result.returncode == 1 and "INVALID:" in result.stdout
    # the right root at size 30 but the document's claim moved to 40's index root
    mixed = tampered(stale, lambda d: d.update(index_root=document["index_root"]))
    assert "INVALID: index root check failed" in verify(log, mixed).stdout


# -- complete evidence packs and campaign reports ----------------------------------------


def complete_report(log: dict[str, Any], *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`mledger report --complete` for acct-1 and an account with no entry, June 1-14."""
    work = log["dir"]
    (work / "accounts.txt").write_text("acct-1\nacct-nobody\n")
    ok(
        ledger(
            "report",
            "--accounts",
            str(work / "accounts.txt"),
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-15",
            "--complete",
            "--out",
            str(work / "report.html"),
            "--json",
            str(work / "report.json"),
            "--pack",
            str(work / "pack.json"),
            *args,
            *log["data"],
        )
    )
    report = json.loads((work / "report.json").read_text())
    return report, json.loads((work / "pack.json").read_text())


def acct1_in_june_1_14() -> tuple[list[int], list[int]]:
    """Leaf indices of acct-1's entries whose ts is in [June 1, June 15), and the others."""
    own = [i for i in range(40) if i % 3 == 0]
    return [i for i in own if i % 28 < 14], [i for i in own if i % 28 >= 14]


def test_complete_pack_proves_every_account_and_the_report_says_so(
    log: dict[str, Any],
) -> None:
    report, pack = complete_report(log, *log["verify"])
    inside, outside = acct1_in_june_1_14()
    assert [e["leaf_index"] for e in pack["entries"]] == inside
    keys = pack["completeness"]["keys"]
    assert [k["key"] for k in keys] == ["account:acct-1", "account:acct-nobody"]
    assert [e["leaf_index"] for e in keys[0]["outside"]] == outside
    assert keys[1]["count"] == 0 and keys[1]["outside"] == []
    assert pack["checkpoint"]["tree_size"] == 40  # the newest anchor: complete up to it
    rows = {row["account_id"]: row for row in report["per_account"]}
    assert rows["acct-1"]["complete"] is True and rows["acct-1"]["interactions"] == len(inside)
    assert rows["acct-nobody"]["complete"] is True and rows["acct-nobody"]["interactions"] == 0
    assert report["evidence"]["complete"] is True and report["evidence"]["does_not_prove"] == []
    out = ok(verify(log, pack))
    anchor = log["anchors"][40]
    assert (
        f"COMPLETE: {len(inside)} entries of account:acct-1 in the first 40 entries match the"
        " query (account in (acct-1, acct-nobody) and ts >= 2026-06-01T00:00:00.000Z and"
        f" ts < 2026-06-15T00:00:00.000Z and kind = interaction; {len(outside)} other entries"
        f" of the key do not) (anchored at block {anchor['block_number']}"
    ) in out
    assert "COMPLETE: 0 entries of account:acct-nobody in the first 40 entries" in out
    assert "ok    index root on chain" in out
    # Offline the index root is the pack's claim: no account is reported complete.
    offline, _ = complete_report(log)
    assert not any(row["complete"] for row in offline["per_account"])
    assert offline["evidence"]["complete"] is False


def _reproved(pack: dict[str, Any]) -> dict[str, Any]:
    """The pack with its multi-entry proof rebuilt for its (edited) entries, as an
    operator holding the log could."""
    from ledger.core.merkle import hash_leaf
    from ledger.core.merkle.multiproof import multi_inclusion_ranges
    from ledger.core.merkle.proof import root_hash
    from ledger.verify.bundle import canonical_bytes

    lines = (records(0, 30) + records(30, 10)).splitlines()
    leaves = [hash_leaf(canonical_bytes(json.loads(line))) for line in lines]
    indices = [e["leaf_index"] for e in pack["entries"]]
    pack["proof"] = [
        "0x" + root_hash(leaves[a:b]).hex() for a, b in multi_inclusion_ranges(indices, 40)
    ]
    return pack


def test_a_complete_pack_that_leaves_an_entry_out_fails_by_name(log: dict[str, Any]) -> None:
    _, pack = complete_report(log)
    omitted = copy.deepcopy(pack)
    omitted["entries"] = omitted["entries"][1:]  # leaf 0 of acct-1, ts June 1
    result = verify(log, _reproved(omitted))
    assert result.returncode != 0
    assert "INVALID: omitted check failed: account:acct-1:" in result.stdout
    hidden = copy.deepcopy(pack)
    hidden["completeness"]["keys"][0]["outside"].pop()
    result = verify(log, hidden)
    assert result.returncode != 0 and "INVALID: omitted check failed" in result.stdout
    # An entry that matches the query, moved out of the counted entries, is caught too.
    moved = copy.deepcopy(pack)
    bundle = evidence(log, "--key", "account:acct-1")["entries"][0]
    moved["entries"] = moved["entries"][1:]
    moved["completeness"]["keys"][0]["outside"].insert(0, bundle)
    result = verify(log, _reproved(moved))
    assert result.returncode != 0
    assert "INVALID: omitted check failed: account:acct-1: outside entry 0 (leaf 0) matches" in (
        result.stdout
    )
    stale = copy.deepcopy(pack)
    stale["completeness"]["index_root"] = evidence(
        log, "--key", "account:acct-1", "--tree-size", "30"
    )["index_root"]
    result = verify(log, stale)
    assert result.returncode != 0 and "INVALID: index root check failed" in result.stdout


def test_a_complete_pack_needs_an_account_query(log: dict[str, Any]) -> None:
    work = log["dir"]
    (work / "accounts.txt").write_text("acct-1\n")
    result = ledger(
        "report",
        "--accounts",
        str(work / "accounts.txt"),
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-15",
        "--model",
        "coder-2",
        "--complete",
        "--out",
        str(work / "r.html"),
        *log["data"],
    )
    assert result.returncode != 0
    assert "complete: model: a complete pack proves all of an account's entries" in (result.stderr)
