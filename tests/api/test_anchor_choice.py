"""Which anchor evidence proves against, on a real `ledger serve` anchoring on a real
Anvil: by default the earliest confirmed anchor whose tree holds the entry (the
tightest "existed no later than"), `anchor=latest` the newest, `anchor=SIZE` that one;
through HTTP (`GET /v1/evidence/{leaf}`, `POST /v1/evidence`, a licence's evidence)
and the CLI (`ledger evidence --anchor`, `ledger report --anchor`), each bundle and pack
checked with `ledger verify --log --rpc-url`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

SIZES = (5, 10, 11, 12)
"""The tree sizes anchored, in order: 5 and 10 interactions, then a licence grant (11)
and its revocation (12)."""


@dataclass
class Service:
    server: Server
    anvil: Anvil
    auditor: str
    leaves: list[str]
    anchors: dict[int, dict[str, Any]]
    """Tree size -> the anchor POST /v1/admin/anchor confirmed."""
    licence: dict[str, Any]
    """The licence after its revocation (POST .../revoke)."""
    log: Path

    def client(self) -> httpx.Client:
        return self.server.client(self.auditor)


def licence_body() -> dict[str, Any]:
    return {
        "action": "grant",
        "licence_id": "lic-early",
        "licensee": "acme",
        "models": ["frontier-large"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": "2026-01-01T00:00:00.000Z",
        "valid_until": "2036-01-01T00:00:00.000Z",
    }


def anchor(admin: httpx.Client) -> dict[str, Any]:
    response = admin.post("/v1/admin/anchor")
    assert response.status_code == 200 and response.json()["status"] == "confirmed", response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Service]:  # noqa: F811
    work = tmp_path_factory.mktemp("anchor-choice")
    anvil = Anvil(
        free_port(), work / "anvil-state.json", work / "anvil.log", binary=anvil_binary
    ).start()
    data = work / "data"
    ledger("deploy", "--data-dir", str(data), "--rpc-url", anvil.url)
    server = Server(
        data, "--rpc-url", anvil.url, "--seal-interval", "3600", "--anchor-interval", "3600"
    )
    try:
        records = [
            interaction(i, seed=5, account="acct-a" if i < 5 else "acct-b") for i in range(10)
        ]
        anchors: dict[int, dict[str, Any]] = {}
        leaves: list[str] = []
        with server.client(ADMIN_KEY) as admin:
            for batch in (records[:5], records[5:]):
                accepted = admin.post("/v1/entries/batch", json={"entries": batch})
                assert accepted.status_code == 202, accepted.text
                leaves += [r["leaf_hash"] for r in accepted.json()["receipts"]]
                anchors[len(leaves)] = anchor(admin)
            granted = admin.post("/v1/licences", json=licence_body())
            assert granted.status_code == 201, granted.text
            anchors[11] = anchor(admin)
            time.sleep(1.1)  # the revocation comes strictly after the grant's anchor block
            revoked = admin.post("/v1/licences/lic-early/revoke", json={"reason": "breach"})
            assert revoked.status_code == 201, revoked.text
            anchors[12] = anchor(admin)
        assert sorted(anchors) == list(SIZES)
        assert len({a["block_number"] for a in anchors.values()}) == len(SIZES)
        log = identity_file(server, work / "log.json")
        yield Service(server, anvil, server.key("auditor"), leaves, anchors, revoked.json(), log)
    finally:
        assert server.stop() == 0
        anvil.stop()


def names_anchor(document: dict[str, Any], service: Service, size: int) -> None:
    """The document proves against the anchor of tree size `size`."""
    expected = service.anchors[size]
    checkpoint = document["checkpoint"]
    assert checkpoint["tree_size"] == size, checkpoint
    assert {k: checkpoint["anchor"][k] for k in ("tx_hash", "block_number", "block_timestamp")} == {
        k: expected[k] for k in ("tx_hash", "block_number", "block_timestamp")
    }


def verifies(service: Service, document: dict[str, Any] | bytes, path: Path, size: int) -> None:
    """`ledger verify --log --rpc-url` says VALID, dated by the anchor of `size`."""
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    result = ledger(
        "verify", str(path), "--log", str(service.log), "--rpc-url", service.anvil.url, "--json"
    )
    report = json.loads(result.stdout)
    block = service.anchors[size]
    when = datetime.fromtimestamp(block["block_timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert report["valid"], report
    assert (report["block_number"], report["existed_no_later_than"]) == (
        block["block_number"],
        when,
    )


def test_bundle_names_the_earliest_anchor_by_default(service: Service, tmp_path: Path) -> None:
    leaf = service.leaves[2]
    with service.client() as auditor:
        default = auditor.get(f"/v1/evidence/{leaf}").json()
        earliest = auditor.get(f"/v1/evidence/{leaf}", params={"anchor": "earliest"}).json()
        latest = auditor.get(f"/v1/evidence/{leaf}", params={"anchor": "latest"}).json()
        chosen = auditor.get(f"/v1/evidence/{leaf}", params={"anchor": "10"}).json()
        later_leaf = auditor.get(f"/v1/evidence/{service.leaves[7]}").json()
    names_anchor(default, service, 5)
    assert earliest == default
    names_anchor(latest, service, 12)
    names_anchor(chosen, service, 10)
    names_anchor(later_leaf, service, 10)
    assert (
        default["checkpoint"]["anchor"]["block_number"]
        < latest["checkpoint"]["anchor"]["block_number"]
    )
    verifies(service, default, tmp_path / "default.json", 5)
    verifies(service, latest, tmp_path / "latest.json", 12)
    verifies(service, chosen, tmp_path / "chosen.json", 10)


def test_bad_anchor_choices_are_refused(service: Service) -> None:
    leaf = service.leaves[7]
    url = f"/v1/evidence/{leaf}"
    with service.client() as auditor:
        assert_problem(
            auditor.get(url, params={"anchor": "5"}),
            400,
            "anchor 5: the tree of size 5 holds leaves 0 to 4",
            "needs leaf index 7: choose a size of at least 8",
        )
        assert_problem(
            auditor.get(url, params={"anchor": "9"}),
            400,
            "anchor 9: tree size 9 was never anchored",
            "5, 10, 11, 12",
        )
        for bad in ("newest", "0", "-1", "1e3", "10.0", " 10", "١٠"):
            assert_problem(
                auditor.get(url, params={"anchor": bad}),
                400,
                "anchor must be earliest, latest or a tree size",
            )
        assert_problem(
            auditor.post("/v1/evidence", params={"anchor": "7"}, json={}),
            400,
            "tree size 7 was never anchored",
        )
        assert_problem(
            auditor.post("/v1/evidence", params={"anchor": "oldest"}, json={}),
            400,
            "anchor must be earliest, latest or a tree size",
        )


def test_pack_proves_against_the_earliest_anchor_holding_its_entries(
    service: Service, tmp_path: Path
) -> None:
    query = {"account_ids": ["acct-a"], "kind": "interaction"}
    with service.client() as auditor:
        default = auditor.post("/v1/evidence", json=query)
        latest = auditor.post("/v1/evidence", params={"anchor": "latest"}, json=query)
        chosen = auditor.post("/v1/evidence", params={"anchor": "11"}, json=query)
        both = auditor.post("/v1/evidence", json={"kind": "interaction"})
        small = auditor.post("/v1/evidence", params={"anchor": "5"}, json={"kind": "interaction"})
    for response in (default, latest, chosen, both, small):
        assert response.status_code == 200, response.text
    names_anchor(default.json(), service, 5)
    names_anchor(latest.json(), service, 12)
    names_anchor(chosen.json(), service, 11)
    names_anchor(both.json(), service, 10)
    names_anchor(small.json(), service, 5)
    assert [e["leaf_index"] for e in default.json()["entries"]] == [0, 1, 2, 3, 4]
    assert [e["leaf_index"] for e in latest.json()["entries"]] == [0, 1, 2, 3, 4]
    assert [e["leaf_index"] for e in both.json()["entries"]] == list(range(10))
    assert [e["leaf_index"] for e in small.json()["entries"]] == [0, 1, 2, 3, 4]
    verifies(service, default.content, tmp_path / "default.json", 5)
    verifies(service, latest.content, tmp_path / "latest.json", 12)
    verifies(service, both.content, tmp_path / "both.json", 10)


def test_licence_evidence_after_revocation_predates_it(service: Service, tmp_path: Path) -> None:
    with service.server.client(ADMIN_KEY) as admin:
        view = admin.get("/v1/licences/lic-early").json()
    assert view["status"] == "revoked"
    evidence = view["evidence"]
    assert evidence["entries"][0]["leaf_hash"] == view["commitment"]
    names_anchor(evidence, service, 11)
    revoked_at = datetime.strptime(service.licence["revoked"]["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    proven = datetime.fromtimestamp(evidence["checkpoint"]["anchor"]["block_timestamp"])
    assert proven.replace(tzinfo=UTC) < revoked_at.replace(tzinfo=UTC)
    verifies(service, evidence, tmp_path / "licence.json", 11)
    with service.client() as auditor:
        latest = auditor.get(f"/v1/evidence/{view['commitment']}", params={"anchor": "latest"})
    names_anchor(latest.json(), service, 12)


def test_cli_anchor_option(service: Service, tmp_path: Path) -> None:
    data = ["--data-dir", str(service.server.data_dir)]
    leaf = service.leaves[2]

    def evidence(*extra: str) -> dict[str, Any]:
        return dict(json.loads(ledger("evidence", leaf, *data, *extra).stdout))

    names_anchor(evidence(), service, 5)
    names_anchor(evidence("--anchor", "earliest"), service, 5)
    names_anchor(evidence("--anchor", "latest"), service, 12)
    names_anchor(evidence("--anchor", "11"), service, 11)
    verifies(service, evidence(), tmp_path / "bundle.json", 5)

    refused = ledger("evidence", leaf, *data, "--anchor", "soonest", check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "error: --anchor: anchor must be earliest, latest or a tree size" in refused.stderr
    refused = ledger("evidence", service.leaves[7], *data, "--anchor", "5", check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "needs leaf index 7: choose a size of at least 8" in refused.stderr
    refused = ledger("evidence", leaf, *data, "--anchor", "6", check=False)
    assert refused.returncode == 1 and "tree size 6 was never anchored" in refused.stderr

    accounts = tmp_path / "accounts.txt"
    accounts.write_text("acct-a\n")
    window = ["--accounts", str(accounts), "--from", "2026-06-01", "--to", "2026-07-01"]
    for where, extra, size in (
        (data, [], 5),
        (data, ["--anchor", "latest"], 12),
        (["--url", service.server.url, "--api-key", service.auditor], ["--anchor", "10"], 10),
        (["--url", service.server.url, "--api-key", service.auditor], [], 5),
    ):
        pack = tmp_path / f"pack-{size}.json"
        ledger(
            "report",
            *window,
            *where,
            *extra,
            "--pack",
            str(pack),
            "--out",
            str(tmp_path / "report.html"),
        )
        names_anchor(json.loads(pack.read_bytes()), service, size)
        verifies(service, pack.read_bytes(), tmp_path / "check.json", size)
    refused = ledger("report", *window, *data, "--anchor", "x", check=False)
    assert refused.returncode == 2 and "--anchor: anchor must be" in refused.stderr
    # A received pack keeps the anchor it was built against: no choice to make.
    refused = ledger(
        "report", "--from-pack", str(tmp_path / "pack-5.json"), "--anchor", "latest", check=False
    )
    assert refused.returncode == 2 and "drop --anchor" in refused.stderr
