"""The `ledger` command as a user runs it: a real process, JSON out, errors on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.core import merkle
from ledger.core.records import parse_json
from ledger.workload import ndjson_lines


def ledger(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ledger {' '.join(args)} failed ({result.returncode}): {result.stderr}"
        )
    return result


def lines(result: subprocess.CompletedProcess[str]) -> list[Any]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """CLI flags selecting a fresh log on each backend."""
    if request.param == "sqlite":
        ledger("init", "--data-dir", str(tmp_path / "data"))
        return ["--data-dir", str(tmp_path / "data")]
    url = request.getfixturevalue("postgres_url").replace("postgresql+psycopg://", "postgresql://")
    return ["--database-url", url]


def test_ingest_seal_prove_consistency(tmp_path: Path, where: list[str]) -> None:
    records = ndjson_lines(300)
    first = tmp_path / "first.ndjson"
    first.write_text("\n".join(records[:120]) + "\n")
    out = lines(ledger("ingest", str(first), *where))
    expected = [parse_json(line).leaf_hash for line in records]
    assert [o["leaf_hash"] for o in out] == ["0x" + h.hex() for h in expected[:120]]
    assert [o["line"] for o in out] == list(range(1, 121))

    checkpoint = lines(ledger("seal", *where))[0]
    assert checkpoint == {"tree_size": 120, "root": "0x" + merkle.root_hash(expected[:120]).hex()}

    second = tmp_path / "second.ndjson"
    second.write_text("\n".join(records[120:]))  # no final newline: still read
    ledger("ingest", str(second), *where)
    latest = lines(ledger("seal", *where))[0]
    assert latest["tree_size"] == 300

    proof = lines(ledger("prove", "0x" + expected[42].hex(), *where))[0]
    assert (
        proof["leaf_index"] == 42 and proof["tree_size"] == 300 and proof["root"] == latest["root"]
    )
    assert all(node.startswith("0x") and len(node) == 66 for node in proof["proof"])
    merkle.verify_inclusion(
        42,
        300,
        expected[42],
        [bytes.fromhex(p[2:]) for p in proof["proof"]],
        bytes.fromhex(latest["root"][2:]),
    )

    old = lines(ledger("prove", expected[7].hex(), "--tree-size", "120", *where))[0]
    assert old["root"] == checkpoint["root"]

    cons = lines(ledger("consistency", "120", "300", *where))[0]
    assert (cons["first"], cons["second"], cons["first_root"], cons["second_root"]) == (
        120,
        300,
        checkpoint["root"],
        latest["root"],
    )
    merkle.verify_consistency(
        120,
        300,
        [bytes.fromhex(p[2:]) for p in cons["proof"]],
        bytes.fromhex(cons["first_root"][2:]),
        bytes.fromhex(cons["second_root"][2:]),
    )


def test_one_bad_line_rejects_the_whole_file(tmp_path: Path, where: list[str]) -> None:
    records = ndjson_lines(10)
    bad = json.loads(records[6])
    bad["body"]["input_tokens"] = 1.5
    records[6] = json.dumps(bad)
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(records) + "\n")
    result = ledger("ingest", str(path), *where, check=False)
    assert result.returncode != 0
    assert "line 7" in result.stderr and "body.input_tokens" in result.stderr
    assert "nothing was stored" in result.stderr
    assert result.stdout == ""
    assert lines(ledger("seal", *where))[0]["tree_size"] == 0


def test_bad_line_deep_in_a_large_file_is_named(tmp_path: Path) -> None:
    """Large files are parsed by worker processes; the line number must survive that."""
    records = ndjson_lines(12_000)
    records[9_876] = '{"v": 1, "kind": "interaction", "body": {}, "unexpected": true}'
    path = tmp_path / "large.ndjson"
    path.write_text("\n".join(records) + "\n")
    assert path.stat().st_size > 1 << 20  # large enough for the parallel path
    ledger("init", "--data-dir", str(tmp_path / "d"))
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path / "d"), check=False)
    assert result.returncode != 0 and "line 9877" in result.stderr
    assert lines(ledger("seal", "--data-dir", str(tmp_path / "d")))[0]["tree_size"] == 0


def test_empty_line_and_invalid_json_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gap.ndjson"
    path.write_text(ndjson_lines(1)[0] + "\n\n" + ndjson_lines(1, seed=2)[0] + "\n")
    ledger("init", "--data-dir", str(tmp_path))
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path), check=False)
    assert result.returncode != 0 and "line 2" in result.stderr and "empty line" in result.stderr
    path.write_text("{oops\n")
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path), check=False)
    assert (
        result.returncode != 0 and "line 1" in result.stderr and "not valid JSON" in result.stderr
    )


def test_only_up_init_deploy_and_serve_start_a_log(tmp_path: Path) -> None:
    """A command pointed at a folder without a log refuses (exit 2) and creates nothing:
    no ./ledger-data, no log key the running service would reject."""
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (
        ["keys", "create", "--role", "ingest"],
        ["seal"],
        ["licence", "revoke", "lic-1"],
        ["models", "show", "m"],
        ["ingest", "/dev/null"],
    ):
        refused = subprocess.run(
            [sys.executable, "-m", "ledger", *args],
            capture_output=True,
            text=True,
            cwd=empty,
            check=False,
        )
        assert refused.returncode == 2, (args, refused.stderr)
        assert "no log in ledger-data: start one with `mledger up`" in refused.stderr
    assert list(empty.iterdir()) == []
    started = lines(ledger("init", "--data-dir", str(empty / "log")))[0]
    assert started["tree_size"] == 0 and started["log_key"].startswith("0x")
    again = lines(ledger("init", "--data-dir", str(empty / "log")))[0]
    assert again["log_key"] == started["log_key"]  # an existing log is left as it is
    assert lines(ledger("seal", "--data-dir", str(empty / "log")))[0]["tree_size"] == 0


def test_user_errors_are_clear(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    ledger("init", *data)
    result = ledger("prove", "0x" + "ab" * 32, *data, check=False)
    assert result.returncode != 0 and "no entry has leaf hash 0xabab" in result.stderr
    result = ledger("prove", "0x1234", *data, check=False)
    assert result.returncode != 0 and "64 hex digits" in result.stderr
    result = ledger("consistency", "5", "3", *data, check=False)
    assert result.returncode != 0 and "beyond the log's size 0" in result.stderr
    result = ledger("seal", "--database-url", "mysql://root@127.0.0.1/test", check=False)
    assert result.returncode != 0 and "unsupported database 'mysql'" in result.stderr
    result = ledger("ingest", str(tmp_path / "missing.ndjson"), *data, check=False)
    assert result.returncode != 0 and "does not exist" in result.stderr


@pytest.mark.postgres
def test_database_url_from_the_environment(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "r.ndjson"
    path.write_text("\n".join(ndjson_lines(5)))
    env = {"LEDGER_DATABASE_URL": postgres_url.replace("postgresql+psycopg://", "postgresql://")}
    ledger("ingest", str(path), env=env)
    assert lines(ledger("seal", env=env))[0]["tree_size"] == 5


def test_up_seals_what_arrives(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger",
            "up",
            "--data-dir",
            data,
            "--seal-interval",
            "0.2",
            "--rpc-port",
            "0",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        path = tmp_path / "r.ndjson"
        path.write_text("\n".join(ndjson_lines(25)))
        deadline = time.monotonic() + 60
        while not (tmp_path / "data" / "ledger.db").exists():  # `up` starts the log
            assert time.monotonic() < deadline and service.poll() is None
            time.sleep(0.1)
        time.sleep(1)
        ledger("ingest", str(path), "--data-dir", data)
        assert service.stdout is not None
        checkpoint = json.loads(service.stdout.readline())
        assert checkpoint["tree_size"] == 25
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=20) == 0
