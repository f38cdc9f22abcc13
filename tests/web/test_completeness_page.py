"""Completeness proofs dropped on the verification page, in headless Chromium, through its
own fields: the page loads its completeness verifier, its dispatch sends a
`model-ledger/completeness/v1` document to it, and the verdict says in plain words what
was proven (every entry of the key, or none: absence) with the leaf indices, or which
check a tampered proof failed. Offline from the saved page, and against a real Anvil
with the log pinned, where the verdict names the anchoring block and time."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeployedLog
from ledger.chain.log_anchor import LogAnchor
from ledger.formats.identity import parse_identity
from ledger.service.signer import LogSigner
from ledger.verify.completeness import completeness_statement, verify_completeness
from ledger.verify.result import VerificationError
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, identity_file, ledger
from tests.chain.conftest import (  # noqa: F401 - fixtures
    admin_account,
    anvil,
    anvil_binary,
    chain,
    deployed,
    log_account,
    signer,
)
from tests.verify.test_completeness import Log, anchor_and_pin, busiest, on_chain
from tests.web.chromium import Page
from tests.web.form import open_page, pin, set_node, verify_file, verify_text
from tests.web.test_complete_pack_parity import complete_pack

WEB = Path(__file__).parents[2] / "ledger" / "web"
VECTORS = Path(__file__).parents[1] / "vectors" / "index" / "completeness"


def test_a_dropped_proof_verifies_offline_and_a_tampered_one_fails(page: Page, saved: str) -> None:
    open_page(page, saved)
    shown = verify_file(page, VECTORS / "account-full.json")
    assert shown["verdict"] == "mathematics only" and shown["state"] == "unverified", shown
    assert shown["text"].startswith(
        "MATHEMATICS ONLY: the chain was NOT consulted (no log identity is pinned). COMPLETE: 6"
        " entries of account:acct-0 in the first 24 entries (offline: that this index root was"
        " anchored is the document's claim). Complete: the 6 entries at leaf indices 0, 3, 6, 9,"
        " 12 and 18 are every entry of account:acct-0 among the first 24 entries of the log;"
        " there is no other."
    ), shown["text"]
    assert "the document's unverified claim" in shown["text"]
    expected = verify_completeness((VECTORS / "account-full.json").read_bytes(), None)
    assert [(c["check"], c["passed"], c["detail"]) for c in shown["checks"]] == [
        (c.name, c.passed, c.detail) for c in expected.checks
    ]
    assert completeness_statement(expected) in shown["text"]
    # The records, each under its leaf index, and the checkpoint.
    assert shown["rows"] == 7  # a header and six records
    assert shown["facts"]["format"] == "model-ledger/completeness/v1"
    assert shown["facts"]["log size"] == "24"
    assert shown["facts"]["entries"] == "6"

    absent = verify_file(page, VECTORS / "absent-other-leaf.json")
    assert absent["verdict"] == "mathematics only", absent
    assert "COMPLETE: 0 entries of account:probe-0 in the first 24 entries" in absent["text"]
    assert "Absence: the log holds no entry of account:probe-0 among the first 24" in absent["text"]
    assert absent["records"] == [] and absent["rows"] == 0

    window = verify_file(page, VECTORS / "model-window.json")
    assert window["verdict"] == "mathematics only", window
    assert "with leaf index in [4, 17) of the first 24 entries" in window["text"]
    assert [r["leaf hash"] for r in window["records"]] and len(window["records"]) == 2

    # A key with entries, none of them in the window: absent from the window, not unmapped.
    empty = verify_file(page, VECTORS / "window-empty.json")
    assert empty["verdict"] == "mathematics only", empty
    assert "COMPLETE: 0 entries of account:acct-0 with leaf index in [19, 24)" in empty["text"]
    assert "none of which lies in the window" in empty["text"], empty["text"]
    assert "maps this key to nothing" not in empty["text"]

    for name, check in [
        ("omitted.json", "omitted"),
        ("added.json", "added"),
        ("stale-root.json", "index root"),
        ("reordered.json", "reordered"),
        ("erased-live-entry.json", "erasure"),
        ("erased-table-missing.json", "erasure"),
    ]:
        failed = verify_file(page, VECTORS / name)
        assert failed["verdict"] == "invalid" and failed["check"] == check, (name, failed)
        assert failed["state"] == "failed"
        assert failed["text"].startswith(f"INVALID: {check} check failed: "), failed["text"]
        assert "COMPLETE" not in failed["text"]
        assert failed["checks"][-1]["check"] == check and not failed["checks"][-1]["passed"]

    # Erased entries proven by a logged erasure are said proven; without proof, the
    # operator's claim.
    proven = verify_file(page, VECTORS / "erased-proven.json")
    assert proven["verdict"] == "mathematics only", proven
    record = next(c["detail"] for c in proven["checks"] if c["check"] == "record")
    assert record.endswith(
        "3 erased entries carry their leaf hash only, each proven erased by a logged erasure"
    )
    shown_records = "document.getElementById('records').textContent"
    assert page.evaluate(shown_records).count("proven erased by that logged erasure") == 3
    claimed = verify_file(page, VECTORS / "erased-unproven.json")
    record = next(c["detail"] for c in claimed["checks"] if c["check"] == "record")
    assert "that a logged erasure covers them is the operator's claim here" in record
    assert "proven erased by that logged erasure" not in page.evaluate(shown_records)

    # Pasted text goes the same way as a dropped file, and a hand-edited proof that drops
    # one entry (and its count) fails.
    document = json.loads((VECTORS / "account-full.json").read_text())
    document["entries"].pop(2)
    document["count"] = 5
    edited = verify_text(page, document)
    assert edited["verdict"] == "invalid" and edited["check"] == "omitted", edited


def test_against_anvil_the_page_names_the_anchor(
    page: Page,
    saved: str,
    deployed: tuple[DeployedLog, LogAnchor],  # noqa: F811
    signer: LogSigner,  # noqa: F811
    chain: ChainClient,  # noqa: F811
    log_account: LocalAccount,  # noqa: F811
) -> None:
    log, anchor, identity = anchor_and_pin(Log(40, seed=21), deployed, signer, chain, log_account)
    info = deployed[0]
    key = busiest(log)
    genuine = on_chain(log.document(key, anchor=anchor), info)
    open_page(page, saved)
    pin(page, json.dumps(identity.as_json()))
    set_node(page, chain.rpc_url)
    shown = verify_text(page, genuine)
    with JsonRpcReader(chain.rpc_url) as reader:
        expected = completeness_statement(
            verify_completeness(json.dumps(genuine), reader, identity)
        )
    assert shown["verdict"] == "valid" and shown["state"] == "verified", shown
    assert shown["text"].startswith(expected + ". Complete: ")
    assert f"(anchored at block {anchor.block_number}, time " in shown["text"]
    assert (
        "The index the log key signed with the checkpoint anchored on the chain commits to"
        " exactly this list of leaf indices for this key"
    ) in shown["text"]
    assert shown["checks"][-1] == {
        "check": "index root on chain",
        "passed": True,
        "explain": "",
        "detail": f"the checkpoint anchored in block {anchor.block_number} carries index root"
        f" 0x{log.index_root.hex()}",
    }
    # An index root the log key never signed for this size fails on the chain.
    forged = genuine | {"index_root": "0x" + "ab" * 32}
    failed = verify_text(page, forged)
    assert failed["verdict"] == "invalid" and failed["check"] == "index root", failed
    stale = on_chain(Log(40, seed=22).document(key, anchor=anchor), info)
    failed = verify_text(page, stale)
    assert failed["verdict"] == "invalid" and failed["check"] == "root on chain", failed


def mledger_verify(path: Path, *args: str) -> list[str]:
    """The COMPLETE lines `mledger verify FILE ARGS` prints (it must pass)."""
    script = (
        "import sys\nfrom ledger.cli import main\nsys.argv = ['mledger', *sys.argv[1:]]\nmain()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "verify", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if line.startswith("COMPLETE: ")]


def test_a_complete_pack_shows_a_complete_line_per_account(
    page: Page, saved: str, tmp_path: Path
) -> None:
    """A pack made with `complete: true`: the page shows, under its verdict, the COMPLETE
    line of each account of the query, word for word those `mledger verify` prints, and
    says in plain words that no matching entry was left out; a pack that hides one of an
    account's entries fails ``omitted`` and shows none; a pack without the flag shows
    none and says it cannot prove that nothing was left out."""
    log = Log()
    pack = complete_pack(log)
    path = tmp_path / "complete-pack.json"
    path.write_text(json.dumps(pack))
    printed = mledger_verify(path, "--offline")
    assert len(printed) == 3 and printed[2].startswith("COMPLETE: 0 entries of account:nobody")
    open_page(page, saved)
    shown = verify_file(page, path)
    assert shown["verdict"] == "mathematics only", shown
    assert shown["complete"] == printed, (shown["complete"], printed)
    assert all(
        "(offline: that this index root was anchored is the pack's claim)" in line
        for line in shown["complete"]
    )
    assert "Completeness, as far as the mathematics goes" in shown["proven"]
    assert "cannot prove that no other entry" not in shown["notProven"]

    hidden = copy.deepcopy(pack)
    hidden["completeness"]["keys"][0]["outside"].pop()
    failed = verify_text(page, hidden)
    assert failed["verdict"] == "invalid" and failed["check"] == "omitted", failed
    assert failed["complete"] == []

    plain = {k: v for k, v in pack.items() if k != "completeness"}
    ordinary = verify_text(page, plain)
    assert ordinary["verdict"] == "mathematics only" and ordinary["complete"] == [], ordinary
    assert "cannot prove that no other entry matches" in ordinary["notProven"]


def test_against_anvil_a_complete_pack_names_the_anchor_per_account(
    page: Page,
    saved: str,
    tmp_path: Path,
    deployed: tuple[DeployedLog, LogAnchor],  # noqa: F811
    signer: LogSigner,  # noqa: F811
    chain: ChainClient,  # noqa: F811
    log_account: LocalAccount,  # noqa: F811
) -> None:
    log, anchor, identity = anchor_and_pin(Log(60, seed=23), deployed, signer, chain, log_account)
    info = deployed[0]
    pack = on_chain(complete_pack(log, anchor=anchor), info)
    path = tmp_path / "complete-pack.json"
    path.write_text(json.dumps(pack))
    pinned = tmp_path / "log.json"
    pinned.write_text(json.dumps(identity.as_json()))
    printed = mledger_verify(path, "--log", str(pinned), "--rpc-url", chain.rpc_url)
    assert len(printed) == 3
    assert all(f"(anchored at block {anchor.block_number}, time " in line for line in printed)
    open_page(page, saved)
    pin(page, json.dumps(identity.as_json()))
    set_node(page, chain.rpc_url)
    shown = verify_file(page, path)
    assert shown["verdict"] == "valid" and shown["state"] == "verified", shown
    assert shown["complete"] == printed, (shown["complete"], printed)
    assert "No matching entry was left out." in shown["proven"]
    assert shown["checks"][-1]["check"] == "index root on chain" and shown["checks"][-1]["passed"]


def test_a_served_log_erased_by_the_cli_is_proven_erased_on_the_page(
    page: Page,
    saved: str,
    anvil_binary: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`mledger erase --account` on a served, anchored log, anchored again: `mledger
    evidence --key` and GET /v1/index/account/... give the same completeness proof,
    whose erased entries `mledger verify` and the page (log pinned, against the node)
    both say are proven erased, in the same words; the other account's live entry shown
    erased by that erasure fails check erasure in both."""
    accounts = ["acct-page-0", "acct-page-1"]
    records = [interaction(i, seed=51, account=accounts[i % 2]) for i in range(12)]
    with anchored_server(tmp_path, anvil_binary) as (server, node):
        data = ["--data-dir", str(server.data_dir)]
        with server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/entries/batch", json={"entries": records}).status_code == 202
            assert admin.post("/v1/admin/anchor").status_code == 200
        erased = ledger("erase", "--account", accounts[0], "--reason", "GDPR art. 17", *data)
        done = json.loads(erased.stdout)
        assert done["erased"] == 6 and "leaves_root" in done["statement"]
        with server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/admin/anchor").status_code == 200
            served = admin.get(f"/v1/index/account/{accounts[0]}").json()
            live = admin.get(f"/v1/index/account/{accounts[1]}").json()
        printed = json.loads(ledger("evidence", "--key", f"account:{accounts[0]}", *data).stdout)
        identity = identity_file(server, tmp_path / "log.json")
        pinned = identity.read_text()
        assert {k: v for k, v in printed.items() if k != "producer"} == {
            k: v for k, v in served.items() if k != "producer"
        }
        assert [e["erased"]["member"]["position"] for e in served["entries"]] == list(range(6))
        (tmp_path / "proof.json").write_text(json.dumps(served))
        lines = mledger_verify(
            tmp_path / "proof.json", "--log", str(identity), "--rpc-url", node.url
        )
        open_page(page, saved)
        pin(page, pinned)
        set_node(page, node.url)
        shown = verify_text(page, served)
        assert shown["verdict"] == "valid", shown
        assert shown["text"].startswith(lines[0] + ". Complete: "), (lines, shown["text"])
        with JsonRpcReader(node.url) as reader:
            expected = verify_completeness(json.dumps(served), reader, parse_identity(pinned))
        assert [(c["check"], c["passed"], c["detail"]) for c in shown["checks"]] == [
            (c.name, c.passed, c.detail) for c in expected.checks
        ]
        words = "6 erased entries carry their leaf hash only, each proven erased by a logged"
        assert any(words in c["detail"] for c in shown["checks"] if c["check"] == "record")
        # The other account's first entry, live, shown erased by this erasure.
        forged = copy.deepcopy(live)
        entry = forged["entries"][0]
        del entry["record"]
        entry["erased"] = served["entries"][0]["erased"]
        forged["erasures"] = served["erasures"]
        failed = verify_text(page, forged)
        assert failed["verdict"] == "invalid" and failed["check"] == "erasure", failed
        assert "that erasure does not list this entry" in failed["text"]
        with JsonRpcReader(node.url) as reader, pytest.raises(VerificationError) as refused:
            verify_completeness(json.dumps(forged), reader, parse_identity(pinned))
        assert refused.value.check == "erasure"
        assert failed["text"] == f"INVALID: erasure check failed: {refused.value.message}"
