#!/usr/bin/env python3
"""Benchmark the verifiable index's pure core (ledger.core.index): no database, no chain.

1. Update cost: a map of ~30,000 keys (accounts and models) takes batches of 10,000
   interaction records; per batch, the postings frontiers and the map are updated. Side
   by side: hashing the same batch for the log (leaf hashes of the canonical records and
   the batch's RFC 9162 subtree). Medians over the batches.
2. Proof sizes at maps of 1M and 10M keys: the shape of a key's path (its depth and which
   siblings are empty) is drawn exactly as in a map of that many uniformly random key
   hashes (a binomial split per level), checked against a real map of 100,000 keys; the
   bytes are those of the completeness/v1 JSON the writer produces, for an absent key
   (no entries) and for a key with 1,000 entries (index proofs alone, and the whole
   document with records and inclusion proofs in a log of 2^20 entries).
All times are CPU time of the benchmark process (time.process_time), medians.

3. Verify time of a 1,000-entry completeness document, offline: the index proofs alone
   (ledger.core.index.verify_postings) and the whole document
   (ledger.verify.completeness.verify_completeness, with the records and log inclusion
   proofs). Medians.

4. End to end (--end-to-end): ingest + seal of N interaction records into a fresh SQLite
   log, with the index (the sequencer's default) and without it (seal(index=False)),
   alternating in one run; wall-clock medians and the ratio (target <= 1.25x at 1M), and
   the same for CPU time (of the benchmark process and its ingest workers: on a machine
   shared with other jobs the wall clock measures them too; on PostgreSQL, `--postgres`,
   the CPU time leaves out the database server's). In-process (`read_ndjson` +
   `Store.add_entries`, as `mledger ingest` does, then `seal`), so process start-up is
   left out of both sides.

    .venv/bin/python scripts/bench_index.py            # ~2 minutes
    .venv/bin/python scripts/bench_index.py --quick    # smaller, for a look
    .venv/bin/python scripts/bench_index.py --sizes    # proof sizes only, 2,001 samples
    .venv/bin/python scripts/bench_index.py --end-to-end                     # 200k records
    .venv/bin/python scripts/bench_index.py --end-to-end --records 1000000   # the target
    .venv/bin/python scripts/bench_index.py --end-to-end \
        --postgres postgresql://postgres@127.0.0.1:5432/test                 # on PostgreSQL
    .venv/bin/python scripts/bench_index.py --seal-log LOG.db --seals 3 --repeat 2
    .venv/bin/python scripts/bench_index.py --end-to-end --blocks   # blocks' cost

5. Seal steps (--seal-log): from a copy of an ingested SQLite log, a few seal steps in
   one process with the index and without, alternating; CPU and wall time per step.

With --blocks, parts 4 and 5 compare seals with the index storing its postings blocks
(index_blocks, the default) and not storing them (ledger.service.index.KEEP_BLOCKS off).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core.index import (
    EMPTY,
    Frontier,
    MapLeaf,
    MapProof,
    PostingsClaim,
    SparseMap,
    build_claim,
    index_root,
    key_hash,
    postings_root,
    record_keys,
    root_from_proof,
    verify_postings,
    window_proof,
)
from ledger.core.merkle import hash_leaf
from ledger.core.merkle.hashing import hash_pairs
from ledger.core.records import parse_object
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import completeness_json
from ledger.verify.completeness import verify_completeness
from ledger.workload import interaction


def clock() -> float:
    """CPU seconds of this process: the machine is shared, so wall time would measure
    the neighbours as well (all figures here are single-threaded)."""
    return time.process_time()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --- 1. update cost ---


def bench_updates(accounts: int, batches: int, batch: int) -> dict[str, Any]:
    rng = random.Random(1)
    records = []
    for i in range(batch * (batches + 1)):
        record = interaction(i, seed=5, account=f"acct-{rng.randrange(accounts)}")
        records.append(json.loads(parse_object(record).canonical))
    canon = [json.dumps(r, separators=(",", ":"), sort_keys=True).encode() for r in records]
    live = SparseMap()
    frontiers: dict[str, Frontier] = {}

    def index_batch(first: int) -> tuple[float, float]:
        """Index records[first:first + batch]: CPU seconds for the postings (grouping,
        frontiers) and for the map."""
        start = clock()
        grouped: dict[str, list[int]] = {}
        for leaf in range(first, first + batch):
            for key in record_keys(records[leaf]):
                grouped.setdefault(key, []).append(leaf)
        changes = {}
        for key, leaves in grouped.items():
            frontier = frontiers.get(key, Frontier()).extend(leaves)
            frontiers[key] = frontier
            changes[key_hash(key)] = (frontier.size, frontier.root())
        middle = clock()
        live.apply(changes)
        return middle - start, clock() - middle

    # Warm up: every account appears at least once, so the map holds ~`accounts` keys.
    warm = [f"account:acct-{a}" for a in range(accounts)]
    live.apply({key_hash(k): (1, hash_leaf(b"warm")) for k in warm})
    for k in warm:
        frontiers[k] = Frontier().extend([0])
    index_batch(0)
    postings_s, map_s, log_s = [], [], []
    for n in range(1, batches + 1):
        first = n * batch
        start = clock()
        leaves = [hash_leaf(c) for c in canon[first : first + batch]]
        level = leaves
        while len(level) > 1:
            parents = hash_pairs(level)
            if len(level) & 1:
                parents.append(level[-1])
            level = parents
        log_s.append(clock() - start)
        postings, tree = index_batch(first)
        postings_s.append(postings)
        map_s.append(tree)
    index = [a + b for a, b in zip(postings_s, map_s, strict=True)]
    return {
        "keys": len(frontiers),
        "batch": batch,
        "postings_ms": median_ms(postings_s),
        "map_ms": median_ms(map_s),
        "index_ms": median_ms(index),
        "log_hash_ms": median_ms(log_s),
        "ratio": statistics.median(index) / statistics.median(log_s),
        "index_us_per_record": statistics.median(index) / batch * 1e6,
    }


# --- 2. proof sizes ---


def binomial_half(m: int, rng: random.Random) -> int:
    """Exactly Binomial(m, 1/2): the set bits of m random bits."""
    return rng.getrandbits(m).bit_count() if m else 0


def path_shape(keys: int, present: bool, rng: random.Random) -> tuple[list[bool], bool]:
    """The path towards a key in a map of `keys` uniformly random keys (the key itself
    among them if `present`): for each level, whether the sibling is empty; and for an
    absent key, whether the path ends at another key's leaf (else an empty slot)."""
    others = keys - 1 if present else keys  # keys in the current subtree besides the probe
    empties: list[bool] = []
    while True:
        if present and others == 0:
            return empties, False
        if not present and others <= 1:
            return empties, others == 1
        same_side = binomial_half(others, rng)
        empties.append(others - same_side == 0)
        others = same_side


