"""Erasure and legal holds through a real `ledger serve` anchoring on a real Anvil: the
admin routes and `mledger erase`/`hold` erase for good and log it; the erased entries'
leaf hashes keep every proof, anchor and audit valid; evidence says when they were
erased; the retention schedule erases what is older than its period unless held."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.anvil import Anvil
from ledger.core.errors import InputError
from ledger.core.index import key_hash, record_keys
from ledger.core.merkle.verify import verify_inclusion
from ledger.core.records import now_ts, parse_object
from ledger.formats.export_line import Erased, export_line
from ledger.formats.statement import leaves_digest
from ledger.formats.tlog_tiles import check_entry_bundle, parse_entry_bundle
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

ACCOUNTS = ["acct-erase-a", "acct-erase-b", "acct-erase-c", "acct-erase-d"]


@dataclass
class Service:
    server: Server
    anvil: Anvil
    work: Path
    leaves: list[str]
    records: list[dict[str, Any]]


def _leaf(record: dict[str, Any]) -> str:
    return "0x" + parse_object(record).leaf_hash.hex()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Service]:  # noqa: F811
    """40 interactions of four accounts, anchored."""
    work = tmp_path_factory.mktemp("erasure-api")
    with anchored_server(work, anvil_binary) as (server, anvil):
        records = [interaction(i, seed=33, account=ACCOUNTS[i % 4]) for i in range(40)]
        with server.client(ADMIN_KEY) as admin:
            response = admin.post("/v1/entries/batch", json={"entries": records})
            assert response.status_code == 202, response.text
            assert admin.post("/v1/admin/anchor").status_code == 200
        yield Service(server, anvil, work, [_leaf(r) for r in records], records)


def _verified(
    service: Service, identity: Path, document: Path, valid: bool = True, command: str = "verify"
) -> tuple[str, Any]:
    """`mledger verify --json` (or `command`) of `document` against the chain: its
    output, parsed (its exit status 0 when `valid`, else not)."""
    verified = ledger(
        command,
        str(document),
        "--log",
        str(identity),
        "--rpc-url",
        service.anvil.url,
        "--json",
        check=False,
    )
    assert (verified.returncode == 0) == valid, verified.stdout + verified.stderr
    return verified.stdout, json.loads(verified.stdout)


def test_erase_an_account_through_the_api(service: Service, tmp_path: Path) -> None:
    erased = service.leaves[0::4]
    with service.server.client(ADMIN_KEY) as admin:
        before = admin.get("/v1/checkpoints/latest").json()
        tile_before = admin.get("/tile/0/000.p/40").content
        bundle_before = parse_entry_bundle(admin.get("/tile/entries/000.p/40").content)
        assert check_entry_bundle(bundle_before, tile_before) == []
        # Bad requests are refused and change nothing.
        assert_problem(
            admin.post("/v1/admin/erasures", json={"account": ACCOUNTS[0], "reason": " "}),
            400,
            "reason must not be empty",
        )
        assert_problem(
            admin.post(
                "/v1/admin/erasures",
                json={"account": ACCOUNTS[0], "before": "2030-01-01T00:00:00Z", "reason": "x"},
            ),
            400,
            "exactly one of account, leaves or before",
        )
        assert_problem(
            admin.post("/v1/admin/erasures", json={"leaves": ["0x" + "cd" * 32], "reason": "x"}),
            404,
            "no entry has leaf hash 0x" + "cd" * 32,
        )
        assert admin.get(f"/v1/entries/{erased[0]}").json()["record"] is not None
        response = admin.post(
            "/v1/admin/erasures", json={"account": ACCOUNTS[0], "reason": "GDPR art. 17 #118"}
        )
        assert response.status_code == 200, response.text
        done = response.json()
        assert (done["criterion"], done["erased"], done["held"]) == ("account", 10, 0)
        assert ACCOUNTS[0] not in json.dumps(done["statement"])
        # The erasure's record was sealed at once; anchor it.
        assert admin.get("/v1/checkpoints/latest").json()["tree_size"] == 41
        assert admin.post("/v1/admin/anchor").status_code == 200
        entry = admin.get(f"/v1/entries/{erased[0]}").json()
        assert entry["record"] is None and entry["erased"]["by"] == done["record"]
        assert entry["leaf_index"] == 0
        # Evidence: 410, saying when and by which record; the inclusion proof still holds.
        gone = assert_problem(
            admin.get(f"/v1/evidence/{erased[0]}"), 410, "was erased at", done["record"]
        )
        assert "inclusion proof still verifies" in gone["detail"]
        proof = admin.get(
            f"/v1/proofs/inclusion/{erased[0]}", params={"tree_size": before["tree_size"]}
        ).json()
        verify_inclusion(
            0,
            before["tree_size"],
            bytes.fromhex(erased[0][2:]),
            [bytes.fromhex(node[2:]) for node in proof["proof"]],
            bytes.fromhex(before["root"][2:]),
        )
        assert admin.get(f"/v1/evidence/{service.leaves[1]}").status_code == 200
        # The hash tile is unchanged; the entry bundle holds each erased entry's marker,
        # naming the leaf hash the tile holds at its place, and no cache may keep it.
        tile = admin.get("/tile/0/000.p/41").content
        assert tile[: len(tile_before)] == tile_before
        served = admin.get("/tile/entries/000.p/41")
        assert served.headers["cache-control"] == "private, no-store"
        assert ACCOUNTS[0].encode() not in served.content
        bundle = parse_entry_bundle(served.content)
        marked = check_entry_bundle(bundle, tile)
        assert [m.leaf_hash for m in marked] == [bytes.fromhex(leaf[2:]) for leaf in erased]
        assert {(m.erased_at, "0x" + m.erased_by.hex()) for m in marked} == {
            (entry["erased"]["at"], done["record"])
        }
        assert bundle[0] == (
            b'{"erased":{"at":"%s","by":"%s","leaf_hash":"%s"}}'
            % (entry["erased"]["at"].encode(), done["record"].encode(), erased[0].encode())
        )
        assert [e for i, e in enumerate(bundle[:40]) if i % 4] == [
            e for i, e in enumerate(bundle_before) if i % 4
        ]
        # A marker naming another leaf, or an emptied entry, fails against the tile.
        for forged in (bundle[4], b""):
            with pytest.raises(InputError, match="entry 0 does not hash to leaf"):
                check_entry_bundle([forged, *bundle[1:]], tile)
        exported = admin.get("/v1/export").content
        complete = admin.get(f"/v1/index/account/{ACCOUNTS[0]}")
        assert complete.status_code == 200, complete.text
        live = admin.get(f"/v1/index/account/{ACCOUNTS[1]}").json()
        pack = admin.post(
            "/v1/evidence",
            json={"account_ids": ACCOUNTS[:2], "kind": "interaction", "complete": True},
        )
        assert pack.status_code == 200, pack.text
    # The export carries the erased entries as leaf hash and marker; the audit passes.
    lines = exported.splitlines()
    assert len(lines) == 41
    marker = json.loads(lines[4])
    keys = sorted(key_hash(key) for key in record_keys(service.records[4]))
    assert marker == {
        "erased": {
            "at": entry["erased"]["at"],
            "by": done["record"],
            "keys": ["0x" + key.hex() for key in keys],
            "leaf_hash": erased[1],
        },
        "leaf_index": 4,
    }
    assert ACCOUNTS[0].encode() not in exported
    export = tmp_path / "export.ndjson"
    export.write_bytes(exported)
    identity = identity_file(service.server, tmp_path / "log.json")
    audited = ledger(
        "audit", str(export), "--log", str(identity), "--rpc-url", service.anvil.url, "--json"
    )
    result = json.loads(audited.stdout)
    assert result["passed"] and result["entries"] == 41
    # Every signed index root is re-derived, the erased entries' keys from their lines.
    assert result["index_roots_matched"] == result["anchors"] == 2
    assert (result["erased_entries"], result["erasure_records"]) == (10, 1)
    # The erasure's digest record carries its statement; the audit recomputed it.
    assert result["statements"] == 1
    logged = json.loads(lines[40])
    assert logged["statement"] == done["statement"]
    assert (
        logged["record"]["body"]["sha256"]
        == hashlib.sha256(
            json.dumps(done["statement"], sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    )
    # The account's completeness proof still verifies against the chain: its ten entries,
    # all erased, by leaf hash, each proven erased: its place in the list the logged
    # statement commits to, and the erasure's digest record, statement and inclusion.
    proof = complete.json()
    assert [e["leaf_index"] for e in proof["entries"]] == list(range(0, 40, 4))
    assert all("record" not in e and e["erased"]["by"] == done["record"] for e in proof["entries"])
    assert [e["erased"]["member"]["position"] for e in proof["entries"]] == list(range(10))
    [erasure] = proof["erasures"]
    assert (erasure["leaf_index"], erasure["statement"]) == (40, done["statement"])
    assert _leaf(erasure["record"]) == done["record"]
    (tmp_path / "complete.json").write_bytes(complete.content)
    text, checks = _verified(service, identity, tmp_path / "complete.json")
    assert checks["valid"] and checks["count"] == 10, checks
    assert (
        "10 erased entries carry their leaf hash only, each proven erased by a logged erasure"
        in text
    )
    assert "operator's claim" not in text
    _forged_markers(service, identity, tmp_path, proof, live)
    human = ledger("audit", str(export), "--log", str(identity), "--rpc-url", service.anvil.url)
    assert "10 entries erased (leaf hash and marker, no record) by 1 logged erasure" in human.stdout
    # An export whose erased line names no logged erasure record fails the audit.
    forged = exported.replace(done["record"].encode(), b"0x" + b"ee" * 32)
    export.write_bytes(forged)
    failed = ledger(
        "audit", str(export), "--log", str(identity), "--rpc-url", service.anvil.url, check=False
    )
    assert failed.returncode != 0 and "the erasure was not logged" in failed.stdout + failed.stderr
    # A live entry (leaf index 1) marked erased by the logged erasure, with its own leaf
    # hash and key hashes: every root and index root still matches, but the erasure's
    # statement does not cover it.
    live = Erased(
        bytes.fromhex(service.leaves[1][2:]),
        entry["erased"]["at"],
        bytes.fromhex(done["record"][2:]),
        tuple(sorted(key_hash(key) for key in record_keys(service.records[1]))),
    )
    marked = list(lines)
    marked[1] = export_line(1, live)[:-1]
    export.write_bytes(b"\n".join(marked) + b"\n")
    output, found = _verified(service, identity, export, valid=False, command="audit")
    failure = found["failure"]
    assert failure["check"] == "erasure", output
    assert (
        failure["line"] == 41 and "the export marks 11 entries erased by it" in failure["message"]
    )
    # A statement that is not the one logged (its reason changed) fails check statement.
    reworded = list(lines)
    reworded[40] = lines[40].replace(b"GDPR art. 17 #118", b"GDPR art. 17 #119")
    export.write_bytes(b"\n".join(reworded) + b"\n")
    failed = ledger(
        "audit", str(export), "--log", str(identity), "--rpc-url", service.anvil.url, check=False
    )
    assert failed.returncode != 0 and "statement" in failed.stdout
    assert "the statement is not the one the log logged" in failed.stdout
    # One whose erased line names another account's key fails the signed index root.
    other = key_hash(f"account:{ACCOUNTS[1]}")
    moved = Erased(
        bytes.fromhex(erased[1][2:]),
        entry["erased"]["at"],
        bytes.fromhex(done["record"][2:]),
        tuple(other if key == key_hash(f"account:{ACCOUNTS[0]}") else key for key in keys),
    )
    lines[4] = export_line(4, moved)[:-1]
    export.write_bytes(b"\n".join(lines) + b"\n")
    failed = ledger(
        "audit", str(export), "--log", str(identity), "--rpc-url", service.anvil.url, check=False
    )
    assert failed.returncode != 0 and "index root" in failed.stdout
    assert "or an erased entry's line carries other key hashes" in failed.stdout
    # The complete pack of the erased account and another: the erased entries are the
    # account's entries outside the query (no record can match), and it is complete.
    (tmp_path / "pack.json").write_bytes(pack.content)
    proven = pack.json()["completeness"]["keys"][0]["outside"]
    assert [e["leaf_index"] for e in proven] == list(range(0, 40, 4))
    assert all("record" not in e and e["erased"]["by"] == done["record"] for e in proven)
    assert pack.json()["completeness"]["erasures"] == proof["erasures"]
    text, checks = _verified(service, identity, tmp_path / "pack.json")
    assert checks["valid"], checks
    assert [
        (k["count"], k["outside"], k["erased"], k["proven_erased"]) for k in checks["complete"]
    ] == [(0, 10, 10, 10), (10, 0, 0, 0)]
    assert "do not match the query and 10 proven erased by a logged erasure, are all" in text
    assert "marked erased" not in text


def _forged_markers(
    service: Service, identity: Path, tmp_path: Path, proof: dict[str, Any], live: dict[str, Any]
) -> None:
    """An operator shows another account's live entry (leaf 1) as erased by the logged
    erasure: with an erased entry's membership proof, it fails check erasure; without
    one, the marker is valid but said to be the operator's claim."""
    forged = copy.deepcopy(live)
    entry = forged["entries"][0]
    assert entry["leaf_index"] == 1
    del entry["record"]
    entry["erased"] = proof["entries"][0]["erased"]
    forged["erasures"] = proof["erasures"]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    _, found = _verified(service, identity, tmp_path / "forged.json", valid=False)
    assert not found["valid"], found
    assert found["checks"][-1]["name"] == "erasure", found["checks"][-1]
    assert "that erasure does not list this entry" in found["checks"][-1]["detail"]
    del entry["erased"]["member"]
    del forged["erasures"]
    (tmp_path / "claimed.json").write_text(json.dumps(forged))
    text, checks = _verified(service, identity, tmp_path / "claimed.json")
    assert checks["valid"], checks
    assert "1 erased entries carry their leaf hash only: that a logged erasure covers" in text


