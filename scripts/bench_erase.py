#!/usr/bin/env python3
"""Benchmark erasure (docs/privacy.md): erasing 100,000 entries on SQLite and on
PostgreSQL, and `mledger audit` of an export with 10% of its entries erased against the
same log's export before the erasure, in one run.

1. Erase: a log of --entries interactions over 28 days, in time order as a log fills,
   is stored and sealed (with its index); then --repeat erasures `erase(store,
   "before", ...)`, each of the entries of the next 9 days (about --entries * 9 / 28,
   100,000 for the default: what a retention run erases), are timed: choosing,
   logging, destroying and moving the index postings, then the scrub (SQLite: WAL
   checkpoint with secure_delete; PostgreSQL: VACUUM). Median wall time reported per
   database, with this process's CPU time (all of SQLite's work, the client's share on
   PostgreSQL) and the load average: on a shared machine the wall time is inflated.
2. Audit: a SQLite log of --audit-entries on a fresh Anvil, anchored, and `mledger
   export` of it; then every 10th entry is erased (`mledger erase --leaf` in batches
   through the service function), sealed and anchored, and exported again. The two
   exports are audited (`mledger audit --json`) --repeat times each, alternating; the
   one before the erasure against a second Anvil started from the chain's state as it
   was before (so its anchors end with that export). Medians side by side, and ratio.

3. With --against DIR (a checkout of another version, e.g. main's), erasure side by side:
   one log of --entries is filled by each tree's code (SQLite, then PostgreSQL: each
   tree's own schema), then --repeat times each, alternating, a fresh copy of its log
   has its oldest 9 days erased by this tree's code and by DIR's (each in a subprocess
   with its own PYTHONPATH, timed inside it); medians and their ratio.

    .venv/bin/python scripts/bench_erase.py                 # 311,112 entries; 200,000 audited
    .venv/bin/python scripts/bench_erase.py --entries 31112 --audit-entries 20000 --repeat 1
    .venv/bin/python scripts/bench_erase.py --skip erase --skip audit --against /work/main
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_audit import build_log, ledger, timed

from ledger.chain.anvil import Anvil, free_port
from ledger.core.records import Entry, parse_object
from ledger.service.erasure import erase
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.workload import interaction

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _in_time_order(job: tuple[int, int, int]) -> list[Entry]:
    """Interactions start..start+count of a log of `total` spread over 28 days in order."""
    start, count, total = job
    out = []
    for i in range(start, start + count):
        second = i * 28 * 86_400 // total
        ts = (
            f"2026-06-{1 + second // 86_400:02d}T{second % 86_400 // 3600:02d}"
            f":{second % 3600 // 60:02d}:{second % 60:02d}.000Z"
        )
        out.append(parse_object(interaction(i, seed=5, ts=ts)))
    return out


def fill(store: Store, entries: int) -> float:
    """Store and seal `entries` records in time order; seconds taken."""
    started = time.perf_counter()
    chunk = 10_000
    jobs = [(i, min(chunk, entries - i), entries) for i in range(0, entries, chunk)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        store.add_entries(pool.imap(_in_time_order, jobs))
    seal(store)
    return time.perf_counter() - started


def erase_runs(url: str, entries: int, repeat: int) -> dict[str, Any]:
    """Fill a log at `url`, then time `repeat` erasures of 9 days of entries each."""
    store = Store.open(url)
    try:
        fill_s = fill(store, entries)
        runs = []
        for number in range(repeat):
            before = f"2026-06-{1 + 9 * (number + 1):02d}T00:00:00.000Z"
            started, cpu = time.perf_counter(), time.process_time()
            done = erase(store, "before", f"bench run {number}", before=before)
            cpu = time.process_time() - cpu
            runs.append((time.perf_counter() - started, done.count, done.scrubbed, cpu))
            seal(store)
        return {
            "fill_s": round(fill_s, 1),
            "erased": [run[1] for run in runs],
            "seconds": [round(run[0], 3) for run in runs],
            "median_s": round(statistics.median(run[0] for run in runs), 3),
            "client_cpu_s": [round(run[3], 3) for run in runs],
            "scrub": runs[0][2],
            "load_average": os.getloadavg()[0],
        }
    finally:
        store.close()


def audit_times(export: Path, identity: Path, rpc: str, repeat: int) -> tuple[list[float], Any]:
    """Wall seconds of `repeat` `mledger audit --json` runs, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        args = [sys.executable, "-m", "ledger", "audit", str(export), "--log", str(identity)]
        started = time.perf_counter()
        done = subprocess.run(
            [*args, "--rpc-url", rpc, "--json"], capture_output=True, text=True, check=False
        )
        seconds.append(time.perf_counter() - started)
        result = json.loads(done.stdout)
        if not result["passed"]:
            raise SystemExit(f"audit of {export} failed: {result['failure']}")
    return seconds, result