def proof_from_shape(empties: list[bool], rng: random.Random) -> tuple[bytes, ...]:
    return tuple(EMPTY if e else rng.randbytes(32) for e in empties)


def anchor() -> AnchorRef:
    return AnchorRef(b"\x11" * 32, 12_345_678, b"\x22" * 32, 1_780_000_000)


def document_bytes(doc: dict[str, Any]) -> int:
    return len(json.dumps(doc, separators=(",", ":")).encode())


def absence_document(keys: int, log_size: int, rng: random.Random) -> dict[str, Any]:
    empties, ends_at_leaf = path_shape(keys, False, rng)
    probe = key_hash("account:nobody")
    siblings = proof_from_shape(empties, rng)
    other = None
    if ends_at_leaf:
        # Another key sharing the probe's path prefix (a real one would differ below it).
        other = MapLeaf(bytes(b ^ 0xFF for b in probe), 17, rng.randbytes(32))
        # root_from_proof checks the other leaf is on the path: make it share the prefix.
        depth = len(siblings)
        k = int.from_bytes(probe, "big")
        flipped = k ^ (1 << (255 - depth)) if depth < 256 else k
        other = MapLeaf(flipped.to_bytes(32, "big"), 17, rng.randbytes(32))
    proof = MapProof(siblings, other)
    map_root = root_from_proof(probe, None, proof)
    claim = PostingsClaim(
        "account:nobody",
        log_size,
        index_root(log_size, map_root),
        0,
        None,
        0,
        log_size,
        (),
        proof,
        None,
    )
    verify_postings(claim)
    checkpoint = AnchoredCheckpoint(log_size, rng.randbytes(32), anchor())
    return completeness_json(31337, b"\x5f" * 20, rng.randbytes(32), checkpoint, claim, [])


def measure_real_depths(keys: int, samples: int) -> tuple[float, float]:
    """Mean path length of absent and present keys in a real map of `keys` keys."""
    live = SparseMap()
    names = [hashlib.sha256(b"real%d" % i).digest() for i in range(keys)]
    live.apply({k: (1, EMPTY) for k in names})
    absent = [
        len(live.prove(hashlib.sha256(b"probe%d" % i).digest())[1].siblings) for i in range(samples)
    ]
    present = [len(live.prove(names[i])[1].siblings) for i in range(samples)]
    return statistics.mean(absent), statistics.mean(present)


