#!/usr/bin/env python3
"""Benchmark windowed completeness proofs (`mledger evidence --key K --from-size A
--to-size B`, `GET /v1/index/{kind}/{value}?from_size=A&to_size=B`) of a key with many
postings, on a real SQLite log built and sealed with the index in this run.

The log holds N interaction records; every one of them is of account `acct-big`, so the
key `account:acct-big` has N postings. The anchor of size N is recorded as confirmed
straight in the store (a made-up transaction: the chain is not what is measured; the
documents are checked offline by ledger.verify.completeness, whose index checks are the
same). Then, side by side in one run, windows of 1,000 leaf indices at random places:

- the full path (`build_completeness(..., blocks=None)`): every posting of the key read
  from the entries table and hashed, as before the postings block cache;
- the block cache (`ledger.service.completeness.POSTINGS_BLOCKS`): the first proof of
  the key in a process reads and hashes every posting once (cold), later ones read the
  window's blocks and fold cached block roots (warm).

- a fresh process (a restarted service: `--fresh`), one window each, alternating:
  before, without the stored blocks (`PostingsBlocks(stored=False)`: the cache's first
  proof, every posting read and hashed), and after, from the blocks the seal stored
  (`index_blocks`: the blocks the window needs read, and one row per 256 postings).
  Timed inside the new process, from its first query (the store opened, the imports
  done) to the document; each process's document must be the full path's bytes.

Wall-clock medians (the proofs are I/O and CPU in one thread). Each document is
verified offline, and the documents of the two paths must be equal.

    .venv/bin/python scripts/bench_window_proofs.py                     # 100,000 postings
    .venv/bin/python scripts/bench_window_proofs.py --records 1000000   # 1M (a few minutes)
    .venv/bin/python scripts/bench_window_proofs.py --fresh --width 10  # + fresh processes
    .venv/bin/python scripts/bench_window_proofs.py --backfill --windows 0  # migration 0013

With --backfill: the blocks the seal stored are deleted and filled again as migration
0013 fills them for a log sealed before it (`ledger.store.index.backfill_blocks`), timed,
and checked equal to the seal's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.service.completeness import (
    POSTINGS_BLOCKS,
    PostingsBlocks,
    Window,
    build_completeness,
)
from ledger.service.ingest import read_ndjson
from ledger.service.sequencer import seal
from ledger.store.anchors import AnchorBlock, AnchorRepository, Deployment
from ledger.store.repository import Store
from ledger.verify.completeness import verify_completeness
from ledger.workload import interaction

KEY = "account:acct-big"
NOW = "2026-12-02T00:00:00.000Z"


def build_log(path: Path, records: int) -> tuple[Store, AnchorRepository, float]:
    ndjson = path.with_suffix(".ndjson")
    with ndjson.open("w") as out:
        for i in range(records):
            out.write(json.dumps(interaction(i, seed=7, account="acct-big")) + "\n")
    store = Store.open(f"sqlite:///{path}")
    start = time.perf_counter()
    assert store.add_entries(read_ndjson(ndjson)) == records
    ndjson.unlink()
    state = seal(store)
    built = time.perf_counter() - start
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "bench", b"\x01" * 20, 1, NOW)
    )
    confirm(anchors, state.tree_size, state.root)
    return store, anchors, built


def confirm(anchors: AnchorRepository, tree_size: int, root: bytes) -> None:
    """Record the anchor of `tree_size` as confirmed (a made-up transaction)."""
    pending = anchors.add_pending(tree_size, root, NOW)
    assert pending is not None
    tx = tree_size.to_bytes(32, "big")
    submitted = anchors.submit(pending, 0, tx, 0, NOW)
    anchors.confirm(submitted, AnchorBlock(tx, 7, b"\x22" * 32, 1_780_000_000, 50_000), NOW)


def digest(document: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()


def prove_once(url: str, start: int, end: int, stored: bool) -> None:
    """In a fresh process: one windowed proof, timed; prints seconds and its digest."""
    store = Store.open(url)
    try:
        anchors = AnchorRepository(store)
        blocks = PostingsBlocks(stored=stored)
        begin = time.perf_counter()
        document = build_completeness(store, anchors, KEY, window=Window(start, end), blocks=blocks)
        took = time.perf_counter() - begin
    finally:
        store.close()
    print(json.dumps({"seconds": took, "digest": digest(document), "stored": blocks.served_stored}))


def backfill(store: Store) -> None:
    """Time migration 0013's backfill of the log's blocks; the same rows as the seal's."""
    from sqlalchemy import text

    from ledger.store.index import backfill_blocks

    query = text("SELECT key_hash, block, last_leaf, root FROM index_blocks ORDER BY 1, 2")
    with store.engine.begin() as conn:
        sealed = conn.execute(query).all()
        conn.execute(text("DELETE FROM index_blocks"))
    with store.engine.begin() as conn:
        begin = time.perf_counter()
        count = backfill_blocks(conn)
        took = time.perf_counter() - begin
    with store.engine.begin() as conn:
        assert conn.execute(query).all() == sealed, "the backfill's blocks are not the seal's"
    print(f"backfill (migration 0013): {count:,} blocks in {took:.2f} s, equal to the seal's")


