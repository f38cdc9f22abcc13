#!/usr/bin/env python3
"""Where the time of `mledger ingest` on PostgreSQL goes, part by part, in CPU time.

The machine is shared, so wall time says more about the neighbours than about the code.
This script measures CPU seconds instead: of this process for the per-record Python
(parse and validate, encode, hash; handing a chunk back from a worker), and of the
PostgreSQL backend serving the connection (read from /proc, so the server must run on
this machine) for each way of writing the same rows:

- the INSERT ... ON CONFLICT DO NOTHING of `Store.insert_entries`, as executemany
  (the baseline's way);
- one binary COPY into the entries table (`Store.copy_entries`);
- the same COPY with one of the table's four secondary indexes dropped, each in turn:
  what that index costs;
- the same COPY with the text columns in the "C" collation;
- COPY into an unindexed table of the same columns (the database's own limit).

Each database write loads --records rows twice (into an empty table, then one holding
them), each on a fresh database, in alternating order over --rounds; medians.

    .venv/bin/python scripts/bench_ingest_parts.py --records 250000 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg

from ledger.core.records import Entry, parse_json
from ledger.store.copyrows import COPY_COLUMNS, COPY_HEADER, COPY_TRAILER, copy_row, copy_rows
from ledger.store.repository import Store
from ledger.workload import ndjson_lines

CHUNK = 2_500
"""Records per chunk, about what one 1 MiB worker task holds."""

COLLATE_C = (
    'ALTER TABLE entries ALTER COLUMN ts TYPE varchar(24) COLLATE "C",'
    ' ALTER COLUMN external_id TYPE varchar(256) COLLATE "C",'
    ' ALTER COLUMN account_id TYPE varchar(256) COLLATE "C",'
    ' ALTER COLUMN model TYPE varchar(256) COLLATE "C"'
)
"""The lookup columns compared byte by byte (the server's default here is C.UTF-8,
which orders the same but compares through the C library)."""

INDEXES = ("entries_leaf_hash", "entries_external_id", "entries_account_ts", "entries_model")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_parts(lines: list[bytes]) -> dict[str, float]:
    """CPU microseconds per record of each Python step, in this one process."""
    ts = "2026-06-01T00:00:00.000Z"

    def per_record(step: Callable[[], object]) -> float:
        began = time.process_time()
        step()
        return (time.process_time() - began) / len(lines) * 1e6

    entries: list[Entry] = []
    out: dict[str, float] = {
        "parse, validate, encode, hash (parse_json)": per_record(
            lambda: entries.extend(parse_json(line, ts=ts) for line in lines)
        )
    }
    tuples = [tuple(e) for e in entries]
    chunks = [tuples[i : i + CHUNK] for i in range(0, len(tuples), CHUNK)]
    leaf_inputs = [b"\x00" + e.canonical for e in entries]
    out["SHA-256 of the leaf alone"] = per_record(
        lambda: [hashlib.sha256(data).digest() for data in leaf_inputs]
    )
    pickled = [pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL) for c in chunks]
    out["baseline hand-back: pickle tuples (worker)"] = per_record(
        lambda: [pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL) for c in chunks]
    )
    out["baseline hand-back: unpickle tuples (writer)"] = per_record(
        lambda: [pickle.loads(p) for p in pickled]
    )
    out["COPY row (copy_row, worker)"] = per_record(lambda: [copy_row(e) for e in entries])
    pairs = [
        (copy_rows(entries[i : i + CHUNK]), b"".join(e.leaf_hash for e in entries[i : i + CHUNK]))
        for i in range(0, len(entries), CHUNK)
    ]
    pickled = [pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL) for p in pairs]
    out["COPY hand-back: pickle bytes (worker)"] = per_record(
        lambda: [pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL) for p in pairs]
    )
    out["COPY hand-back: unpickle bytes (writer)"] = per_record(
        lambda: [pickle.loads(p) for p in pickled]
    )
    return out


def fresh(admin_url: str, name: str, ddl: tuple[str, ...] = ()) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    Store.open(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in ddl:
            conn.execute(statement)
        conn.execute(
            "CREATE TABLE copied (leaf_hash bytea NOT NULL, kind varchar(16) NOT NULL,"
            " ts varchar(24) NOT NULL, external_id varchar(256), account_id varchar(256),"
            " model varchar(256), record bytea NOT NULL)"
        )
    return url


def write(url: str, how: str, tuples: list[tuple[object, ...]], rows: list[bytes]) -> float:
    """Backend CPU seconds of writing the rows one way, committed."""
    columns = ", ".join(COPY_COLUMNS)
    with psycopg.connect(url) as conn:
        pid = conn.info.backend_pid
        began = cpu_of(pid)
        with conn.cursor() as cursor:
            if how == "insert":
                sql = (
                    f"INSERT INTO entries ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (leaf_hash) DO NOTHING"
                )
                for at in range(0, len(tuples), CHUNK):
                    cursor.executemany(sql, tuples[at : at + CHUNK])
            else:
                table = "copied" if how == "unindexed" else "entries"
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(COPY_HEADER)
                    for chunk in rows:
                        copy.write(chunk)
                    copy.write(COPY_TRAILER)
        conn.commit()
        return cpu_of(pid) - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    lines = [line.encode() for line in ndjson_lines(2 * args.records, seed=11)]
    python = python_parts(lines[: min(len(lines), 100_000)])
    halves = []
    for half in (lines[: args.records], lines[args.records :]):
        entries = [parse_json(line) for line in half]
        halves.append(
            (
                [tuple(e) for e in entries],
                [copy_rows(entries[i : i + CHUNK]) for i in range(0, len(entries), CHUNK)],
            )
        )
    ways: dict[str, tuple[str, tuple[str, ...]]] = {
        "INSERT ... ON CONFLICT, executemany (baseline)": ("insert", ()),
        "COPY into entries (this commit)": ("copy", ()),
        **{
            f"COPY into entries without {index}": ("copy", (f"DROP INDEX {index}",))
            for index in INDEXES
        },
        'COPY into entries, text columns COLLATE "C"': ("copy", (COLLATE_C,)),
        "COPY into an unindexed table (limit)": ("unindexed", ()),
    }
    server: dict[str, list[float]] = {name: [] for name in ways}
    for number in range(args.rounds):
        order = list(ways.items())
        for name, (how, ddl) in order if number % 2 == 0 else order[::-1]:
            url = fresh(args.postgres_url, "ledger_parts", ddl)
            seconds = sum(write(url, how, tuples, rows) for tuples, rows in halves)
            server[name].append(seconds / (2 * args.records) * 1e6)
            print(f"round {number + 1}: {name}: {server[name][-1]:.1f} us", file=sys.stderr)
    with psycopg.connect(args.postgres_url, autocommit=True) as admin:
        admin.execute('DROP DATABASE IF EXISTS "ledger_parts" WITH (FORCE)')

    medians = {name: statistics.median(values) for name, values in server.items()}
    if args.json:
        args.json.write_text(json.dumps({"python": python, "server": server}, indent=2) + "\n")
    load = os.getloadavg()
    print(f"| Python step, one process (CPU per record; load {load[0]:.1f}) | us |")
    print("|---|---:|")
    for name, value in python.items():
        print(f"| {name} | {value:.1f} |")
    print()
    print(
        f"| PostgreSQL backend CPU per row, {2 * args.records:,} rows,"
        f" median of {args.rounds} | us | x COPY |"
    )
    print("|---|---:|---:|")
    copy = medians["COPY into entries (this commit)"]
    for name, value in medians.items():
        print(f"| {name} | {value:.1f} | {value / copy:.2f} |")


if __name__ == "__main__":
    main()
