"""`mledger erase` and `mledger hold` as an operator runs them on PostgreSQL
(--database-url; the SQLite data dir is covered in tests/api/test_erasure_api.py):
erased records gone from every page after --vacuum-full, holds kept, bad input refused
with a message and a non-zero exit, changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ledger.core.records import parse_object
from ledger.workload import interaction
from tests.api.conftest import ledger

pytestmark = pytest.mark.postgres


def test_erase_and_hold_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    where = ["--database-url", postgres_url]
    records = [
        interaction(
            i, seed=44, account=["pg-alice-31", "pg-bob-32"][i % 2], ts="2020-01-01T00:00:00Z"
        )
        for i in range(10)
    ]
    source = tmp_path / "records.ndjson"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    ledger("init", *where)
    ledger("ingest", str(source), *where)
    ledger("seal", *where)
    leaves = ["0x" + parse_object(r).leaf_hash.hex() for r in records]
    for args, words in (
        (["--reason", "r"], "exactly one of --account ID"),
        (["--account", "pg-alice-31", "--before", "2030-01-01Z", "--reason", "r"], "exactly one"),
        (["--leaf", "0x12", "--reason", "r"], "--leaf must be 32 bytes"),
        (["--leaf", "0x" + "ab" * 32, "--reason", "r"], "no entry has leaf hash 0x" + "ab" * 32),
        (["--before", "soon", "--reason", "r"], "before: not a UTC time"),
        (["--account", "pg-alice-31", "--reason", " "], "reason must not be empty"),
    ):
        refused = ledger("erase", *args, *where, check=False)
        assert refused.returncode != 0 and words in refused.stderr, (args, refused.stderr)
    assert json.loads(ledger("hold", "list", *where).stdout) == {"holds": []}
    hold = json.loads(
        ledger("hold", "add", "--account", "pg-bob-32", "--reason", "case 5", *where).stdout
    )
    done = json.loads(
        ledger(
            "erase", "--before", "2021-01-01T00:00:00Z", "--reason", "GDPR", "--vacuum-full", *where
        ).stdout
    )
    assert (done["erased"], done["held"]) == (5, 5)
    assert done["scrubbed"] == "VACUUM FULL entries, index_keys"
    lifted = ledger("hold", "remove", hold["id"], "--reason", "closed", *where)
    assert json.loads(lifted.stdout)["lifted_at"]
    again = ledger("hold", "remove", hold["id"], "--reason", "twice", *where, check=False)
    assert again.returncode != 0 and "already lifted" in again.stderr
    by_leaf = json.loads(ledger("erase", "--leaf", leaves[1], "--reason", "ask", *where).stdout)
    assert (by_leaf["erased"], by_leaf["held"]) == (1, 0)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        blocks = conn.execute(
            "SELECT pg_relation_size('entries') / current_setting('block_size')::int"
        ).fetchone()
        assert blocks is not None
        pages = b"".join(
            bytes(conn.execute("SELECT get_raw_page('entries', %s)", (n,)).fetchone()[0])
            for n in range(int(blocks[0]))
        )
    assert b"pg-alice-31" not in pages and b"pg-bob-32" in pages
    for record in records[0::2]:
        assert record["salt"].encode() not in pages
