#!/usr/bin/env python3
"""Benchmark what filing the log's statement records under ``statement:log`` costs the
seal (docs/completeness.md, "The statement key"), on a real SQLite log of digest
records (the kind whose bytes the seal now reads), in one run, alternating:

- reading a seal's pending rows (`IndexStore.entries_keyed`): with the record bytes of
  the digest rows the statements table names (now) against without them (the SELECT
  before this change);
- grouping them by key (`group_entry_keys`): with the bytes, each digest record's salt
  checked against its sha256 (now), against rows without bytes (no digest work, before).

N digest records with random salts and one in a thousand a statement record (with a
row in the statements table, as the service logs them). Medians
of --repeat runs, wall clock, one thread.

    .venv/bin/python scripts/bench_statement_key.py                 # 100,000 records
    .venv/bin/python scripts/bench_statement_key.py --records 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core.index import group_entry_keys
from ledger.core.records import parse_object
from ledger.core.statements import statement_salt
from ledger.store.erasure import ErasureStore
from ledger.store.index import IndexStore
from ledger.store.repository import Store

OLD_SELECT = (
    "SELECT seq, leaf_hash, kind, external_id, account_id, model, NULL FROM entries"
    " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
)
"""The seal's read before the statement key (no record bytes; a NULL in their place)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        store = Store.open(f"sqlite:///{Path(work) / 'log.db'}")
        entries = []
        for i in range(args.records):
            sha256 = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
            salt = statement_salt(sha256) if i % 1000 == 0 else f"{i:032x}"
            record = {"v": 1, "kind": "digest", "ts": "2026-06-01T00:00:00.000Z", "salt": salt}
            entries.append(parse_object(record | {"body": {"sha256": sha256}}))
        store.add_entries([entries])
        with store.transaction() as conn:  # the statements, as the service keeps them
            for entry in entries[::1000]:
                ErasureStore(store).add_statement(conn, entry.leaf_hash, "hold", entry.ts, b"{}")
        index = IndexStore(store)
        times: dict[str, list[float]] = {name: [] for name in ("read", "old read")}
        times |= {"group": [], "old group": []}
        for _ in range(args.repeat):  # alternating
            with store.read() as conn:
                start = time.perf_counter()
                rows = index.entries_keyed(conn, 0, 10**12, 10**12)
                times["read"].append(time.perf_counter() - start)
                start = time.perf_counter()
                old = conn.exec_driver_sql(OLD_SELECT, (0, 10**12, 10**12)).cursor.fetchall()
                times["old read"].append(time.perf_counter() - start)
            start = time.perf_counter()
            grouped = group_entry_keys(rows, (2, 3, 4, 5, 6))
            times["group"].append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = group_entry_keys(old, (2, 3, 4, 5, 6))
            times["old group"].append(time.perf_counter() - start)
        assert len(grouped["statement:log"]) == (args.records + 999) // 1000 and plain == {}
        ms = {name: statistics.median(found) * 1000 for name, found in times.items()}
        per = 1e6 / args.records / 1000
        for name in ("read", "group"):
            now, before = ms[name], ms[f"old {name}"]
            print(
                f"{name} of {args.records:,} digest records: {now:.1f} ms now vs {before:.1f} ms"
                f" before ({now / before:.2f}x; +{(now - before) * per:.2f} us/record)"
            )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
