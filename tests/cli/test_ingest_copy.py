"""`mledger ingest` on PostgreSQL takes the COPY path (ledger.store.copyrows): the same
guarantees as the row-by-row path it falls back to when a record is already stored."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ledger.core import merkle
from ledger.core.records import parse_json
from ledger.workload import ndjson_lines
from tests.cli.test_cli import ledger, lines

pytestmark = pytest.mark.postgres


def seqs(url: str) -> list[tuple[int, bytes]]:
    with psycopg.connect(url) as conn:
        return [
            (int(seq), bytes(leaf))
            for seq, leaf in conn.execute("SELECT seq, leaf_hash FROM entries ORDER BY seq")
        ]


def test_a_large_file_is_copied_in_order_and_a_second_copy_adds_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    records = ndjson_lines(6_000)
    path = tmp_path / "large.ndjson"
    path.write_text("\n".join(records) + "\n")
    assert path.stat().st_size > 1 << 20  # worker processes make the rows
    where = ["--database-url", postgres_url]
    out = lines(ledger("ingest", str(path), *where))
    expected = [parse_json(line).leaf_hash for line in records]
    assert out == [
        {"line": n, "leaf_hash": "0x" + leaf.hex()} for n, leaf in enumerate(expected, 1)
    ]
    first = seqs(postgres_url)
    assert [leaf for _, leaf in first] == expected  # seq order is file order

    # Again, plus new records after them: the copy meets a stored leaf hash, stores
    # nothing, and the file goes row by row, skipping what is stored.
    more = ndjson_lines(50, seed=3)
    path.write_text("\n".join(records + more) + "\n")
    again = lines(ledger("ingest", str(path), *where))
    added = [parse_json(line).leaf_hash for line in more]
    assert [o["leaf_hash"] for o in again] == ["0x" + h.hex() for h in expected + added]
    after = seqs(postgres_url)
    assert after[: len(first)] == first and [leaf for _, leaf in after] == expected + added
    checkpoint = lines(ledger("seal", *where))[0]
    assert checkpoint["root"] == "0x" + merkle.root_hash(expected + added).hex()


def test_a_record_twice_in_a_file_is_stored_once(tmp_path: Path, postgres_url: str) -> None:
    records = ndjson_lines(20)
    path = tmp_path / "twice.ndjson"
    path.write_text("\n".join(records + records[3:5]) + "\n")
    out = lines(ledger("ingest", str(path), "--database-url", postgres_url))
    assert len(out) == 22 and out[20]["leaf_hash"] == out[3]["leaf_hash"]
    assert [leaf for _, leaf in seqs(postgres_url)] == [
        parse_json(line).leaf_hash for line in records
    ]


def test_a_bad_line_deep_in_a_copied_file_stores_nothing(tmp_path: Path, postgres_url: str) -> None:
    records = ndjson_lines(8_000)
    bad = json.loads(records[7_500])
    bad["body"]["input_tokens"] = -1
    records[7_500] = json.dumps(bad)
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(records) + "\n")
    result = ledger("ingest", str(path), "--database-url", postgres_url, check=False)
    assert result.returncode == 1 and "line 7501" in result.stderr
    assert "nothing was stored" in result.stderr and result.stdout == ""
    assert seqs(postgres_url) == []


def test_a_crash_before_the_copy_commits_stores_nothing(tmp_path: Path, postgres_url: str) -> None:
    records = ndjson_lines(5_000)
    path = tmp_path / "crash.ndjson"
    path.write_text("\n".join(records) + "\n")
    where = ["--database-url", postgres_url]
    result = ledger(
        "ingest", str(path), *where, env={"LEDGER_FAULT": "ingest.before_commit"}, check=False
    )
    assert result.returncode == -9 and result.stdout == ""  # SIGKILLed at the fault point
    assert seqs(postgres_url) == []  # the server rolled the copy back
    out = lines(ledger("ingest", str(path), *where))  # the operator runs it again
    assert len(out) == 5_000 and len(seqs(postgres_url)) == 5_000
    assert lines(ledger("seal", *where))[0]["tree_size"] == 5_000
