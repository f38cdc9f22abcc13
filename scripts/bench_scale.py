#!/usr/bin/env python3
"""Scale benchmark: the size of a distillation campaign, end to end on PostgreSQL.

1. Generates --entries interaction records as NDJSON files of --file-records each
   (not timed; kept in --work-dir and reused by later runs).
2. Starts a local Anvil, deploys the contracts (`mledger deploy`) and runs
   `mledger serve --database-url PG --rpc-url ANVIL`, sealing every --seal-interval and
   anchoring every --anchor-interval seconds, as in production.
3. Timed, end to end: `mledger ingest` of every file (records validated, canonically
   encoded, hashed and stored), then waits until every entry is sealed and an anchor
   covering all of them is confirmed on chain.
4. HTTP ingest at that size: `mledger serve --workers 1` and `--workers 2`, 4 clients
   sending batches of 1,000 (bodies built before the clock starts).
5. Inclusion-proof latency at that size (in-process), and database bytes per entry.

Prints a Markdown table (the README's) and, with --json, writes the figures.

    .venv/bin/python scripts/bench_scale.py                         # 28,800,000 entries
    .venv/bin/python scripts/bench_scale.py --entries 2000000 --file-records 500000   # a quick look

With --compare COMMIT, only step 3, for a git worktree of COMMIT and for this checkout
in alternating order (--rounds), each on a new database; and, on the same rows, the
limits: PostgreSQL COPY into an unindexed table, and SHA-256 of the leaves. Prints
medians and ratios (docs/performance.md):

    .venv/bin/python scripts/bench_scale.py --entries 1000000 --file-records 100000 \\
        --compare 81d4abc --rounds 3

With --compare COMMIT --http-only, step 4 alone for both: the table filled with every
file and sealed (not timed), then HTTP batch ingest with 1 and 2 API workers:

    .venv/bin/python scripts/bench_scale.py --entries 200000 --file-records 100000 \\
        --work-dir /tmp/bench-scale-200k --compare 81d4abc --http-only --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx
import psycopg
from bench_log import proof_latency
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.keys import DEV_ANCHOR_KEY
from ledger.store.db import normalize_url
from ledger.store.repository import Store
from ledger.workload import interaction

ADMIN = "bench-scale-admin-key-0123456789"
CAMPAIGN = 28_800_000
ENV = {**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN, "LEDGER_ANCHOR_KEY": DEV_ANCHOR_KEY}


def write_file(job: tuple[Path, int, int]) -> Path:
    """Write records [start, start + count) of the stream to `path` (atomically)."""
    path, start, count = job
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        for i in range(start, start + count):
            out.write(json.dumps(interaction(i, seed=7)))
            out.write("\n")
    partial.rename(path)
    return path


def generate(work: Path, entries: int, per_file: int) -> list[Path]:
    """The NDJSON files of the run, generated in parallel where missing."""
    jobs = []
    for number, start in enumerate(range(0, entries, per_file)):
        count = min(per_file, entries - start)
        jobs.append((work / f"records-{start:010d}-{count}.ndjson", start, count))
    missing = [job for job in jobs if not job[0].exists()]
    if missing:
        print(
            f"generating {len(missing)} NDJSON files of up to"
            f" {per_file:,} records in {work} (not timed)...",
            file=sys.stderr,
        )
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
            for path in pool.imap_unordered(write_file, missing):
                print(f"  {path.name}", file=sys.stderr)
        print(f"  generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return [job[0] for job in jobs]


def tree_env(tree: Path) -> dict[str, str]:
    """The environment that runs `mledger` from the checkout `tree`."""
    return {**ENV, "PYTHONPATH": str(tree)}


def ledger(*args: str, tree: Path = ROOT) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        env=tree_env(tree),
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"ledger {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


class Serve:
    """`mledger serve` in the background."""

    def __init__(self, where: list[str], *extra: str, tree: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "serve", *where, "--port", str(self.port), *extra],
            env=tree_env(tree),
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise SystemExit(f"mledger serve did not start: {self.process.communicate()[1]}")
            time.sleep(0.1)

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(self.url + "/healthz", timeout=60).json())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)


def deploy_and_serve(
    rpc_url: str, where: list[str], args: argparse.Namespace, tree: Path = ROOT
) -> Serve:
    """Deploy the contracts on the chain at `rpc_url`, then `mledger serve` sealing and
    anchoring at the intervals of `args`."""
    ledger("deploy", *where, "--rpc-url", rpc_url, tree=tree)
    return Serve(
        where,
        "--rpc-url",
        rpc_url,
        "--seal-interval",
        str(args.seal_interval),
        "--anchor-interval",
        str(args.anchor_interval),
        tree=tree,
    )


def ingest_all(
    files: list[Path], where: list[str], total: int, tree: Path = ROOT
) -> list[tuple[int, float]]:
    """`mledger ingest` every file, with a progress bar over all records; (records,
    seconds) of each file."""
    times: list[tuple[int, float]] = []
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("ingest", total=total, rate="")
        done, started = 0, time.perf_counter()
        for path in files:
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "ledger", "ingest", str(path), *where],
                env=tree_env(tree),
                cwd=tree,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            count = int(path.stem.rsplit("-", 1)[1])
            times.append((count, time.perf_counter() - began))
            done += count
            progress.update(
                task,
                completed=done,
                rate=f"{done / (time.perf_counter() - started):,.0f} records/s",
            )
    return times


def wait_anchored(serve: Serve, total: int) -> dict[str, Any]:
    """Seal and anchor now, then wait until an anchor covers `total` entries."""
    headers = {"Authorization": f"Bearer {ADMIN}"}
    while True:
        health = serve.health()
        if health["pending"] == 0 and health["tree_size"] >= total:
            break
        time.sleep(0.5)
    while True:
        health = serve.health()
        if health["anchor"] and health["anchor"]["anchored_size"] >= total:
            return health
        httpx.post(serve.url + "/v1/admin/anchor", headers=headers, timeout=300)


def http_rate(
    where: list[str], workers: int, batches: int, seed: int, tree: Path = ROOT
) -> dict[str, float]:
    """Records/s of HTTP batch ingest with `workers` API processes (4 clients)."""
    bodies = [
        (
            '{"entries":['
            + ",".join(json.dumps(interaction(b * 1000 + i, seed=seed)) for i in range(1000))
            + "]}"
        ).encode()
        for b in range(batches)
    ]
    serve = Serve(where, "--workers", str(workers), "--seal-interval", "1", tree=tree)
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def client() -> None:
        with httpx.Client(
            base_url=serve.url,
            headers={"Authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
            timeout=300,
        ) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                began = time.perf_counter()
                response = http.post("/v1/entries/batch", content=body)
                if response.status_code != 202:
                    raise SystemExit(f"batch: {response.status_code} {response.text[:200]}")
                with lock:
                    latencies.append(time.perf_counter() - began)

    try:
        threads = [threading.Thread(target=client) for _ in range(4)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        serve.stop()
    latencies.sort()
    return {
        "workers": workers,
        "records_per_s": batches * 1000 / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1e3,
    }


def new_database(postgres_url: str, label: str) -> tuple[str, str]:
    """A fresh, empty database: its name and URL."""
    name = f"ledger_scale_{label}_{int(time.time() * 1000)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, postgres_url.rsplit("/", 1)[0] + "/" + name


def drop_database(postgres_url: str, name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def end_to_end(
    tree: Path, files: list[Path], total: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Step 3 with the code of checkout `tree`, on a new database (dropped after)."""
    name, url = new_database(args.postgres_url, "cmp")
    data = args.work_dir / f"data-{name}"
    where = ["--database-url", url, "--data-dir", str(data)]
    if args.http_only:  # the table filled and sealed (not timed), then step 4 alone
        try:
            ingest_all(files, where[:2], total, tree)
            ledger("seal", *where, tree=tree)
            load = os.getloadavg()[0]
            http = [
                http_rate(where, workers, args.http_batches, 100 + workers, tree)
                for workers in (1, 2)
            ]
            load = max(load, os.getloadavg()[0])
        finally:
            drop_database(args.postgres_url, name)
            shutil.rmtree(data, ignore_errors=True)
        return {"http": http, "load": load}
    if args.ingest_only:  # `mledger ingest` alone: no service, no sequencer
        try:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            times = ingest_all(files, where[:2], total, tree)
            elapsed = time.perf_counter() - started
            load = max(load, os.getloadavg()[0])
        finally:
            drop_database(args.postgres_url, name)
        return {
            "total_s": elapsed,
            "ingest_s": elapsed,
            "first_tenth": tenth_rate(times, total),
            "last_tenth": tenth_rate(times[::-1], total),
            "load": load,
        }
    try:
        with Anvil(0, None, args.work_dir / "anvil.log") as anvil:
            serve = deploy_and_serve(anvil.url, where, args, tree)
            try:
                load = os.getloadavg()[0]
                started = time.perf_counter()
                times = ingest_all(files, where[:2], total, tree)
                ingested = time.perf_counter() - started
                wait_anchored(serve, total)
                elapsed = time.perf_counter() - started
                load = max(load, os.getloadavg()[0])
            finally:
                serve.stop()
    finally:
        drop_database(args.postgres_url, name)
        shutil.rmtree(data, ignore_errors=True)
    return {
        "total_s": elapsed,
        "ingest_s": ingested,
        "first_tenth": tenth_rate(times, total),
        "last_tenth": tenth_rate(times[::-1], total),
        "load": load,
    }


