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

Cold = a first request: neither the postings block cache (`PostingsBlocks`) nor the
store's full tile cache holds anything of the key (both cleared before each run);
SQLite's pages may still be in the OS cache. Warm = both caches hold the key's data.

This benchmark found that `Store.read_tiles` asked SQLite for every tile in one query,
which SQLite refuses past 1,000 terms: fixed in the store (`TILES_PER_QUERY`).
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
        begun, first = time.perf_counter(), state.tree_size
        with Progress(*columns, transient=False) as progress, Pool(workers) as pool:
            stored = progress.add_task("stored", total=entries, completed=have, note="")
            sealed = progress.add_task(
                "sealed+indexed", total=entries, completed=state.tree_size, note=""
            )
            # One seal's chunks made ahead while the last ones are stored and sealed
            # (imap alone runs arbitrarily far ahead and holds it all in memory).
            group = MAX_BATCH // CHUNK
            ahead = pool.map_async(make_chunk, jobs[:group])
            for at in range(0, len(jobs), group):
                batches = ahead.get()
                ahead = pool.map_async(make_chunk, jobs[at + group : at + 2 * group])
                for batch in batches:
                    store.add_entries([batch])
                    have += len(batch)
                    progress.update(stored, completed=have)
                    if have - state.tree_size < MAX_BATCH and have != entries:
                        continue
                    state = seal(store)
                    record_anchor(anchors, state.tree_size, state.root)
                    rate = (state.tree_size - first) / max(time.perf_counter() - begun, 1e-9)
                    progress.update(
                        sealed,
                        completed=state.tree_size,
                        note=f"load {os.getloadavg()[0]:.1f}; {rate:,.0f}/s this run",
                    )
            ahead.get()
        print(
            f"built {have:,} entries in {time.perf_counter() - begun:.0f} s"
            f" (load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})",
            file=sys.stderr,
        )
    finally:
        store.close()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def compact(doc: dict[str, Any]) -> str:
    """The document as the API sends it (compact JSON)."""
    return json.dumps(doc, separators=(",", ":"))


def index_part_bytes(doc: dict[str, Any]) -> int:
    """Bytes of the index part of a document: the index root, count, postings root,
    map proof and postings proof (what says there are no other entries)."""
    part = {k: doc[k] for k in ("index_root", "count", "postings_root", "map_proof")}
    part["postings_proof"] = doc.get("postings_proof")
    return len(compact(part).encode())


def timed(samples: int, call: Any) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(samples):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times, result


def measure(db: Path, entries: int, samples: int, absent: int) -> int:
    """Time evidence for acct-thousand and absence proofs; print a Markdown table."""
    from sqlalchemy import text

    from ledger.core.index import check_indices, verify_postings
    from ledger.formats.completeness import parse_completeness
    from ledger.service.completeness import PostingsBlocks, Window, build_completeness
    from ledger.verify.completeness import verify_completeness

    store = Store.open(f"sqlite:///{db}")
    anchors = AnchorRepository(store)
    rows: list[tuple[str, str]] = []
    try:
        anchored = anchors.latest_confirmed()
        if anchored is None:
            print("no confirmed anchor: build the log first", file=sys.stderr)
            return 1
        size = anchored.tree_size
        with store.read() as conn:
            keys = conn.execute(text("SELECT count(*) FROM index_keys")).scalar_one()
        mb = db.stat().st_size / 1e6
        print(
            f"log {db}: {size:,} entries anchored and sealed with the index (asked for"
            f" {entries:,}), {keys:,} keys in the map, {mb:,.0f} MB",
            file=sys.stderr,
        )
        whole = Window()
        middle = Window(from_size=size * 45 // 100, to_size=size * 55 // 100)

        def one(window: Window, blocks: PostingsBlocks | None) -> dict[str, Any]:
            if blocks is None:  # a first request: no full tile cached either
                store.shared_tiles.clear()
            return build_completeness(store, anchors, KEY, size, window, blocks=blocks)

        documents: dict[str, dict[str, Any]] = {}
        for name, window in (("whole log", whole), ("middle tenth", middle)):
            cold, doc = timed(samples, lambda w=window: one(w, None))
            warm_cache = PostingsBlocks()
            one(window, warm_cache)
            warm, warm_doc = timed(samples, lambda w=window, c=warm_cache: one(w, c))
            assert warm_doc == doc
            documents[name] = doc
            given = len(doc["entries"])
            rows.append(
                (
                    f"build `{KEY}` evidence, {name} ({given:,} of {doc['count']:,} entries)",
                    (
                        f"{median_ms(cold):,.1f} ms cold (no postings blocks, no full tiles"
                        f" cached; min {min(cold) * 1000:,.1f}); {median_ms(warm):,.1f} ms"
                        " warm (both caches hold the key's)"
                    ),
                )
            )
        for name, doc in documents.items():
            body = compact(doc)
            parsed = parse_completeness(body)

            def index_only(claim: Any = parsed.claim) -> None:
                check_indices(claim)
                verify_postings(claim)

            full, result = timed(samples, lambda b=body: verify_completeness(b, None))
            assert result.valid and result.complete is not None
            index_t, _ = timed(samples, index_only)
            parse_t, _ = timed(samples, lambda b=body: parse_completeness(b))
            rows.append(
                (
                    f"verify offline, {name}",
                    (
                        f"{median_ms(full):,.1f} ms whole (`verify_completeness(json, None)`);"
                        f" of which parsing {median_ms(parse_t):,.1f} ms; index proofs alone"
                        f" {median_ms(index_t):,.2f} ms"
                    ),
                )
            )
            rows.append(
                (
                    f"document size, {name}",
                    (
                        f"{len(body.encode()):,} B"
                        f" ({len(body.encode()) / max(1, len(doc['entries'])):,.0f}"
                        f" B per entry); index part {index_part_bytes(doc):,} B; map proof"
                        f" {doc['map_proof']['depth']} levels"
                    ),
                )
            )
        rng = random.Random(SEED)
        sizes, builds, verifies, depths = [], [], [], []
        for n in range(absent):
            key = f"account:absent-{rng.getrandbits(48):012x}"
            start = time.perf_counter()
            doc = build_completeness(store, anchors, key, size, whole, blocks=None)
            built = time.perf_counter()
            body = compact(doc)
            result = verify_completeness(body, None)
            builds.append(built - start)
            verifies.append(time.perf_counter() - built)
            assert result.valid and doc["count"] == 0, key
            sizes.append(len(body.encode()))
            depths.append(doc["map_proof"]["depth"])
        sizes.sort()
        p99 = sizes[min(len(sizes) - 1, (len(sizes) * 99) // 100)]
        over = sum(s > 2048 for s in sizes)
        rows.append(
            (
                f"absence proof, {absent:,} random absent keys (`account:absent-` + 12 hex)",
                (
                    f"median {statistics.median(sizes):,.0f} B, p99 {p99:,} B, max {sizes[-1]:,} B;"
                    f" {over} over 2,048 B; map path {statistics.mean(depths):.1f} levels on"
                    f" average (max {max(depths)}); build {median_ms(builds):.1f} ms, verify"
                    f" {median_ms(verifies):.2f} ms (medians)"
                ),
            )
        )
    finally:
        store.close()
    print(
        f"\n## Completeness in a log of {size:,} entries ({keys:,} keys), medians of"
        f" {samples}\n\n| measure | figure |\n|---|---|"
    )
    for what, figure in rows:
        print(f"| {what} | {figure} |")
    print(f"\nload average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


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
