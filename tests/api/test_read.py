"""Reading the log over HTTP: search pages, entries, proofs checked with ledger.core.merkle,
signed checkpoints, health and metrics."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from eth_account import Account
from eth_account.messages import encode_typed_data

from ledger.core import merkle
from ledger.formats.eip712 import checkpoint_typed_data
from ledger.service.signer import compact_signature
from ledger.workload import interaction
from tests.api.conftest import Server, assert_problem


def unhex(value: str) -> bytes:
    return bytes.fromhex(value[2:])


@pytest.fixture(scope="module")
def log(server: Server, keys: dict[str, str]) -> dict[str, Any]:
    """30 records of account "alice" (June 1..30), 20 of "bob", sealed at 30 and at 50."""
    alice = [
        interaction(i, seed=31, account="alice", ts=f"2026-06-{1 + i:02d}T00:00:00.000Z")
        for i in range(30)
    ]
    bob = [interaction(i, seed=32, account="bob") for i in range(20)]
    with server.client(keys["ingest"]) as client:
        first = client.post("/v1/entries/batch", json={"entries": alice}).json()["receipts"]
    with server.client(keys["admin"]) as admin:
        sealed_30 = admin.post("/v1/admin/seal").json()
        with server.client(keys["ingest"]) as client:
            second = client.post("/v1/entries/batch", json={"entries": bob}).json()["receipts"]
        pending = server.client(keys["auditor"]).get(f"/v1/entries/{second[0]['leaf_hash']}").json()
        sealed_50 = admin.post("/v1/admin/seal").json()
    leaves = [unhex(r["leaf_hash"]) for r in first + second]
    return {"leaves": leaves, "sealed": (sealed_30, sealed_50), "pending": pending}


def test_entry_status_and_record(server: Server, keys: dict[str, str], log: dict[str, Any]) -> None:
    assert log["pending"]["status"] == "pending" and log["pending"]["leaf_index"] is None
    leaf = log["leaves"][3]
    with server.client(keys["auditor"]) as client:
        entry = client.get("/v1/entries/0x" + leaf.hex()).json()
    assert (entry["status"], entry["leaf_index"], entry["kind"]) == ("sequenced", 3, "interaction")
    assert (
        entry["record"]["body"]["account_id"] == "alice"
        and entry["ts"] == "2026-06-04T00:00:00.000Z"
    )
    assert merkle.hash_leaf(rfc8785.dumps(entry["record"])) == leaf


def test_search_filters_and_pages(
    server: Server, keys: dict[str, str], log: dict[str, Any]
) -> None:
    with server.client(keys["auditor"]) as client:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"account_id": "alice", "limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/entries", params=params).json()
            seen += [hit["leaf_hash"] for hit in page["entries"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 5 and seen == ["0x" + leaf.hex() for leaf in log["leaves"][:30]]

        june = client.get(
            "/v1/entries",
            params={"account_id": "alice", "from": "2026-06-10", "to": "2026-06-15T00:00:00.000Z"},
        ).json()
        assert [hit["ts"][:10] for hit in june["entries"]] == [
            f"2026-06-{d}" for d in range(10, 15)
        ]
        assert june["next_cursor"] is None
        # Any RFC 3339 UTC form of the bounds is the same bound (stored form: .000Z).
        for bounds in (
            {"from": "2026-06-10T00:00:00Z", "to": "2026-06-15T00:00:00+00:00"},
            {"from": "2026-06-10T00:00:00.000Z", "to": "2026-06-15"},
        ):
            again = client.get("/v1/entries", params={"account_id": "alice", **bounds}).json()
            assert again == june, bounds
        until = client.get(
            "/v1/entries", params={"account_id": "alice", "to": "2026-06-03T00:00:00Z"}
        ).json()
        assert [hit["ts"] for hit in until["entries"]] == [
            "2026-06-01T00:00:00.000Z",
            "2026-06-02T00:00:00.000Z",
        ]
        assert_problem(
            client.get("/v1/entries", params={"from": "2026-06-10T02:00:00+02:00"}),
            400,
            "from '2026-06-10T02:00:00+02:00' is not UTC (offset +02:00)",
            "the same instant is 2026-06-10T00:00:00.000Z",
        )
        assert_problem(
            client.get("/v1/entries", params={"to": "2026-06-10T12:00"}),
            400,
            "to must be a UTC time in RFC 3339 form",
        )
        assert_problem(
            client.get("/v1/entries", params={"from": "2026-02-30"}),
            400,
            "from is not a real date: '2026-02-30'",
        )

        one = client.get(
            "/v1/entries", params={"external_id": "req-32-4", "kind": "interaction"}
        ).json()["entries"]
        assert len(one) == 1 and one[0]["account_id"] == "bob" and one[0]["leaf_index"] == 34
        assert (
            client.get("/v1/entries", params={"kind": "licence", "account_id": "alice"}).json()[
                "entries"
            ]
            == []
        )
        assert_problem(
            client.get("/v1/entries", params={"kind": "weather"}), 400, "kind must be one of"
        )
        assert_problem(
            client.get("/v1/entries", params={"from": "June"}),
            400,
            "from must be a UTC time in RFC 3339 form",
        )
        assert_problem(client.get("/v1/entries", params={"cursor": "abc"}), 400, "cursor must be")


def test_inclusion_and_consistency_proofs_verify(
    server: Server, keys: dict[str, str], log: dict[str, Any]
) -> None:
    sealed_30, sealed_50 = log["sealed"]
    leaves = log["leaves"]
    with server.client(keys["auditor"]) as client:
        for index in (0, 17, 29, 42, 49):
            proof = client.get(f"/v1/proofs/inclusion/0x{leaves[index].hex()}").json()
            assert (
                proof["leaf_index"] == index
                and proof["tree_size"] == 50
                and proof["root"] == sealed_50["root"]
            )
            assert proof["anchor"] is None
            merkle.verify_inclusion(
                index, 50, leaves[index], [unhex(p) for p in proof["proof"]], unhex(proof["root"])
            )
        old = client.get(
            f"/v1/proofs/inclusion/0x{leaves[5].hex()}", params={"tree_size": 30}
        ).json()
        merkle.verify_inclusion(
            5, 30, leaves[5], [unhex(p) for p in old["proof"]], unhex(sealed_30["root"])
        )
        assert_problem(
            client.get(f"/v1/proofs/inclusion/0x{leaves[40].hex()}", params={"tree_size": 30}),
            400,
            "beyond tree size 30",
        )
        assert_problem(
            client.get(f"/v1/proofs/inclusion/0x{leaves[5].hex()}", params={"tree_size": 99}),
            400,
            "beyond the log's size",
        )

    with server.client() as public:
        consistency = public.get(
            "/v1/proofs/consistency", params={"first": 30, "second": 50}
        ).json()
        assert (consistency["first_root"], consistency["second_root"]) == (
            sealed_30["root"],
            sealed_50["root"],
        )
        merkle.verify_consistency(
            30,
            50,
            [unhex(p) for p in consistency["proof"]],
            unhex(sealed_30["root"]),
            unhex(sealed_50["root"]),
        )
        assert_problem(
            public.get("/v1/proofs/consistency", params={"first": 30, "second": 5000}),
            400,
            "second 5000 is beyond",
        )
        assert_problem(
            public.get("/v1/proofs/consistency", params={"first": 30}), 422, "query.second"
        )


def test_checkpoints_are_signed(server: Server, log: dict[str, Any]) -> None:
    sealed_30, sealed_50 = log["sealed"]
    with server.client() as public:
        latest = public.get("/v1/checkpoints/latest").json()
        at_30 = public.get("/v1/checkpoints/30").json()
        assert_problem(
            public.get("/v1/checkpoints/31"), 404, "no checkpoint was sealed at tree size 31"
        )
        assert_problem(public.get("/v1/checkpoints/zero"), 422, "path.size")
    assert (latest["tree_size"], latest["root"]) == (50, sealed_50["root"])
    assert (at_30["tree_size"], at_30["root"]) == (30, sealed_30["root"])
    for checkpoint in (latest, at_30):
        assert checkpoint["anchor"] is None and checkpoint["domain"] == {
            "name": "model-ledger",
            "version": "1",
        }
        # The signed message is (log id, tree size, root, index root): what LogAnchor checks
        # before it anchors; the sealing time is shown, not signed.
        typed = checkpoint_typed_data(
            checkpoint["domain"],
            unhex(checkpoint["log_id"]),
            checkpoint["tree_size"],
            unhex(checkpoint["root"]),
            unhex(checkpoint["index_root"]),  # the index root is signed too (R(S), issue 13)
        )
        assert (
            Account.recover_message(
                encode_typed_data(full_message=typed), signature=checkpoint["signature"]
            )
            == checkpoint["signer"]
        )
        assert checkpoint["timestamp"].endswith("Z")
        r, vs = compact_signature(checkpoint["signature"])  # EIP-2098, as LogAnchor.anchor takes it
        assert r == unhex(checkpoint["signature"])[:32] and len(vs) == 32


def test_health_and_metrics(server: Server, keys: dict[str, str], log: dict[str, Any]) -> None:
    with server.client() as public:
        health = public.get("/healthz").json()
        metrics = public.get("/metrics")
    assert health["status"] == "ok" and health["tree_size"] >= 50 and health["pending"] == 0
    assert health["anchor"] is None  # no deployment on this server
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {
        line.split(" ")[0]: line.rsplit(" ", 1)[1]
        for line in metrics.text.splitlines()
        if line and not line.startswith("#")
    }
    assert (
        int(values["ledger_tree_size"]) == health["tree_size"]
        and values["ledger_pending_entries"] == "0"
    )
    assert int(values["ledger_entries_accepted_total"]) >= 50
    assert (
        int(
            values[
                'ledger_http_requests_total{method="POST",route="/v1/entries/batch",status="202"}'
            ]
        )
        >= 2
    )


def test_search_pages_in_arrival_order_not_time_order(
    server: Server, keys: dict[str, str], log: dict[str, Any]
) -> None:
    """docs/api.md: pages follow seq (arrival), whatever the records' ts say."""
    days = ["2026-05-03", "2026-05-01", "2026-05-02"]
    records = [
        interaction(i, seed=33, account="carol", ts=f"{day}T00:00:00Z")
        for i, day in enumerate(days)
    ]
    with server.client(keys["ingest"]) as client:
        for record in records:  # one request each: three arrivals in this order
            assert client.post("/v1/entries", json=record).status_code == 202
    with server.client(keys["auditor"]) as client:
        page = client.get("/v1/entries", params={"account_id": "carol", "limit": 2}).json()
        rest = client.get(
            "/v1/entries", params={"account_id": "carol", "cursor": page["next_cursor"]}
        ).json()
    hits = page["entries"] + rest["entries"]
    assert [hit["ts"] for hit in hits] == [f"{day}T00:00:00.000Z" for day in days]
    assert [hit["seq"] for hit in hits] == sorted(hit["seq"] for hit in hits)
