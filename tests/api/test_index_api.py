"""GET /v1/index/{kind}/{value} on a real `mledger serve` anchoring on a real Anvil:
auditors get completeness proofs that `mledger verify` checks against the chain; a
licensee key gets its own licensee and licence keys, and any other key, present or not,
as the same 404; bad parameters are problem+json naming the problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture


def licence(licence_id: str, licensee: str) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "licence",
        "body": {
            "action": "grant",
            "licence_id": licence_id,
            "licensee": licensee,
            "models": ["frontier-large"],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00.000Z",
            "valid_until": "2027-01-01T00:00:00.000Z",
        },
    }


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    anvil_binary: Path,  # noqa: F811
) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("index-api")
    with anchored_server(work, anvil_binary) as (server, node):
        with server.client(ADMIN_KEY) as admin:
            for i in range(9):
                account = "acct-1" if i % 3 == 0 else f"acct-y{i}"
                body = interaction(i, seed=5, account=account)
                assert admin.post("/v1/entries", json=body).status_code == 202
            for licence_id, licensee in [("lic-a", "acme"), ("lic-o", "other")]:
                response = admin.post("/v1/entries", json=licence(licence_id, licensee))
                assert response.status_code == 202, response.text
            anchored = admin.post("/v1/admin/anchor")
            assert anchored.status_code == 200, anchored.text
        yield {
            "server": server,
            "auditor": server.key("auditor"),
            "licensee": server.key("licensee", "acme"),
            "identity": identity_file(server, work / "log.json"),
            "dir": work,
            "rpc": node.url,
        }


def get(served: dict[str, Any], role: str, path: str, **params: Any) -> Any:
    server: Server = served["server"]
    with server.client(served[role]) as client:
        return client.get(path, params=params)


def verified(served: dict[str, Any], document: dict[str, Any]) -> str:
    path = served["dir"] / "doc.json"
    path.write_text(json.dumps(document))
    result = ledger(
        "verify",
        str(path),
        "--log",
        str(served["identity"]),
        "--rpc-url",
        served["rpc"],
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def test_auditor_gets_verifiable_completeness(served: dict[str, Any]) -> None:
    response = get(served, "auditor", "/v1/index/account/acct-1")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["count"] == 3
    assert [e["leaf_index"] for e in document["entries"]] == [0, 3, 6]
    absent = get(served, "auditor", "/v1/index/account/nobody").json()
    assert absent["count"] == 0 and absent["entries"] == []
    window = get(served, "auditor", "/v1/index/account/acct-1", from_size=1, to_size=5).json()
    assert [e["leaf_index"] for e in window["entries"]] == [3]
    checkpoint = get(served, "auditor", "/v1/checkpoints/latest").json()
    assert checkpoint["index_root"] == document["index_root"] != "0x" + "00" * 32
    assert "COMPLETE: 3 entries of account:acct-1 in the first 11 entries (anchored" in (
        verified(served, document)
    )
    assert "COMPLETE: 0 entries of account:nobody" in verified(served, absent)


def test_licensee_sees_only_its_own_keys(served: dict[str, Any]) -> None:
    own = get(served, "licensee", "/v1/index/licensee/acme")
    assert own.status_code == 200 and own.json()["count"] == 1
    assert "COMPLETE: 1 entry of licensee:acme" in verified(served, own.json())
    assert get(served, "licensee", "/v1/index/licence/lic-a").json()["count"] == 1
    refused = {}
    for path in (
        "/v1/index/licensee/other",
        "/v1/index/licence/lic-o",
        "/v1/index/licence/lic-missing",
        "/v1/index/account/acct-1",
    ):
        response = get(served, "licensee", path)
        problem = assert_problem(response, 404, "no index key")
        refused[path] = problem["detail"].replace(
            path.removeprefix("/v1/index/").replace("/", ":", 1), "KEY"
        )
    assert len(set(refused.values())) == 1  # another's key reads as a missing one


def post_pack(served: dict[str, Any], role: str, body: dict[str, Any]) -> Any:
    server: Server = served["server"]
    with server.client(served[role]) as client:
        return client.post("/v1/evidence", json=body)


def test_complete_evidence_pack_verifies_with_its_completeness(served: dict[str, Any]) -> None:
    query = {"account_ids": ["acct-1", "nobody"], "kind": "interaction", "complete": True}
    response = post_pack(served, "auditor", query)
    assert response.status_code == 200, response.text
    pack = response.json()
    assert [e["leaf_index"] for e in pack["entries"]] == [0, 3, 6]
    assert "complete" not in pack["query"]  # the flag asks for the proof; the query is the same
    assert [k["count"] for k in pack["completeness"]["keys"]] == [3, 0]
    out = verified(served, pack)
    assert "COMPLETE: 3 entries of account:acct-1 in the first 11 entries match the query" in out
    assert "COMPLETE: 0 entries of account:nobody in the first 11 entries match the query" in out
    # Nothing matches: an absence proof, not a 404.
    absent = post_pack(served, "auditor", {**query, "account_ids": ["nobody"]})
    assert absent.status_code == 200, absent.text
    assert absent.json()["entries"] == [] and absent.json()["proof"] == []
    assert "COMPLETE: 0 entries of account:nobody" in verified(served, absent.json())


def test_complete_pack_refuses_queries_it_cannot_prove(served: dict[str, Any]) -> None:
    base = {"account_ids": ["acct-1"], "kind": "interaction", "complete": True}
    assert_problem(
        post_pack(served, "auditor", {**base, "kind": None}), 422, "a complete pack holds"
    )
    assert_problem(
        post_pack(served, "auditor", {**base, "model": "coder-2"}), 422, "drop the model filter"
    )
    assert_problem(
        post_pack(served, "auditor", {"kind": "interaction", "complete": True}),
        422,
        "a complete pack needs the accounts",
    )
    assert post_pack(served, "licensee", base).status_code == 403


def test_bad_parameters_are_problems(served: dict[str, Any]) -> None:
    assert_problem(get(served, "auditor", "/v1/index/colour/blue"), 400, "is not KIND:VALUE")
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", tree_size=4),
        409,
        "tree size 4 is not an anchored size",
    )
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", from_size=3, to_size=99),
        400,
        "the window [3, 99)",
    )
    # Windows that are no part of the 11 anchored entries: B = A, B < A, B past the
    # size, bounds past SQL's BIGINT; a size or bounds that are not integers.
    for a, b in ((4, 4), (5, 2), (0, 12), (2**70, 2**71), (0, 2**63)):
        assert_problem(
            get(served, "auditor", "/v1/index/account/acct-1", from_size=a, to_size=b),
            400,
            f"the window [{a}, {b}) is not a non-empty part of the first 11 entries",
        )
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", from_size=12), 400, "[12, 11)"
    )
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", tree_size=2**64),
        409,
        f"tree size {2**64} is not an anchored size",
    )
    for name, value in (("from_size", -1), ("to_size", 0), ("tree_size", "true")):
        assert_problem(
            get(served, "auditor", "/v1/index/account/acct-1", **{name: value}), 422, name
        )
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", from_size=1, **{"from": "0"}),
        400,
        "give the window as sizes or as times, not both",
    )
    assert_problem(
        get(served, "auditor", "/v1/index/account/acct-1", **{"from": "yesterday"}),
        400,
        "is not a time",
    )
    for odd in ("\u00b2", "\u0663", "9" * 5000):  # superscript two, Arabic-Indic three
        assert_problem(
            get(served, "auditor", "/v1/index/account/acct-1", **{"from": odd}),
            400,
            "is not a time",
        )


def test_a_value_with_a_slash_is_a_key(served: dict[str, Any]) -> None:
    response = get(served, "auditor", "/v1/index/account/org/team")
    assert response.status_code == 200, response.text
    assert response.json()["key"] == "account:org/team"
    assert response.json()["count"] == 0
