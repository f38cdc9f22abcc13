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