def audit_once(export: Path, identity: Path, rpc: str) -> tuple[float, Any]:
    """Wall seconds of one `mledger audit --json` run, and its result."""
    seconds, result = audit_times(export, identity, rpc, 1)
    return seconds[0], result


def audit_side_by_side(work: Path, entries: int, repeat: int) -> dict[str, Any]:
    """Audit the log's export before and after 10% of it is erased, alternating (before,
    after, after, before, ...). The export before is audited against a second Anvil
    started from the chain's state as it was then (its anchors end where that export
    does), the one after against the live chain."""
    state = work / "anvil-state.json"
    anvil = Anvil(free_port(), state, work / "anvil.log").start()
    try:
        build_log(work, entries, 2, anvil.url)
    finally:
        anvil.stop()
    frozen_state = work / "frozen" / "anvil-state.json"
    frozen_state.parent.mkdir()
    exited = anvil.exit_state_file
    shutil.copy(exited if exited is not None and exited.exists() else state, frozen_state)
    anvil = Anvil(free_port(), state, work / "anvil.log").start()
    frozen = Anvil(free_port(), frozen_state, work / "frozen" / "anvil.log").start()
    try:
        where = ["--data-dir", str(work / "data")]
        identity = work / "log.json"
        ledger("identity", "--out", str(identity), *where)
        plain, erased = work / "plain.ndjson", work / "erased.ndjson"
        timed([sys.executable, "-m", "ledger", "export", "--out", str(plain), *where])
        store = Store.open(f"sqlite:///{work / 'data' / 'ledger.db'}")
        try:
            with store.read() as conn:
                leaves = [
                    bytes(row[0])
                    for row in conn.exec_driver_sql(
                        "SELECT leaf_hash FROM entries WHERE seq % 10 = 1 ORDER BY seq"
                    )
                ]
            started = time.perf_counter()
            count = 0
            for i in range(0, len(leaves), 10_000):
                count += erase(store, "leaves", "bench", leaves=leaves[i : i + 10_000]).count
            erase_s = time.perf_counter() - started
        finally:
            store.close()
        ledger("seal", *where)
        ledger("anchor", "--rpc-url", anvil.url, *where)
        timed([sys.executable, "-m", "ledger", "export", "--out", str(erased), *where])
        plain_s: list[float] = []
        erased_s: list[float] = []
        for number in range(repeat):
            sides = [(plain, frozen.url, plain_s), (erased, anvil.url, erased_s)]
            for export, rpc, seconds in sides if number % 2 == 0 else sides[::-1]:
                took, result = audit_once(export, identity, rpc)
                seconds.append(took)
                if export == plain:
                    plain_result = result
                else:
                    erased_result = result
    finally:
        frozen.stop()
        anvil.stop()
    return {
        "entries": plain_result["entries"],
        "erased_entries": erased_result["erased_entries"],
        "erased_in_s": round(erase_s, 2),
        "export_bytes": [plain_result["export_bytes"], erased_result["export_bytes"]],
        "none_erased_s": [round(s, 2) for s in plain_s],
        "ten_percent_erased_s": [round(s, 2) for s in erased_s],
        "none_erased_median_s": round(statistics.median(plain_s), 2),
        "ten_percent_erased_median_s": round(statistics.median(erased_s), 2),
        "ratio": round(statistics.median(erased_s) / statistics.median(plain_s), 2),
        "load": os.getloadavg()[0],
        "erased_count": count,
    }


ONE_ERASURE = """
import json, os, sys, time
from ledger.service.erasure import erase
from ledger.store.repository import Store
store = Store.open(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
done = erase(store, "before", "bench", before="2026-06-10T00:00:00.000Z")
print(json.dumps([time.perf_counter() - started, time.process_time() - cpu, done.count]))
store.close()
"""
"""One erasure by time of the log at URL argv[1], run with either tree's code."""

ONE_FILL = """
import sys
sys.path.insert(0, "scripts")
from bench_erase import fill
from ledger.store.repository import Store
store = Store.open(sys.argv[1])
fill(store, int(sys.argv[2]))
store.close()
"""
"""Fill the log at URL argv[1] with argv[2] entries, run with either tree's code (its
scripts/bench_erase.py's `fill`)."""