def fresh(path: Path, store: Store, anchors: AnchorRepository, windows: list[Window]) -> None:
    """Each window in two new processes, alternating which goes first: without the
    stored blocks (before) and with them (after)."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for i, window in enumerate(windows):
        expected = digest(build_completeness(store, anchors, KEY, window=window, blocks=None))
        for stored in (False, True) if i % 2 == 0 else (True, False):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--prove",
                    f"sqlite:///{path}",
                    str(window.from_size),
                    str(window.to_size),
                    "stored" if stored else "cache",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            out = json.loads(done.stdout)
            assert out["digest"] == expected, "a fresh process's document is not the full path's"
            assert out["stored"] == int(stored), out
            times[stored].append(out["seconds"])
    before, after = (statistics.median(times[s]) for s in (False, True))
    for name, stored in (("before (no stored blocks)", False), ("after (stored blocks)", True)):
        print(
            f"fresh process, {name}: median {statistics.median(times[stored]):.3f} s"
            f" (runs: {', '.join(f'{t:.3f}' for t in times[stored])})"
        )
    print(
        f"fresh process: after/before {after / before:.4f}x ({before / after:.0f}x faster);"
        " documents the full path's bytes"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--windows", type=int, default=5, help="windows per path")
    parser.add_argument("--width", type=int, default=1000, help="leaf indices per window")
    parser.add_argument("--fresh", action="store_true", help="also each window in fresh processes")
    parser.add_argument(
        "--backfill", action="store_true", help="also time migration 0013's backfill"
    )
    parser.add_argument(
        "--prove", nargs=4, metavar=("URL", "A", "B", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.prove is not None:
        url, a, b, which = args.prove
        prove_once(url, int(a), int(b), which == "stored")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-window-"))
    path = work / "log.db"
    store, anchors, built = build_log(path, args.records)
    try:
        print(
            f"## windowed completeness proofs of {KEY}: {args.records:,} postings in a log of"
            f" {args.records:,} (built and sealed with the index in {built:.1f} s)"
        )
        rng = random.Random(5)
        windows = []
        for _ in range(args.windows):
            start = rng.randrange(0, args.records - args.width)
            windows.append(Window(from_size=start, to_size=start + args.width))
        if args.backfill:
            backfill(store)
        if not windows:
            return 0
        if args.fresh:
            fresh(path, store, anchors, windows)
        full: list[float] = []
        cached: list[float] = []
        POSTINGS_BLOCKS.clear()
        POSTINGS_BLOCKS.stored = False  # the cache's path (the stored blocks: --fresh)
        start = time.perf_counter()
        cold_doc = build_completeness(store, anchors, KEY, window=windows[0])
        cold = time.perf_counter() - start
        for window in windows:
            begin = time.perf_counter()
            slow = build_completeness(store, anchors, KEY, window=window, blocks=None)
            middle = time.perf_counter()
            fast = build_completeness(store, anchors, KEY, window=window)
            end = time.perf_counter()
            full.append(middle - begin)
            cached.append(end - middle)
            assert slow == fast, "the two paths disagree"
            assert verify_completeness(json.dumps(fast), None).valid
        assert cold_doc == build_completeness(store, anchors, KEY, window=windows[0], blocks=None)
        size = len(json.dumps(cold_doc, separators=(",", ":")))
        print(
            f"full path (every posting read and hashed): median {statistics.median(full):.3f} s"
            f" (runs: {', '.join(f'{t:.3f}' for t in full)})"
        )
        print(f"block cache, first proof of the key in the process (cold): {cold:.3f} s")
        print(
            f"block cache, warm: median {statistics.median(cached):.3f} s"
            f" (runs: {', '.join(f'{t:.3f}' for t in cached)});"
            f" {statistics.median(full) / statistics.median(cached):.0f}x faster than the"
            f" full path; documents equal, each verified offline; {size:,} B each"
        )
    finally:
        store.close()
        path.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