def sim_depths(keys: int, samples: int, rng: random.Random) -> tuple[float, float]:
    absent = [len(path_shape(keys, False, rng)[0]) for _ in range(samples)]
    present = [len(path_shape(keys, True, rng)[0]) for _ in range(samples)]
    return statistics.mean(absent), statistics.mean(present)


# --- 3. a 1,000-entry document in a log of 2^log_bits entries ---


def thousand_entry_document(
    keys: int, log_bits: int, count: int, rng: random.Random
) -> tuple[dict[str, Any], PostingsClaim]:
    size = 1 << log_bits
    positions = sorted(rng.sample(range(size), count))
    key = "account:acct-big"
    records = {}
    leaves = [rng.randbytes(32) for _ in range(size)]
    for n, leaf in enumerate(positions):
        record = json.loads(parse_object(interaction(n, seed=77, account="acct-big")).canonical)
        records[leaf] = record
        leaves[leaf] = hash_leaf(parse_object(copy.deepcopy(record)).canonical)
    levels = [leaves]
    while len(levels[-1]) > 1:
        levels.append(hash_pairs(levels[-1]))
    root = levels[-1][0]

    def path(index: int) -> list[bytes]:
        out = []
        for level in levels[:-1]:
            out.append(level[index ^ 1])
            index >>= 1
        return out

    empties, _ = path_shape(keys, True, rng)
    siblings = proof_from_shape(empties, rng)
    count_root = postings_root(positions)
    map_root = root_from_proof(
        key_hash(key), MapLeaf(key_hash(key), count, count_root), MapProof(siblings)
    )
    _, window = window_proof(positions, 0, size)
    claim = PostingsClaim(
        key,
        size,
        index_root(size, map_root),
        count,
        count_root,
        0,
        size,
        tuple(positions),
        MapProof(siblings),
        window,
    )
    checkpoint = AnchoredCheckpoint(size, root, anchor())
    entries = [(i, leaves[i], records[i], path(i)) for i in positions]
    doc = completeness_json(31337, b"\x5f" * 20, bytes(range(32)), checkpoint, claim, entries)
    return doc, claim


def fresh_database(work: Path, name: str, postgres: str | None) -> tuple[str, Any]:
    """The URL of a new, empty database for one run, and how to drop it after."""
    if postgres is None:
        path = work / f"{name}.db"
        return f"sqlite:///{path}", lambda: path.unlink()
    import psycopg

    database = f"bench_index_{name.replace('-', '_')}_{random.getrandbits(32):08x}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')

    def drop() -> None:
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    return f"{postgres.rsplit('/', 1)[0]}/{database}", drop