def tenth_rate(times: list[tuple[int, float]], total: int) -> float:
    """Records/s over the first files holding at least a tenth of `total` records."""
    records, seconds = 0, 0.0
    for count, took in times:
        records, seconds = records + count, seconds + took
        if records * 10 >= total:
            break
    return records / seconds


def limits(files: list[Path], postgres_url: str) -> dict[str, float]:
    """The database's and the hash's own limits on the same rows: seconds to COPY them
    (one transaction per file) into an unindexed table of the entries' columns, and to
    SHA-256 their leaves (RFC 9162: 0x00 || canonical record) in one process. The rows
    are made before each clock starts."""
    from ledger.service.ingest import read_ndjson_rows
    from ledger.store.copyrows import COPY_COLUMNS, COPY_HEADER, COPY_TRAILER, read_rows

    name, url = new_database(postgres_url, "limit")
    copy_s = hash_s = 0.0
    try:
        with psycopg.connect(url) as conn:
            conn.execute(
                "CREATE TABLE copied (leaf_hash bytea NOT NULL, kind varchar(16) NOT NULL,"
                " ts varchar(24) NOT NULL, external_id varchar(256), account_id varchar(256),"
                " model varchar(256), record bytea NOT NULL)"
            )
            conn.commit()
            for path in files:
                chunks = [rows for rows, _ in read_ndjson_rows(path)]
                records = [entry[6] for rows in chunks for entry in read_rows(rows)]
                sha256 = hashlib.sha256
                began = time.perf_counter()
                for record in records:
                    sha256(b"\x00" + record).digest()
                hash_s += time.perf_counter() - began
                del records
                began = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(
                        f"COPY copied ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.write(COPY_HEADER)
                    for rows in chunks:
                        copy.write(rows)
                    copy.write(COPY_TRAILER)
                conn.commit()
                copy_s += time.perf_counter() - began
    finally:
        drop_database(postgres_url, name)
    return {"copy_s": copy_s, "hash_s": hash_s}


def compare(args: argparse.Namespace, files: list[Path]) -> None:
    """--compare: end to end at --entries with the baseline commit and with this
    checkout, alternating, against the COPY and SHA-256 limits; prints the table."""
    base = Path(tempfile.mkdtemp(prefix="bench-scale-base-")) / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base), args.compare],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    limit_runs: list[dict[str, float]] = []
    try:
        for number in range(args.rounds):
            order = [("base", base), ("head", ROOT)]
            for label, tree in order if number % 2 == 0 else order[::-1]:
                result = end_to_end(tree, files, args.entries, args)
                runs[label].append(result)
                print(f"round {number + 1} {label}: {result}", file=sys.stderr)
            if args.http_only:
                continue
            limit_runs.append(limits(files, args.postgres_url))
            print(f"round {number + 1} limits: {limit_runs[-1]}", file=sys.stderr)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    figures = {
        "entries": args.entries,
        "base": args.compare,
        "ingest_only": args.ingest_only,
        "runs": runs,
        "limits": limit_runs,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.http_only:
        print_http_compare(figures)
        return
    print_compare(figures)


def print_http_compare(f: dict[str, Any]) -> None:
    rounds = len(f["runs"]["head"])
    loads = [r["load"] for label in ("base", "head") for r in f["runs"][label]]
    print(
        f"| HTTP batches of 1,000 (4 clients) at {f['entries']:,} entries, PostgreSQL,"
        f" median of {rounds} (load average {min(loads):.1f} to {max(loads):.1f})"
        f" | baseline {f['base']} records/s | this commit records/s | x baseline rate |"
    )
    print("|---|---:|---:|---:|")
    for at, workers in enumerate((1, 2)):
        base, head = (
            statistics.median(r["http"][at]["records_per_s"] for r in f["runs"][label])
            for label in ("base", "head")
        )
        print(
            f"| {workers} API worker{'s' if workers > 1 else ''} | {base:,.0f} | {head:,.0f}"
            f" | {head / base:.2f}x |"
        )


def print_compare(f: dict[str, Any]) -> None:
    n = f["entries"]

    def med(label: str, key: str) -> float:
        return statistics.median(r[key] for r in f["runs"][label])

    copy_s = statistics.median(r["copy_s"] for r in f["limits"])
    hash_s = statistics.median(r["hash_s"] for r in f["limits"])
    base_s, head_s = med("base", "total_s"), med("head", "total_s")
    rounds = len(f["runs"]["head"])
    loads = [r["load"] for label in ("base", "head") for r in f["runs"][label]]
    print(
        f"| {n:,} entries, PostgreSQL, median of {rounds} (load average"
        f" {min(loads):.1f} to {max(loads):.1f}) | seconds | records/s | x baseline time"
        " | share of COPY limit |"
    )
    print("|---|---:|---:|---:|---:|")

    def row(name: str, seconds: float) -> None:
        print(
            f"| {name} | {seconds:.1f} | {n / seconds:,.0f} | {seconds / base_s:.2f}"
            f" | {copy_s / seconds:.1%} |"
        )

    if f.get("ingest_only"):
        row(f"baseline {f['base']}: `mledger ingest` of every file, alone", base_s)
        row("this commit: `mledger ingest` of every file, alone", head_s)
    else:
        row(f"baseline {f['base']}: end to end (ingest, seal, index, anchor)", base_s)
        row("this commit: end to end", head_s)
        row(
            f"baseline {f['base']}: `mledger ingest` of every file, the service sealing",
            med("base", "ingest_s"),
        )
        row(
            "this commit: `mledger ingest` of every file, the service sealing",
            med("head", "ingest_s"),
        )
    row("limit: PostgreSQL COPY of the same rows, unindexed table", copy_s)
    row("limit: SHA-256 of the same leaves, one process", hash_s)
    for label, name in (("base", f"baseline {f['base']}"), ("head", "this commit")):
        first, last = med(label, "first_tenth"), med(label, "last_tenth")
        print(
            f"| {name}: ingest rate, first 10% / last 10% of the files | | {first:,.0f}"
            f" / {last:,.0f} | | last = {last / first:.2f}x first |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=CAMPAIGN)
    parser.add_argument("--file-records", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench-scale"))
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--seal-interval", type=float, default=2.0)
    parser.add_argument("--anchor-interval", type=float, default=60.0)
    parser.add_argument(
        "--http-batches", type=int, default=100, help="batches of 1,000 per HTTP measurement"
    )
    parser.add_argument("--samples", type=int, default=1000, help="inclusion proofs timed")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (its URL is printed)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--generate-only", action="store_true", help="write the NDJSON files and stop"
    )
    parser.add_argument(
        "--compare",
        metavar="COMMIT",
        help="end to end only, this checkout against COMMIT (e.g. 81d4abc) and the limits",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --compare")
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="with --compare: time `mledger ingest` alone (no service sealing, indexing"
        " or anchoring meanwhile)",
    )
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="with --compare: fill and seal the table with every file (not timed), then"
        " time HTTP batch ingest alone with 1 and 2 API workers (step 4)",
    )
    args = parser.parse_args()

    args.work_dir.mkdir(parents=True, exist_ok=True)
    files = generate(args.work_dir, args.entries, args.file_records)
    if args.generate_only:
        return
    if args.compare:
        compare(args, files)
        return

    name = f"ledger_scale_{int(time.time())}"
    with psycopg.connect(args.postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.postgres_url.rsplit("/", 1)[0] + "/" + name
    data = args.work_dir / f"data-{name}"
    where = ["--database-url", url, "--data-dir", str(data)]
    figures: dict[str, Any] = {"entries": args.entries, "cores": os.cpu_count(), "database": name}
    try:
        with Anvil(0, None, args.work_dir / "anvil.log") as anvil:
            serve = deploy_and_serve(anvil.url, where, args)
            try:
                started = time.perf_counter()
                ingest_all(files, where[:2], args.entries)
                ingested = time.perf_counter() - started
                health = wait_anchored(serve, args.entries)
                total = time.perf_counter() - started
            finally:
                serve.stop()
            anchors = [json.loads(line) for line in ledger("anchors", *where).splitlines()]
        figures |= {
            "ingest_s": ingested,
            "total_s": total,
            "end_to_end_records_per_s": args.entries / total,
            "ingest_records_per_s": args.entries / ingested,
            "anchored_size": health["anchor"]["anchored_size"],
            "anchors": len([a for a in anchors if a["status"] == "confirmed"]),
            "gas_per_anchor_median": statistics.median(
                a["gas_used"] for a in anchors if a["gas_used"]
            ),
        }
        print(
            f"end to end: {total:.0f} s ({figures['end_to_end_records_per_s']:,.0f} records/s)",
            file=sys.stderr,
        )

        with psycopg.connect(url) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        figures["database_bytes"] = int(size[0]) if size else 0
        figures["bytes_per_entry"] = figures["database_bytes"] / args.entries

        store = Store.open(normalize_url(url))
        try:
            figures["proofs"] = proof_latency(store, args.samples)
        finally:
            store.close()

        figures["http"] = [
            http_rate(where, workers, args.http_batches, seed=100 + workers) for workers in (1, 2)
        ]
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept the database: {url}", file=sys.stderr)

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures)


def print_table(f: dict[str, Any]) -> None:
    p = f["proofs"]
    print(f"| measure ({f['cores']} cores, PostgreSQL, {f['entries']:,} entries) | value |")
    print("|---|---|")
    print(
        f"| end to end: ingest, seal, anchor confirmed | {f['total_s'] / 60:.1f}"
        f" min ({f['end_to_end_records_per_s']:,.0f} records/s) |"
    )
    print(
        f"| `mledger ingest` of every file | {f['ingest_s'] / 60:.1f}"
        f" min ({f['ingest_records_per_s']:,.0f} records/s) |"
    )
    print(
        f"| anchors confirmed during the run | {f['anchors']} (median"
        f" gas {f['gas_per_anchor_median']:,.0f}) |"
    )
    for h in f["http"]:
        print(
            f"| HTTP batches of 1,000, {h['workers']} API"
            f" worker{'s' if h['workers'] > 1 else ''} | {h['records_per_s']:,.0f}"
            f" records/s (p50 {h['p50_ms']:.0f} ms, p99 {h['p99_ms']:.0f} ms) |"
        )
    print(
        f"| inclusion proof at {p['size']:,} entries (in-process) | p50"
        f" {p['warm_p50_ms']:.2f} ms warm, {p['cold_p50_ms']:.2f} ms"
        f" cold; p99 {p['warm_p99_ms']:.2f} / {p['cold_p99_ms']:.2f} ms |"
    )
    print(
        f"| database size | {f['database_bytes'] / 2**30:.1f} GiB,"
        f" {f['bytes_per_entry']:,.0f} bytes per entry |"
    )


if __name__ == "__main__":
    main()
