"""Ingest over HTTP: 202 with valid receipts once durable; every malformed request is
refused with problem+json naming the field, and stores nothing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ledger.core.records import parse_object
from ledger.verify.receipt import verify_receipt
from ledger.workload import interaction
from tests.api.conftest import Server, assert_problem, pinned_log


def stored(server: Server, _key: str) -> int:
    """Entries in the log: sealed plus pending."""
    health = server.client().get("/healthz").json()
    return int(health["tree_size"]) + int(health["pending"])


def test_single_entry_gets_a_valid_receipt(server: Server, keys: dict[str, str]) -> None:
    record = interaction(1, seed=11)
    with server.client(keys["ingest"]) as client:
        response = client.post("/v1/entries", json=record)
    assert response.status_code == 202, response.text
    body = response.json()
    expected = parse_object(record).leaf_hash
    assert body["leaf_hash"] == "0x" + expected.hex() == body["receipt"]["leaf_hash"]
    assert body["seq"] == body["receipt"]["seq"] >= 1
    receipt = body["receipt"]
    assert (
        receipt["mmd"] == 3600
        and receipt["batch"]["size"] == 1
        and receipt["domain"]["name"] == "model-ledger"
    )
    assert verify_receipt(receipt, pinned_log(server)) == receipt["signer"]

    with server.client(keys["ingest"]) as client:  # the same record again: same entry
        again = client.post("/v1/entries", json=record).json()
    assert (again["leaf_hash"], again["seq"]) == (body["leaf_hash"], body["seq"])


def test_batch_gets_one_valid_receipt_per_record(server: Server, keys: dict[str, str]) -> None:
    records = [interaction(i, seed=12) for i in range(37)]
    with server.client(keys["ingest"]) as client:
        response = client.post("/v1/entries/batch", json={"entries": records})
    assert response.status_code == 202, response.text
    receipts = response.json()["receipts"]
    assert [r["leaf_hash"] for r in receipts] == [
        "0x" + parse_object(r).leaf_hash.hex() for r in records
    ]
    seqs = [r["seq"] for r in receipts]
    assert seqs == sorted(seqs) and len(set(seqs)) == 37
    assert len({r["signature"] for r in receipts}) == 1  # one signature covers the request
    pinned = pinned_log(server)
    for receipt in receipts:
        verify_receipt(receipt, pinned)
    tampered = dict(receipts[5], seq=receipts[5]["seq"] + 1)
    with pytest.raises(ValueError, match="do not lead to the signed batch root"):
        verify_receipt(tampered)
    with pytest.raises(
        ValueError, match="not a receipt of the pinned log: log_signer: the receipt names"
    ):
        verify_receipt(receipts[0], dataclasses.replace(pinned, log_signer=b"\x11" * 20))


def _bad(index: int, change: Any) -> list[dict[str, Any]]:
    records = [interaction(i, seed=13) for i in range(6)]
    change(records[index])
    return records


MALFORMED_BATCHES = [
    pytest.param(b'{"entries": [', 400, "not valid JSON", None, id="bad-json"),
    pytest.param(b"[]", 400, "must be an object", None, id="not-an-object"),
    pytest.param(
        {"entries": _bad(3, lambda r: r["body"].update(input_tokens=1.5))},
        422,
        "valid integer",
        "entries[3].body.input_tokens",
        id="float",
    ),
    pytest.param(
        {"entries": _bad(0, lambda r: r["body"].update(colour="red"))},
        422,
        "unknown field",
        "entries[0].body.colour",
        id="unknown-body-field",
    ),
    pytest.param(
        {"entries": _bad(5, lambda r: r.update(extra=1))},
        422,
        "unknown field",
        "entries[5].extra",
        id="unknown-envelope-field",
    ),
    pytest.param(
        {"entries": _bad(2, lambda r: r.update(kind="weather"))},
        422,
        "unknown kind",
        "entries[2].kind",
        id="unknown-kind",
    ),
    pytest.param(
        {"entries": _bad(4, lambda r: r["body"].pop("model"))},
        422,
        "required",
        "entries[4].body.model",
        id="missing-field",
    ),
    pytest.param({"entries": [], "more": 1}, 422, "unknown field", "more", id="unknown-top-field"),
    pytest.param({"entries": []}, 422, "at least one", "entries", id="empty"),
    pytest.param({"entries": "x"}, 422, "must be a list", "entries", id="not-a-list"),
]


@pytest.mark.parametrize(("body", "status", "needle", "field"), MALFORMED_BATCHES)
def test_malformed_batch_is_refused_and_stores_nothing(
    server: Server, keys: dict[str, str], body: Any, status: int, needle: str, field: str | None
) -> None:
    before = stored(server, keys["admin"])
    with server.client(keys["ingest"]) as client:
        if isinstance(body, bytes):
            response = client.post(
                "/v1/entries/batch", content=body, headers={"content-type": "application/json"}
            )
        else:
            response = client.post("/v1/entries/batch", json=body)
    problem = assert_problem(response, status, needle)
    if field is not None:
        assert problem["field"] == field and problem["detail"].startswith(field + ":")
    assert stored(server, keys["admin"]) == before


def test_batch_limit_is_exact(server: Server, keys: dict[str, str]) -> None:
    before = stored(server, keys["admin"])
    records = [interaction(i, seed=14) for i in range(10_001)]
    with server.client(keys["ingest"]) as client:
        too_many = client.post("/v1/entries/batch", json={"entries": records})
        assert_problem(too_many, 413, "batch holds 10001 entries; the limit is 10000")
        assert stored(server, keys["admin"]) == before
        accepted = client.post("/v1/entries/batch", json={"entries": records[:10_000]})
    assert accepted.status_code == 202 and len(accepted.json()["receipts"]) == 10_000
    assert stored(server, keys["admin"]) == before + 10_000


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        pytest.param(b"{oops", 400, "not valid JSON", id="bad-json"),
        pytest.param(
            json.dumps(_bad(0, lambda r: r["body"].update(output_tokens=2.0))[0]).encode(),
            422,
            "body.output_tokens",
            id="float",
        ),
        pytest.param(
            json.dumps(_bad(0, lambda r: r.update(v=3))[0]).encode(), 422, "v:", id="version"
        ),
        pytest.param(
            b'{"v": 1, "kind": "digest", "body": {"sha256": "' + b"a" * 20_000 + b'"}}',
            413,
            "limit is 16384",
            id="too-large",
        ),
    ],
)
def test_malformed_single_entry_is_refused(
    server: Server, keys: dict[str, str], body: bytes, status: int, needle: str
) -> None:
    before = stored(server, keys["admin"])
    with server.client(keys["ingest"]) as client:
        response = client.post(
            "/v1/entries", content=body, headers={"content-type": "application/json"}
        )
    assert_problem(response, status, needle)
    assert stored(server, keys["admin"]) == before


def test_unknown_routes_and_methods_are_problems(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["admin"]) as client:
        assert_problem(client.get("/v1/nothing"), 404, "no such resource: GET /v1/nothing")
        assert_problem(
            client.delete("/v1/entries"), 405, "method DELETE is not allowed on /v1/entries"
        )
        assert_problem(client.get("/v1/entries/0x1234"), 400, "64 hex digits")
        assert_problem(
            client.get("/v1/entries/0x" + "ab" * 32), 404, "no entry has leaf hash 0xabab"
        )
        assert_problem(client.get("/v1/entries", params={"limit": 5000}), 422, "query.limit")