def cpu_time() -> float:
    """CPU seconds of this process and of its ended children (ingest parses in a pool
    of worker processes, one per core)."""
    import resource

    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def end_to_end(
    records: int, repeat: int, postgres: str | None = None, blocks: bool = False
) -> None:
    """4. Ingest + seal with and without the index, side by side; with `blocks`, both
    sides with the index, with and without storing its postings blocks."""
    import os
    import tempfile

    from ledger.service import index as service_index
    from ledger.service.ingest import read_ndjson
    from ledger.service.sequencer import seal
    from ledger.store.repository import Store
    from ledger.workload import interaction

    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    ndjson = work / "records.ndjson"
    with ndjson.open("w") as out:
        for i in range(records):
            out.write(json.dumps(interaction(i, seed=11)))
            out.write("\n")
    # per side: (ingest wall, seal wall, ingest CPU, seal CPU) of each run
    times: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
    roots = set()
    backend = "SQLite" if postgres is None else "PostgreSQL"
    for attempt in range(repeat):
        for indexed in (False, True) if attempt % 2 == 0 else (True, False):
            url, drop = fresh_database(work, f"log-{attempt}-{int(indexed)}", postgres)
            store = Store.open(url)
            service_index.KEEP_BLOCKS = indexed or not blocks
            try:
                cpu, start = cpu_time(), time.perf_counter()
                assert store.add_entries(read_ndjson(ndjson)) == records
                cpu_ingested, ingested = cpu_time(), time.perf_counter()
                state = seal(store, index=indexed or blocks)
                cpu_sealed, sealed = cpu_time(), time.perf_counter()
            finally:
                store.close()
                drop()
            roots.add(state.root)
            times[indexed].append(
                (ingested - start, sealed - ingested, cpu_ingested - cpu, cpu_sealed - cpu_ingested)
            )
            print(
                f"run {attempt + 1}, {'with' if indexed else 'without'}"
                f" {'stored blocks' if blocks else 'the index'}:"
                f" ingest {ingested - start:.2f} s, seal {sealed - ingested:.2f} s (CPU:"
                f" {cpu_ingested - cpu:.2f} s + {cpu_sealed - cpu_ingested:.2f} s;"
                f" load average {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
            )
    assert len(roots) == 1
    ndjson.unlink()
    work.rmdir()

    def medians(indexed: bool, offset: int) -> tuple[float, float, float]:
        runs = [run[offset : offset + 2] for run in times[indexed]]
        return (
            statistics.median(i for i, _ in runs),
            statistics.median(s for _, s in runs),
            statistics.median(i + s for i, s in runs),
        )

    what_is = "stored postings blocks" if blocks else "the index"
    print(f"## 4. Ingest + seal of {records:,} interaction records, {backend}, medians of {repeat}")
    if blocks:
        print("both sides with the index; with and without storing its postings blocks")
    for what, offset in (("wall", 0), ("CPU", 2)):
        without, with_index = medians(False, offset), medians(True, offset)
        for name, (ingest_s, seal_s, total_s) in (("without", without), ("with", with_index)):
            print(
                f"{what}, {name} {what_is}: ingest {ingest_s:.2f} s + seal {seal_s:.2f} s ="
                f" {total_s:.2f} s ({records / total_s:,.0f} records/s)"
            )
        print(
            f"{what}: ratio with/without {with_index[2] / without[2]:.2f}x (target <= 1.25x);"
            f" the seal alone {with_index[1] / without[1]:.2f}x; index work"
            f" {(with_index[1] - without[1]) / records * 1e6:.1f} us/record (seal with minus"
            " seal without)"
        )
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def seal_steps(log: Path, seals: int, repeat: int, blocks: bool = False) -> None:
    """5. Seal steps of a SQLite log already ingested (and perhaps partly sealed): from a
    copy of it, `seals` steps of up to 262,144 entries in one process, with the index and
    without it (`blocks`: with the index, storing its postings blocks and not),
    alternating `repeat` times; CPU and wall time of each step."""
    import shutil
    import tempfile

    from ledger.service import index as service_index
    from ledger.service.sequencer import seal_step
    from ledger.store.repository import Store

    roots = set()
    for attempt in range(repeat):
        for indexed in (True, False) if attempt % 2 == 0 else (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-index-", dir=log.parent) as work:
                copy = Path(work) / "log.db"
                shutil.copy(log, copy)
                store = Store.open(f"sqlite:///{copy}")
                service_index.KEEP_BLOCKS = indexed or not blocks
                try:
                    barrier = store.ingest_barrier()
                    steps = []
                    for _ in range(seals):
                        cpu, start = time.process_time(), time.perf_counter()
                        state, count = seal_step(store, barrier, index=indexed or blocks)
                        steps.append((time.process_time() - cpu, time.perf_counter() - start))
                        if not count:
                            break
                finally:
                    store.close()
            roots.add(state.root)
            print(
                f"{'with' if indexed else 'without'}"
                f" {'stored blocks' if blocks else 'the index'}: {len(steps)} seals up to size"
                f" {state.tree_size:,}, CPU/wall s: "
                + ", ".join(f"{c:.2f}/{w:.2f}" for c, w in steps)
            )
    assert len(roots) == 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--end-to-end", action="store_true", help="only part 4: ingest + seal, with vs without"
    )
    parser.add_argument("--records", type=int, default=200_000, help="records for part 4")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side in part 4")
    parser.add_argument(
        "--sizes", action="store_true", help="only part 2: proof sizes (2,001 samples each)"
    )
    parser.add_argument("--samples", type=int, default=None, help="absence paths per map size")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="part 4 on PostgreSQL: a server URL whose user may create databases (one fresh"
        " database per run, dropped after), e.g. postgresql://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--seal-log",
        metavar="PATH",
        type=Path,
        help="only part 5: seal steps from a copy of this ingested SQLite log",
    )
    parser.add_argument("--seals", type=int, default=3, help="seal steps per run in part 5")
    parser.add_argument(
        "--blocks",
        action="store_true",
        help="parts 4 and 5: both sides with the index, with and without storing its"
        " postings blocks (index_blocks)",
    )
    args = parser.parse_args(argv)
    if args.seal_log is not None:
        seal_steps(args.seal_log, args.seals, args.repeat, args.blocks)
        return 0
    if args.end_to_end:
        end_to_end(args.records, args.repeat, args.postgres, args.blocks)
        return 0
    rng = random.Random(42)
    batches = 3 if args.quick else 7
    if not args.sizes:
        print("## 1. Update cost per batch of interaction records")
    for batch, count in () if args.sizes else ((10_000, batches), (100_000, 2)):
        up = bench_updates(30_000, count, batch)
        print(
            f"batches of {batch:,} records, map of {up['keys']:,} keys: index"
            f" {up['index_ms']:.0f} ms per batch (postings {up['postings_ms']:.0f} ms, map"
            f" {up['map_ms']:.0f} ms; {up['index_us_per_record']:.1f} us/record); hashing the"
            f" same records for the log {up['log_hash_ms']:.0f} ms; ratio {up['ratio']:.1f}x"
            f" (medians of {count} batches)"
        )
    print("\n## 2. Proof sizes (bytes of compact completeness/v1 JSON)")
    real_keys = 20_000 if args.quick else 100_000
    real = measure_real_depths(real_keys, 300)
    sim = sim_depths(real_keys, 3000, rng)
    print(
        f"check of the path model at {real_keys:,} keys: mean depth absent/present"
        f" real {real[0]:.2f}/{real[1]:.2f}, model {sim[0]:.2f}/{sim[1]:.2f}"
    )
    samples = args.samples or (2001 if args.sizes else 101 if args.quick else 401)
    for keys in (30_000, 1_000_000, 10_000_000):
        sizes, depths, binary, proofs = [], [], [], []
        for _ in range(samples):
            doc = absence_document(keys, 10_000_000, rng)
            sizes.append(document_bytes(doc))
            proof = doc["map_proof"]
            depths.append(proof["depth"])
            proofs.append(document_bytes(proof))
            binary.append(
                len(base64.b64decode(proof["siblings"]))
                + (proof["depth"] + 7) // 8
                + (72 if proof["other"] else 0)
            )
        sizes.sort()
        print(
            f"absence, {keys:,} keys, log of 10M: whole document median"
            f" {statistics.median(sizes):,.0f} B, p99 {sizes[int(len(sizes) * 0.99)]:,} B,"
            f" max {sizes[-1]:,} B; median depth {statistics.median(depths):.0f}; the"
            f" map_proof JSON median {statistics.median(proofs):,.0f} B, its bytes"
            f" (non-empty siblings, bitmap, other leaf) median {statistics.median(binary):,.0f} B"
            f" ({samples} samples; p99.9 {sizes[int(len(sizes) * 0.999)]:,} B; over 2,048 B:"
            f" {sum(size > 2048 for size in sizes)})"
        )
    log_bits = 16 if args.quick else 20
    for keys in (1_000_000, 10_000_000):
        doc, claim = thousand_entry_document(keys, log_bits, 1000, rng)
        index_part = {k: doc[k] for k in ("map_proof", "postings_proof")}
        print(
            f"1,000-entry key, {keys:,} keys, log of 2^{log_bits}: index proofs"
            f" {document_bytes(index_part):,} B; whole document {document_bytes(doc):,} B"
            f" ({document_bytes(doc) / 1000:,.0f} B/entry)"
        )
    if args.sizes:
        return 0
    print("\n## 3. Verify a 1,000-entry completeness document offline")
    text = json.dumps(doc, separators=(",", ":"))
    runs = 5 if args.quick else 9
    core_s, full_s = [], []
    for _ in range(runs):
        start = clock()
        verify_postings(claim)
        core_s.append(clock() - start)
        start = clock()
        result = verify_completeness(text, None)
        full_s.append(clock() - start)
        assert result.valid and result.complete is not None and result.complete.count == 1000
    print(
        f"index proofs only: {median_ms(core_s):.1f} ms; whole document (parse, 1,000 records"
        f" canonicalised and hashed, 1,000 log inclusion proofs of {log_bits} nodes):"
        f" {median_ms(full_s):.1f} ms (medians of {runs})"
    )
    # Building the claim from a real map of 100k keys and the key's postings.
    live = SparseMap()
    names = [f"account:k{i}" for i in range(real_keys)]
    live.apply({key_hash(n): (1, EMPTY) for n in names})
    positions = sorted(rng.sample(range(10_000_000), 1000))
    live.apply({key_hash("account:big"): (1000, postings_root(positions))})
    build_s = []
    for _ in range(runs):
        start = clock()
        built = build_claim(live.store, 10_000_000, "account:big", positions)
        build_s.append(clock() - start)
    verify_postings(built)
    print(
        f"building the index proofs of a 1,000-entry key (map of {real_keys:,} keys, in"
        f" memory): {median_ms(build_s):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