def side_by_side(
    work: Path, entries: int, repeat: int, against: Path, postgres: bool
) -> dict[str, Any]:
    """Median seconds of erasing the oldest 9 days of a copy of one log (SQLite: a copy of
    its files; PostgreSQL: a database made from it as a template), this tree's code and
    `against`'s alternating, and their ratio."""
    import shutil

    server = POSTGRES.rsplit("/", 1)[0]
    name = f"bench_erase_side_{secrets.token_hex(4)}"
    trees = {"this": ROOT, "against": against}
    # One log per tree, filled by that tree's code: each erases a log in its own schema
    # (a newer migration's database is one an older tree's code cannot open).
    for tree_name, tree in trees.items():
        base = work / f"base-{tree_name}.db"
        if postgres:
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}_{tree_name}"')
        url = f"{server}/{name}_{tree_name}" if postgres else f"sqlite:///{base}"
        subprocess.run(
            [sys.executable, "-c", ONE_FILL, url, str(entries)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(tree)},
            cwd=tree,
        )
    runs: dict[str, list[tuple[float, float, int]]] = {"this": [], "against": []}
    try:
        for number in range(repeat):
            order = ["this", "against"] if number % 2 == 0 else ["against", "this"]
            for tree_name in order:
                copy = work / f"copy-{tree_name}-{number}.db"
                copy_name = f"{name}_{tree_name}_{number}"
                base = work / f"base-{tree_name}.db"
                if postgres:
                    with psycopg.connect(POSTGRES, autocommit=True) as admin:
                        admin.execute(
                            f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}_{tree_name}"'
                        )
                        # The copy is written through the WAL (PostgreSQL 15's
                        # WAL_LOG strategy: the whole log, 283 MB for 311,112 entries):
                        # flushed now, not by a checkpoint that WAL would start inside
                        # the timed erasure.
                        admin.execute("CHECKPOINT")
                else:
                    for suffix in ("", "-wal", "-shm"):
                        if Path(f"{base}{suffix}").exists():
                            shutil.copy(f"{base}{suffix}", f"{copy}{suffix}")
                tree = trees[tree_name]
                url = f"{server}/{copy_name}" if postgres else f"sqlite:///{copy}"
                done = subprocess.run(
                    [sys.executable, "-c", ONE_ERASURE, url],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "PYTHONPATH": str(tree)},
                    cwd=tree,
                )
                seconds, cpu, count = json.loads(done.stdout.splitlines()[-1])
                runs[tree_name].append((seconds, cpu, count))
                if postgres:
                    with psycopg.connect(POSTGRES, autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
    finally:
        if postgres:
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                for tree_name in trees:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}_{tree_name}" WITH (FORCE)')
    medians = {key: statistics.median(run[0] for run in found) for key, found in runs.items()}
    return {
        "against": str(against),
        "erased": runs["this"][0][2],
        "this_s": [round(run[0], 3) for run in runs["this"]],
        "against_s": [round(run[0], 3) for run in runs["against"]],
        "this_cpu_s": [round(run[1], 3) for run in runs["this"]],
        "against_cpu_s": [round(run[1], 3) for run in runs["against"]],
        "this_median_s": round(medians["this"], 3),
        "against_median_s": round(medians["against"], 3),
        "ratio": round(medians["this"] / medians["against"], 3),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=311_112)
    parser.add_argument("--audit-entries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", choices=["erase", "audit"], action="append", default=[])
    parser.add_argument(
        "--against", type=Path, help="Another checkout: erase side by side with its code."
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-erase-") as tmp:
        work = Path(tmp)
        if "erase" not in args.skip:
            results["sqlite"] = erase_runs(
                f"sqlite:///{work / 'erase.db'}", args.entries, args.repeat
            )
            print("sqlite:", results["sqlite"], file=sys.stderr)
            name = f"bench_erase_{secrets.token_hex(4)}"
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            try:
                results["postgresql"] = erase_runs(
                    POSTGRES.rsplit("/", 1)[0] + "/" + name, args.entries, args.repeat
                )
            finally:
                with psycopg.connect(POSTGRES, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print("postgresql:", results["postgresql"], file=sys.stderr)
        if args.against is not None:
            (work / "side").mkdir()
            for database in ("sqlite", "postgresql"):
                results[f"side_by_side_{database}"] = found = side_by_side(
                    work / "side",
                    args.entries,
                    args.repeat,
                    args.against.resolve(),
                    database == "postgresql",
                )
                print(f"side by side, {database}:", found, file=sys.stderr)
        if "audit" not in args.skip:
            (work / "audit").mkdir()
            results["audit"] = audit_side_by_side(work / "audit", args.audit_entries, args.repeat)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
