"""The API on PostgreSQL: keys, group-committed ingest with receipts, search, proofs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core import merkle
from ledger.verify.receipt import verify_receipt
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server, assert_problem

pytestmark = pytest.mark.postgres


def test_api_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    server = Server(
        tmp_path / "data",
        "--seal-interval",
        "3600",
        database_url=postgres_url.replace("postgresql+psycopg://", "postgresql://"),
    )
    try:
        ingest = server.key("ingest")
        with server.client(ingest) as client:
            receipts = client.post(
                "/v1/entries/batch",
                json={"entries": [interaction(i, seed=51, account="pg") for i in range(25)]},
            ).json()["receipts"]
            single = client.post("/v1/entries", json=interaction(99, seed=51)).json()
            assert_problem(
                client.get("/v1/entries"),
                403,
                "this ingest key may not GET /v1/entries: needs auditor or admin",
            )
        for receipt in [*receipts, single["receipt"]]:
            verify_receipt(receipt)
        with server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/admin/seal").json()["tree_size"] == 26
            hits = admin.get("/v1/entries", params={"account_id": "pg", "limit": 10}).json()
            assert len(hits["entries"]) == 10 and hits["next_cursor"] is not None
            proof = admin.get(f"/v1/proofs/inclusion/{receipts[7]['leaf_hash']}").json()
        merkle.verify_inclusion(
            7,
            26,
            bytes.fromhex(receipts[7]["leaf_hash"][2:]),
            [bytes.fromhex(p[2:]) for p in proof["proof"]],
            bytes.fromhex(proof["root"][2:]),
        )
    finally:
        assert server.stop() == 0


def test_group_commit_copy_and_its_fallback_over_http(tmp_path: Path, postgres_url: str) -> None:
    """On PostgreSQL the group commit writes with COPY; a stored or repeated record makes
    the COPY fail and the group go through the inserts that skip it: each record is
    answered with its one stored entry's seq, and nothing is stored twice."""
    server = Server(
        tmp_path / "data",
        "--seal-interval",
        "3600",
        database_url=postgres_url.replace("postgresql+psycopg://", "postgresql://"),
    )
    records = [interaction(i, seed=52, account="copy") for i in range(30)]
    try:
        with server.client(server.key("ingest")) as client:

            def post(batch: list[dict[str, object]]) -> list[dict[str, object]]:
                response = client.post("/v1/entries/batch", json={"entries": batch})
                assert response.status_code == 202, response.text
                receipts: list[dict[str, object]] = response.json()["receipts"]
                for receipt in receipts:
                    verify_receipt(receipt)
                return receipts

            fresh = post(records[:10])  # the COPY
            assert [r["seq"] for r in fresh] == list(range(1, 11))
            retried = post(records[:10])  # a retry of a stored batch
            assert [(r["seq"], r["leaf_hash"]) for r in retried] == [
                (r["seq"], r["leaf_hash"]) for r in fresh
            ]
            twice = post([records[10], records[11], records[10]])  # repeated in one batch
            assert twice[0]["seq"] == twice[2]["seq"] != twice[1]["seq"]
            mixed = post([records[12], records[3]])  # one new, one stored
            assert mixed[1]["seq"] == fresh[3]["seq"]
            assert mixed[0]["seq"] not in {r["seq"] for r in [*fresh, *twice]}
            rest = post(records[13:])  # the COPY again after the fallbacks
        with server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/admin/seal").json()["tree_size"] == 30
            hits = admin.get("/v1/entries", params={"account_id": "copy", "limit": 100}).json()
        assert len(hits["entries"]) == 30
        leaves = {r["leaf_hash"] for r in [*fresh, *twice, *mixed, *rest]}
        assert len(leaves) == 30
    finally:
        assert server.stop() == 0