def test_holds_through_the_api_and_the_cli(service: Service) -> None:
    data = ["--data-dir", str(service.server.data_dir)]
    with service.server.client(ADMIN_KEY) as admin:
        response = admin.post(
            "/v1/admin/holds", json={"account": ACCOUNTS[1], "reason": "litigation 2026-7"}
        )
        assert response.status_code == 201, response.text
        hold = response.json()
        assert hold["scope"] == "account" and hold["lifted_at"] is None
        assert_problem(
            admin.post("/v1/admin/holds", json={"reason": "x"}),
            400,
            "exactly one of account or licence",
        )
        listed = admin.get("/v1/admin/holds", params={"active": True}).json()["holds"]
        assert [h["id"] for h in listed] == [hold["id"]]
    # mledger erase skips the held account's entries.
    done = json.loads(
        ledger("erase", "--before", "2030-01-01T00:00:00Z", "--reason", "cleanup", *data).stdout
    )
    held = service.leaves[1::4]
    assert (done["erased"], done["held"]) == (20, 10)  # c and d; a is gone, b held
    with service.server.client(ADMIN_KEY) as admin:
        assert admin.get(f"/v1/entries/{held[0]}").json()["record"] is not None
        lifted = admin.post(f"/v1/admin/holds/{hold['id']}/lift", json={"reason": "closed"})
        assert lifted.status_code == 200 and lifted.json()["lifted_at"]
        assert_problem(
            admin.post(f"/v1/admin/holds/{hold['id']}/lift", json={"reason": "again"}),
            409,
            "already lifted",
        )
    refused = ledger(
        "erase", "--account", "x", "--before", "2030-01-01Z", "--reason", "r", *data, check=False
    )
    assert refused.returncode == 2 and "exactly one of --account" in refused.stderr
    added = json.loads(
        ledger("hold", "add", "--licence", "lic-1", "--reason", "audit", *data).stdout
    )
    assert added["scope"] == "licence"
    listed = json.loads(ledger("hold", "list", *data).stdout)["holds"]
    assert [h["id"] for h in listed] == [hold["id"], added["id"]]
    done = json.loads(
        ledger("erase", "--leaf", held[0], "--leaf", held[1], "--reason", "request", *data).stdout
    )
    assert (done["erased"], done["held"]) == (2, 0)


