"""Completeness evidence in a large log (issue 13's targets): build a SQLite log of
interaction records sealed with the verifiable index, then time the evidence for a key
with exactly 1,000 entries spread over the log and measure absence proofs.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_completeness_10m.py \
        [--entries 10000000] [--db /tmp/ledger-10m.db] [--samples 20] [--absent 1000]

The log: `--entries` interaction records (`ledger.workload.interaction`, seed 13); the
account of record i is `acct-thousand` for 1,000 indices evenly spread over the log
(i = k * entries // 1000 + entries // 2000), else one of `--accounts` others (default
50,000), so the map holds about accounts + 4 keys (each record also files a `model:`
key, of three models). Records are made and validated in `--workers` processes,
stored a chunk at a time and sealed with the index in seals of 262,144 entries
(`ledger.service.sequencer.seal`); after every seal a confirmed anchor of the new size
is recorded without a chain (AnchorRepository add_pending/submit/confirm, as the tests
do), so a build that is stopped can be resumed (run again with the same arguments) and
a partial log is still measurable (`--measure-now` measures what is sealed). A second
run on a database that holds `--entries` entries only measures.

Measures (medians of `--samples` runs; wall time of this process, `time.perf_counter`):
`build_completeness` of `account:acct-thousand` over the whole log and over a window
(the middle tenth of the log), with the postings block cache off (every run reads and
hashes all the key's postings, as a first request does) and on (warm); offline
verification of those documents with `verify_completeness(json, None)` and of their
index part alone (the map and postings proofs, `ledger.core.index` checks, without the
records and inclusion proofs); the documents' sizes; absence documents for `--absent`
random absent keys: size median, p99 and max, build and verify times. Prints a
Markdown table and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from ledger.core.records import Entry, parse_object
from ledger.service.sequencer import MAX_BATCH, seal
from ledger.store.anchors import AnchorBlock, AnchorRepository, Deployment
from ledger.store.repository import Store
from ledger.workload import interaction

KEY_ACCOUNT = "acct-thousand"
KEY = f"account:{KEY_ACCOUNT}"
THOUSAND = 1000
SEED = 13
CHUNK = 1 << 15  # entries per stored chunk: 8 chunks fill a seal of 2^18
NOW = "2026-12-02T00:00:00.000Z"


def thousand_indices(entries: int) -> set[int]:
    """The 1,000 leaf indices of `acct-thousand`, evenly spread over the log."""
    return {k * entries // THOUSAND + entries // (2 * THOUSAND) for k in range(THOUSAND)}


def make_chunk(job: tuple[int, int, int, int]) -> list[Entry]:
    """Validated entries of records [start, end) of a log of `entries` (a worker)."""
    start, end, entries, accounts = job
    special = thousand_indices(entries)
    out = []
    for i in range(start, end):
        account = KEY_ACCOUNT if i in special else f"acct-{(i * 2_654_435_761) % accounts}"
        out.append(parse_object(interaction(i, seed=SEED, account=account)))
    return out


def record_anchor(anchors: AnchorRepository, tree_size: int, root: bytes) -> None:
    """A confirmed anchor of `tree_size` without a chain (block time grows with size)."""
    previous = anchors.latest_confirmed()
    if previous is not None and previous.tree_size >= tree_size:
        return
    pending = anchors.add_pending(tree_size, root, NOW)
    if pending is None:
        return
    tx = tree_size.to_bytes(32, "big")
    prev_size = 0 if previous is None else previous.tree_size
    submitted = anchors.submit(pending, prev_size, tx, tree_size, NOW)
    block = AnchorBlock(tx, tree_size, b"\x22" * 32, 1_780_000_000 + tree_size // 1000, 1)
    anchors.confirm(submitted, block, NOW)


def build(db: Path, entries: int, accounts: int, workers: int) -> None:
    """Store, seal (with the index) and anchor records until the log holds `entries`."""
    from multiprocessing import Pool

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    store = Store.open(f"sqlite:///{db}")
    anchors = AnchorRepository(store)
    try:
        if anchors.deployment() is None:
            anchors.record_deployment(
                Deployment(31337, b"\x5f" * 20, bytes(range(32)), "bench", b"\x01" * 20, 1, NOW)
            )
        state = store.state()
        have = state.tree_size + store.pending_count()
        if state.tree_size:
            record_anchor(anchors, state.tree_size, state.root)
        if have >= entries and store.pending_count() == 0:
            return
        jobs = [
            (start, min(start + CHUNK, entries), entries, accounts)
            for start in range(have, entries, CHUNK)
        ]
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
        )
        begun = time.perf_counter()
        with Progress(*columns, transient=False) as progress, Pool(workers) as pool:
            stored = progress.add_task("stored", total=entries, completed=have, note="")
            sealed = progress.add_task(
                "sealed+indexed", total=entries, completed=state.tree_size, note=""
            )
            for batch in pool.imap(make_chunk, jobs):
                store.add_entries([batch])
                have += len(batch)
                progress.update(stored, completed=have)
                if have - state.tree_size >= MAX_BATCH or have == entries:
                    state = seal(store)
                    record_anchor(anchors, state.tree_size, state.root)
                    rate = (state.tree_size) / max(time.perf_counter() - begun, 1e-9)
                    progress.update(
                        sealed,
                        completed=state.tree_size,
                        note=f"load {os.getloadavg()[0]:.1f}; {rate:,.0f}/s this run",
                    )
        print(
            f"built {have:,} entries in {time.perf_counter() - begun:.0f} s"
            f" (load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})",
            file=sys.stderr,
        )
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/ledger-10m.db"))
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--absent", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--measure-now", action="store_true", help="measure what is sealed; build nothing"
    )
    args = parser.parse_args(argv)
    if args.entries < 2 * THOUSAND:
        parser.error("--entries must be at least 2000")
    if not args.measure_now:
        build(args.db, args.entries, args.accounts, args.workers)
    if args.build_only:
        return 0
    return measure(args.db, args.entries, args.samples, args.absent)


if __name__ == "__main__":
    sys.exit(main())
