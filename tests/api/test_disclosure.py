"""Selective disclosure end to end, on a real `ledger serve` anchoring on a real Anvil: v2
records ingested beside v1 ones, their evidence (`GET /v1/evidence/{leaf}?disclose=`,
`ledger evidence --disclose`), packs (`POST /v1/evidence?disclose=`) and completeness
proofs (`GET /v1/index/...?disclose=`, `ledger evidence --key --disclose`) opening only
the fields asked for, each checked with `ledger verify --log --rpc-url`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import Anvil
from ledger.client import prepare
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

FIELDS = 11
"""Body fields of an interaction record."""


@dataclass
class Service:
    server: Server
    anvil: Anvil
    auditor: str
    v2: list[str]
    v1: str
    log: Path
    data: Path

    def client(self) -> httpx.Client:
        return self.server.client(self.auditor)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Service]:  # noqa: F811
    work = tmp_path_factory.mktemp("disclosure")
    data = work / "data"
    with anchored_server(work, anvil_binary) as (server, anvil):
        records = [interaction(i, seed=9, account="acct-a", v=2) for i in range(4)]
        records.append(interaction(4, seed=9, account="acct-a"))  # v1
        # What the SDK sends when the gateway names no version: v2.
        unversioned = interaction(5, seed=9, account="acct-b")
        del unversioned["v"]
        records.append(prepare(unversioned))
        with server.client(ADMIN_KEY) as admin:
            accepted = admin.post("/v1/entries/batch", json={"entries": records})
            assert accepted.status_code == 202, accepted.text
            leaves = [r["leaf_hash"] for r in accepted.json()["receipts"]]
            anchored = admin.post("/v1/admin/anchor")
            assert anchored.json()["status"] == "confirmed", anchored.text
        log = identity_file(server, work / "log.json")
        yield Service(
            server, anvil, server.key("auditor"), leaves[:4] + leaves[5:], leaves[4], log, data
        )


def verify(service: Service, document: Any, path: Path, *, ok: bool = True) -> dict[str, Any]:
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    result = ledger(
        "verify",
        str(path),
        "--log",
        str(service.log),
        "--rpc-url",
        service.anvil.url,
        "--json",
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["valid"] is ok and result.returncode == (0 if ok else 1), report
    return report


def detail(report: dict[str, Any], check: str) -> str:
    return next(c["detail"] for c in report["checks"] if c["check"] == check)


def test_a_bundle_discloses_only_the_fields_asked(service: Service, tmp_path: Path) -> None:
    leaf = service.v2[1]
    with service.client() as auditor:
        whole = auditor.get(f"/v1/evidence/{leaf}").json()
        part = auditor.get(f"/v1/evidence/{leaf}", params={"disclose": "account_id,model"})
    assert part.status_code == 200, part.text
    record = part.json()["entries"][0]["record"]
    full = whole["entries"][0]["record"]
    assert full["v"] == 2 and "salt" in full
    assert record["body"] == {k: full["body"][k] for k in ("account_id", "model")}
    assert "salt" not in record and len(record["withheld"]) == FIELDS - 2
    assert part.json()["entries"][0]["leaf_hash"] == whole["entries"][0]["leaf_hash"]
    report = verify(service, part.json(), tmp_path / "part.json")
    said = detail(report, "record")
    assert '2 of 11 fields disclosed (account_id="acct-a", model=' in said
    assert "9 withheld as digests" in said
    assert "SHA-256(0x00 || field commitments)" in detail(report, "leaf hash")
    whole_report = verify(service, whole, tmp_path / "whole.json")
    assert "all 11 fields disclosed" in detail(whole_report, "record")


def test_the_sdk_default_is_v2(service: Service) -> None:
    with service.client() as auditor:
        record = auditor.get(f"/v1/evidence/{service.v2[-1]}").json()["entries"][0]["record"]
    assert record["v"] == 2 and record["body"]["account_id"] == "acct-b"


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda r: r["body"].update(account_id="acct-z"), "leaf hash"),
        (lambda r: r["withheld"].update(request_id="00" * 32), "leaf hash"),
        (lambda r: r["field_salts"].update(model="11" * 32), "leaf hash"),
        (lambda r: r["withheld"].pop("request_id"), "record"),
    ],
)
def test_a_tampered_disclosure_fails_naming_the_check(
    service: Service, tmp_path: Path, change: Any, check: str
) -> None:
    with service.client() as auditor:
        bundle = auditor.get(
            f"/v1/evidence/{service.v2[0]}", params={"disclose": "account_id,model"}
        ).json()
    change(bundle["entries"][0]["record"])
    report = verify(service, bundle, tmp_path / "tampered.json", ok=False)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert failed[0]["check"] == check, report


def test_refusals_change_nothing(service: Service) -> None:
    with service.client() as auditor:
        assert_problem(
            auditor.get(f"/v1/evidence/{service.v1}", params={"disclose": "model"}),
            400,
            "v1 record",
            "can only be disclosed whole",
        )
        assert_problem(
            auditor.get(f"/v1/evidence/{service.v2[0]}", params={"disclose": "model,prompt"}),
            400,
            "'prompt' is not a record field",
        )
        assert auditor.get(f"/v1/evidence/{service.v1}").status_code == 200


def test_licences_stay_v1(service: Service) -> None:
    envelope = {
        "v": 2,
        "kind": "licence",
        "body": {
            "action": "grant",
            "licence_id": "lic-v2",
            "licensee": "acme",
            "models": ["m"],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
        },
    }
    with service.server.client(ADMIN_KEY) as admin:
        refused = admin.post("/v1/licences", json=envelope)
        assert_problem(refused, 422, "licence records are v1")
        assert admin.get("/v1/licences/lic-v2").status_code == 404


def test_the_cli_discloses(service: Service, tmp_path: Path) -> None:
    data = ["--data-dir", str(service.data)]
    out = ledger("evidence", service.v2[2], "--disclose", "model", *data)
    record = json.loads(out.stdout)["entries"][0]["record"]
    assert list(record["body"]) == ["model"] and len(record["withheld"]) == FIELDS - 1
    verify(service, out.stdout.encode(), tmp_path / "cli.json")
    bad = ledger("evidence", service.v2[2], "--disclose", "nope", *data, check=False)
    assert bad.returncode == 2 and "--disclose: disclose: 'nope' is not" in bad.stderr
    v1 = ledger("evidence", service.v1, "--disclose", "model", *data, check=False)
    assert v1.returncode != 0 and "can only be disclosed whole" in v1.stderr


def test_a_pack_discloses_the_same_way(service: Service, tmp_path: Path) -> None:
    query = {
        "account_ids": ["acct-b"],
        "from": "2026-01-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
    }
    with service.client() as auditor:
        pack = auditor.post("/v1/evidence", params={"disclose": "input_tokens"}, json=query)
        mixed = auditor.post(
            "/v1/evidence", params={"disclose": "model"}, json=query | {"account_ids": ["acct-a"]}
        )
    assert pack.status_code == 200, pack.text
    record = pack.json()["entries"][0]["record"]
    # The query selects on the account: its field is opened too, so the match is checked.
    assert sorted(record["body"]) == ["account_id", "input_tokens"]
    verify(service, pack.content, tmp_path / "pack.json")
    assert_problem(mixed, 400, "v1 record")  # acct-a's entries include a v1 record


def test_a_complete_pack_discloses_its_outside_entries_too(
    service: Service, tmp_path: Path
) -> None:
    query = {
        "account_ids": ["acct-b"],
        "from": "2026-06-01T00:00:00Z",
        "to": "2026-06-02T00:00:00Z",
        "kind": "interaction",
        "complete": True,
    }
    with service.client() as auditor:
        pack = auditor.post("/v1/evidence", params={"disclose": "model"}, json=query)
    assert pack.status_code == 200, pack.text
    document = pack.json()
    records = [e["record"] for e in document["entries"]]
    for key in document["completeness"]["keys"]:
        records += [e["record"] for e in key["outside"]]
    assert records and all(sorted(r["body"]) == ["account_id", "model"] for r in records)
    verify(service, pack.content, tmp_path / "complete.json")


def test_completeness_discloses_the_key_and_the_fields_asked(
    service: Service, tmp_path: Path
) -> None:
    with service.client() as auditor:
        document = auditor.get("/v1/index/account/acct-b", params={"disclose": "output_tokens"})
    assert document.status_code == 200, document.text
    records = [e["record"] for e in document.json()["entries"]]
    assert records and all(sorted(r["body"]) == ["account_id", "output_tokens"] for r in records)
    verify(service, document.json(), tmp_path / "completeness.json")
    out = ledger(
        "evidence", "--key", "account:acct-b", "--disclose", "", "--data-dir", str(service.data)
    )
    records = [e["record"] for e in json.loads(out.stdout)["entries"]]
    assert all(list(r["body"]) == ["account_id"] for r in records)
    verify(service, out.stdout.encode(), tmp_path / "cli-completeness.json")
