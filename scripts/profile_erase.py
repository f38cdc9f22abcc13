#!/usr/bin/env python3
"""Where an erasure of 100,000 entries spends its time, statement by statement
(docs/performance.md): the same erasure as scripts/bench_erase.py's side by side (the
oldest 9 of 28 days of a time-ordered log of --entries), on a fresh copy of a log, with
the wall time of each SQL statement the erasure runs, of choosing the entries (its own
cursor) and of the scrub.

The code timed is whichever `ledger` the interpreter imports: run it with PYTHONPATH set
to the tree to profile (this script adds no path of its own), e.g. this tree's and
main's, alternating, on logs each filled by its own code (--fill once per tree):

    PYTHONPATH=$PWD .venv/bin/python scripts/profile_erase.py --fill prof_this
    PYTHONPATH=/work/main .venv/bin/python scripts/profile_erase.py --fill prof_main
    PYTHONPATH=$PWD .venv/bin/python scripts/profile_erase.py prof_this
    PYTHONPATH=/work/main .venv/bin/python scripts/profile_erase.py prof_main

A database name is a PostgreSQL database on LEDGER_TEST_POSTGRES_URL's server; a path
ending in .db is a SQLite file (copied for each run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import Connection

import ledger.store.erasure as store_erasure
from ledger.service.erasure import erase
from ledger.store.repository import Store

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SERVER = POSTGRES.rsplit("/", 1)[0]


def fill(where: str, entries: int) -> None:
    """A new log of `entries` at `where`, stored and sealed in time order."""
    if not where.endswith(".db"):
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{where}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{where}"')
    store = Store.open(f"sqlite:///{where}" if where.endswith(".db") else f"{SERVER}/{where}")
    # Imported here, after `ledger` came from PYTHONPATH: bench_erase puts this tree
    # first on sys.path, which then no longer changes where `ledger`'s modules come from.
    import bench_erase  # the same log as its side by side

    try:
        bench_erase.fill(store, entries)
    finally:
        store.close()


def profile(where: str) -> None:
    """Erase the oldest 9 days of a fresh copy of the log at `where`; print the times."""
    times: list[tuple[float, str]] = []
    plain = Connection.exec_driver_sql

    def timed_sql(self: Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return plain(self, sql, *args, **kwargs)
        finally:
            times.append((time.perf_counter() - started, " ".join(sql.split())[:72]))

    def timed(name: str, method: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                times.append((time.perf_counter() - started, name))

        return run

    with tempfile.TemporaryDirectory() as tmp:
        if where.endswith(".db"):
            copy = Path(tmp) / "copy.db"
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{where}{suffix}").exists():
                    shutil.copy(f"{where}{suffix}", f"{copy}{suffix}")
            url = f"sqlite:///{copy}"
        else:
            copy_name = f"{where}_copy"
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{copy_name}" TEMPLATE "{where}"')
            url = f"{SERVER}/{copy_name}"
        store = Store.open(url)
        Connection.exec_driver_sql = timed_sql  # type: ignore[method-assign]
        erasures = store_erasure.ErasureStore
        select, scrub = erasures._select, erasures.scrub
        erasures._select = timed("choose the entries (own cursor)", select)  # type: ignore
        erasures.scrub = timed("scrub", scrub)  # type: ignore[method-assign]
        try:
            started, cpu = time.perf_counter(), time.process_time()
            done = erase(store, "before", "profile", before="2026-06-10T00:00:00.000Z")
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            Connection.exec_driver_sql = plain  # type: ignore[method-assign]
            erasures._select, erasures.scrub = select, scrub  # type: ignore[method-assign]
            store.close()
            if not where.endswith(".db"):
                with psycopg.connect(POSTGRES, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
    import ledger

    print(f"{ledger.__file__}: {done.count} erased, load {os.getloadavg()[0]:.2f}")
    for seconds, what in times:
        if seconds >= 0.01:
            print(f"  {seconds:7.3f} s  {what}")
    print(f"  {total:7.3f} s  in all ({cpu:.3f} s CPU of this process); {done.scrubbed}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("where", help="PostgreSQL database name, or SQLite file (.db)")
    parser.add_argument("--fill", action="store_true", help="make the log first")
    parser.add_argument("--entries", type=int, default=311_112)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.fill:
        fill(args.where, args.entries)
    for _ in range(args.repeat):
        profile(args.where)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