def test_retention_erases_on_a_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --retention-days 183`: entries older than 183 days are erased within a
    retention interval, those of a held account kept; newer ones stay."""
    monkeypatch.setenv("LEDGER_RETENTION_INTERVAL", "0.2")
    data = tmp_path / "data"
    ledger("init", "--data-dir", str(data))
    refused = ledger(
        "serve", "--data-dir", str(data), "--retention-days", "30", "--port", "0", check=False
    )
    assert refused.returncode == 2 and "below 183 days" in refused.stderr
    old = [
        interaction(i, seed=34, account=ACCOUNTS[i % 2], ts="2020-01-01T00:00:00Z")
        for i in range(6)
    ]
    new = [interaction(i, seed=35, account=ACCOUNTS[0], ts=now_ts()) for i in range(3)]
    server = Server(data, "--retention-days", "183", "--seal-interval", "0.2")
    try:
        with server.client(ADMIN_KEY) as admin:
            hold = admin.post("/v1/admin/holds", json={"account": ACCOUNTS[1], "reason": "case 9"})
            assert hold.status_code == 201
            assert admin.post("/v1/entries/batch", json={"entries": old + new}).status_code == 202
            deadline = time.monotonic() + 60
            while admin.get(f"/v1/entries/{_leaf(old[0])}").json()["record"] is not None:
                assert time.monotonic() < deadline, "retention did not erase the old entries"
                time.sleep(0.2)
            states = {_leaf(r): admin.get(f"/v1/entries/{_leaf(r)}").json() for r in old + new}
            by = states[_leaf(old[0])]["erased"]["by"]
            logged = admin.get(f"/v1/entries/{by}").json()
            statement = admin.get(f"/v1/statements/{by}")
    finally:
        assert server.stop() == 0
    assert [states[_leaf(r)]["erased"] is not None for r in old] == [True, False] * 3
    assert all(states[_leaf(r)]["erased"] is None for r in new)
    assert logged["kind"] == "digest"
    assert logged["record"]["body"]["sha256"] == hashlib.sha256(statement.content).hexdigest()
    assert statement.json()["criterion"] == "retention" and statement.json()["count"] == 3
    assert (
        statement.json()["leaves_sha256"]
        == leaves_digest(bytes.fromhex(_leaf(r)[2:]) for r in old[0::2]).hex()
    )
