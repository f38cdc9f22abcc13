"""SIGKILL `ledger serve` on PostgreSQL at the ingest fault points, where the group
commit writes with COPY in a savepoint: a batch killed before its commit is not stored,
and the client's retry of a batch that committed before the kill is answered with the
stored entries' seqs and stores nothing new (its COPY fails on them and falls back)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ledger.chain.anvil import free_port
from tests.service.crash.support import Gateway, Ledger, Retrier

pytestmark = pytest.mark.postgres

BATCH = 40


def serve_pg(data: Path, port: int, url: str, fault: str | None = None) -> Ledger:
    return Ledger(
        "serve",
        "--data-dir",
        str(data),
        "--database-url",
        url,
        "--port",
        str(port),
        "--seal-interval",
        "3600",
        url=f"http://127.0.0.1:{port}",
        fault=fault,
    )


def seqs(url: str, leaves: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT leaf_hash, seq FROM entries WHERE leaf_hash = ANY(%s)",
            ([bytes.fromhex(leaf[2:]) for leaf in leaves],),
        ).fetchall()
    return {"0x" + bytes(leaf).hex(): int(seq) for leaf, seq in found}


def test_ingest_crashes_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = Gateway(seed=81)

    service = serve_pg(data, port, postgres_url, "ingest.before_commit:2").wait_ready()
    assert gateway.send(url, BATCH)
    assert not gateway.send(url, BATCH)
    service.expect_fault()
    assert seqs(postgres_url, gateway.failed[-1]) == {}  # rolled back
    assert len(seqs(postgres_url, gateway.acked_leaves)) == BATCH

    service = serve_pg(data, port, postgres_url, "ingest.after_commit:1").wait_ready()
    retrier = Retrier(url, gateway.records(BATCH))
    service.expect_fault()
    landed = retrier.leaves
    stored = seqs(postgres_url, landed)
    assert len(stored) == BATCH  # committed, unanswered

    service = serve_pg(data, port, postgres_url).wait_ready()
    try:
        assert retrier.receipts() == [(leaf, stored[leaf]) for leaf in landed]
        assert gateway.send(url, BATCH)  # the COPY path again
        with psycopg.connect(postgres_url) as conn:
            (count,) = conn.execute("SELECT count(*) FROM entries").fetchone() or (0,)
        assert count == 3 * BATCH  # nothing stored twice
    finally:
        service.kill()
