#!/usr/bin/env python3
"""Benchmark erasure proofs in completeness documents (docs/completeness.md, "Erased
entries are proven by the log"), on a real SQLite log built and sealed with its index in
this run.

The log holds N interactions of account `acct-big` (anchored, as in
scripts/bench_window_proofs.py). Every 5th entry is erased by one erasure
(`erase(store, "leaves", ...)`, N / 5 entries), which is sealed and anchored. Then, in
one run, side by side:

- the statement's commitments over the N / 5 erased entries: `leaves_digest` (the
  SHA-256 every statement has) against `leaves_root` (the Merkle root this change adds);
- a window of W leaf indices of the key (W / 5 of them erased): the document with each
  marker proven (`build_completeness`, the postings block cache warm as in a serving
  process), against the same document with the markers left unproven
  (`KeyClaims.prove_erasures` replaced by the identity: what the service gave before),
  alternating (the erasure's tree cached, `ERASURE_TREES`, as after a process's first
  document; that first document's time is given apart); build time, bytes of JSON, and
  offline verification time;
- the same proven document with each erasure's ``filed`` (its record's proof in
  ``statement:log``: a map path and a window proof) against without it (`KeyClaims._filed`
  giving None, and the verifier's `_check_filed` skipped: what both did before the
  statement key), alternating: build time, bytes, offline verification time.

Medians of --repeat runs, wall clock, one thread.

    .venv/bin/python scripts/bench_erasure_proofs.py                 # 100,000 entries
    .venv/bin/python scripts/bench_erasure_proofs.py --records 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_window_proofs import KEY, build_log, confirm

from ledger.formats.statement import leaves_digest, leaves_root
from ledger.service.completeness import (
    ERASURE_TREES,
    KeyClaims,
    PostingsBlocks,
    Window,
    build_completeness,
)
from ledger.service.erasure import erase
from ledger.service.sequencer import seal
from ledger.store.index import IndexStore
from ledger.verify import completeness as verifier
from ledger.verify.completeness import verify_completeness


def median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall milliseconds of `repeat` calls of `run`, and its last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        store, anchors, built = build_log(Path(work) / "log.db", args.records)
        print(f"log of {args.records:,} entries built and sealed in {built:.1f} s")
        with store.read() as conn:
            rows = conn.exec_driver_sql("SELECT seq, leaf_hash FROM entries ORDER BY seq")
            chosen = [(int(seq), bytes(leaf)) for seq, leaf in rows.fetchall()][::5]
            indices = IndexStore(store).leaves_of_seqs(conn, [seq for seq, _ in chosen])
        members = list(zip(indices, (leaf for _, leaf in chosen), strict=True))
        digest_ms, _ = median_ms(lambda: leaves_digest(leaf for _, leaf in members), args.repeat)
        root_ms, _ = median_ms(lambda: leaves_root(members), args.repeat)
        print(
            f"statement over {len(members):,} erased entries: leaves_sha256 {digest_ms:.1f} ms,"
            f" leaves_root {root_ms:.1f} ms ({root_ms / digest_ms:.1f}x)"
        )
        start = time.perf_counter()
        done = erase(store, "leaves", "bench", leaves=[leaf for _, leaf in chosen])
        erased_s = time.perf_counter() - start
        print(f"erase of {done.count:,} entries (with leaves_root): {erased_s:.2f} s")
        state = seal(store)
        confirm(anchors, state.tree_size, state.root)
        window = Window(from_size=args.records // 2, to_size=args.records // 2 + args.window)

        blocks = PostingsBlocks()

        def build() -> dict[str, Any]:
            return build_completeness(store, anchors, KEY, state.tree_size, window, blocks=blocks)

        prove = KeyClaims.prove_erasures

        def unproven() -> dict[str, Any]:
            KeyClaims.prove_erasures = lambda self, entries: entries  # type: ignore[method-assign]
            try:
                return build()
            finally:
                KeyClaims.prove_erasures = prove  # type: ignore[method-assign]

        build()  # the block cache read once (warm), as a serving process has it
        cold = []
        for _ in range(args.repeat):  # the erasure's tree read and hashed (first document)
            ERASURE_TREES.clear()
            cold.append(median_ms(build, 1)[0])
        times: dict[str, list[float]] = {"proven": [], "plain": []}
        for _ in range(args.repeat):  # alternating, so drift of the shared machine is shared
            times["proven"].append(median_ms(build, 1)[0])
            times["plain"].append(median_ms(unproven, 1)[0])
        proven, plain = build(), unproven()
        proven_ms, plain_ms = (statistics.median(times[k]) for k in ("proven", "plain"))
        assert "erasures" in proven and "erasures" not in plain
        sizes = [len(json.dumps(doc, separators=(",", ":"))) for doc in (proven, plain)]
        check_ms = [
            median_ms(lambda doc=doc: verify_completeness(json.dumps(doc), None), args.repeat)[0]
            for doc in (proven, plain)
        ]
        erased = sum("erased" in entry for entry in proven["entries"])
        filed_of = KeyClaims._filed
        check_filed = verifier._check_filed

        def unfiled() -> dict[str, Any]:
            KeyClaims._filed = lambda self, leaf_index: None  # type: ignore[assignment,method-assign,return-value]
            try:
                return build()
            finally:
                KeyClaims._filed = filed_of  # type: ignore[method-assign]

        def verify_unfiled(doc: dict[str, Any]) -> Any:
            verifier._check_filed = lambda *args: None
            try:
                return verify_completeness(json.dumps(doc), None)
            finally:
                verifier._check_filed = check_filed

        filed_times: dict[str, list[float]] = {"filed": [], "unfiled": []}
        check_times: dict[str, list[float]] = {"filed": [], "unfiled": []}
        without = unfiled()
        assert "filed" in proven["erasures"][0] and "filed" not in without["erasures"][0]
        for _ in range(args.repeat):  # alternating
            filed_times["filed"].append(median_ms(build, 1)[0])
            filed_times["unfiled"].append(median_ms(unfiled, 1)[0])
            check_times["filed"].append(
                median_ms(lambda: verify_completeness(json.dumps(proven), None), 1)[0]
            )
            check_times["unfiled"].append(median_ms(lambda: verify_unfiled(without), 1)[0])
        built_ms = {k: statistics.median(v) for k, v in filed_times.items()}
        at = proven["erasures"][0]["leaf_index"]

        def filed_alone() -> Any:
            checkpoint = store.checkpoint(state.tree_size)
            assert checkpoint is not None
            with store.read() as conn:
                claims = KeyClaims(
                    store, IndexStore(store), conn, state.tree_size, checkpoint.last_seq
                )
                return claims._filed(at)

        alone_ms, _ = median_ms(filed_alone, args.repeat)
        checked_ms = {k: statistics.median(v) for k, v in check_times.items()}
        filed_bytes = len(json.dumps(proven["erasures"][0]["filed"], separators=(",", ":")))
        without_size = len(json.dumps(without, separators=(",", ":")))
        print(
            f"window of {args.window:,} entries, {erased:,} erased by an erasure of"
            f" {done.count:,}: build {statistics.median(cold):.0f} ms proven with the erasure's"
            f" tree read and hashed (the first document of a process)"
        )
        print(
            f"window of {args.window:,} entries, {erased:,} erased by an erasure of"
            f" {done.count:,}: build {proven_ms:.0f} ms proven vs {plain_ms:.0f} ms unproven"
            f" ({proven_ms / plain_ms:.2f}x); {sizes[0]:,} vs {sizes[1]:,} bytes"
            f" (+{(sizes[0] - sizes[1]) / erased:.0f} bytes per erased entry); offline"
            f" verification {check_ms[0]:.0f} ms vs {check_ms[1]:.0f} ms"
            f" ({check_ms[0] / check_ms[1]:.2f}x)"
        )
        print(
            f"statement:log proof of the erasure's record (filed, {filed_bytes:,} bytes of"
            f" JSON): build {built_ms['filed']:.0f} ms with vs {built_ms['unfiled']:.0f} ms"
            f" without ({built_ms['filed'] / built_ms['unfiled']:.2f}x); {sizes[0]:,} vs"
            f" {without_size:,} bytes; offline verification {checked_ms['filed']:.1f} ms vs"
            f" {checked_ms['unfiled']:.1f} ms ({checked_ms['filed'] / checked_ms['unfiled']:.3f}x)"
        )
        print(f"the filed proof alone (its own transaction, statement:log read): {alone_ms:.2f} ms")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
