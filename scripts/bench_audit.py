#!/usr/bin/env python3
"""Benchmark the auditor's tools: `mledger audit` of a large export, and an evidence pack
of many entries (build time over HTTP, verify time, size against single bundles).

With the real commands and a real chain:

1. builds a SQLite log of --entries interaction records (generated in worker
   processes, as scripts/bench_log.py does) on a fresh Anvil, running `mledger deploy`
   and then `mledger anchor` after each of --anchors equal parts, so the chain holds a
   few roots (a log already built in --work-dir is reused, with its chain state);
2. `mledger export --out` of the whole log;
3. `mledger audit` of that export against the chain, --repeat times, with stderr on a
   pseudo-terminal so the progress bar is drawn as a user sees it (median reported);
4. starts `mledger serve`, asks POST /v1/evidence for the accounts whose entries add up
   to at most --pack entries (the largest pack one request may hold), then times
   `mledger verify PACK --rpc-url` (a new process each time: start-up included) and the
   same check in-process, --repeat times each;
5. compares the pack's size with --pack single-entry bundles of the same entries. Their
   size is computed from the bundle layout of `ledger.service.evidence.build_evidence` (the
   same dict, with proofs of the right length); --sample real bundles fetched from
   GET /v1/evidence/{leaf_hash} are checked to have exactly the computed size.

    .venv/bin/python scripts/bench_audit.py                       # 1M entries, 100k pack
    .venv/bin/python scripts/bench_audit.py --entries 100000 --pack 10000 --repeat 1

6. With --against DIR (a checkout of another commit, e.g. a worktree of 81d4abc), only
   the audit, side by side: a log of --entries interactions is built by each tree's own
   code (its scripts/bench_audit.py's build_log, on its own Anvil chain state) and
   exported by its own `export` command, both kept in --work-dir (side-this/,
   side-against/: a re-run skips what is there); then each export is audited by its
   own commit's `audit` command against its chain (--json, stdout to a pipe, each
   tree's default --workers: one per CPU for both 81d4abc and this tree), --repeat
   rounds alternating (this, against; against, this; ...). Prints the medians of wall
   time and of CPU time (the audit's process and its workers: on a shared machine the
   less noisy figure), their ratios and the load average. An older tree's audit takes
   --contract and --log-id (from its `deploy` output) where this one takes --log (the
   identity document).

    .venv/bin/python scripts/bench_audit.py --against /work/wt-base-81d4abc \\
        --work-dir /tmp/audit-side --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import pty
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.chain.anvil import Anvil, free_port
from ledger.core.merkle import inclusion_ranges
from ledger.core.records import Entry, parse_json
from ledger.formats.identity import parse_identity
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.verify.pack import verify_pack
from ledger.verify.rpc import JsonRpcReader

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
ACCOUNTS = 20_000
MODELS = ("frontier-large", "frontier-small", "coder-2")


def record_line(i: int, seed: int) -> str:
    """The i-th interaction record, written directly in canonical (RFC 8785) form."""
    rng = random.Random(seed * 1_000_003 + i)
    day, second = 1 + i % 28, (i * 7919) % 86_400
    account, tokens_in, model = (
        rng.randrange(ACCOUNTS),
        rng.randrange(1, 8000),
        MODELS[rng.randrange(3)],
    )
    tokens_out, salt = rng.randrange(1, 4000), rng.getrandbits(128)
    prompt, response = (
        hashlib.sha256(b"p%d" % i).hexdigest(),
        hashlib.sha256(b"r%d" % i).hexdigest(),
    )
    ts = (
        f"2026-06-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}"
        f":{second % 60:02d}.{i % 1000:03d}Z"
    )
    return (
        f'{{"body":{{"account_id":"acct-{account}","input_tokens":{tokens_in},"model":"{model}",'
        f'"output_tokens":{tokens_out},"prompt_sha256":"{prompt}","request_id":"req-{seed}-{i}",'
        f'"response_sha256":"{response}"}},"kind":"interaction","salt":"{salt:032x}","ts":"{ts}","v":1}}'
    )


def _entries(job: tuple[int, int]) -> list[Entry]:
    start, count = job
    return [tuple(parse_json(record_line(i, 5))) for i in range(start, start + count)]  # type: ignore[misc]


def ledger(*args: str, capture: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ledger", *args], capture_output=capture, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ledger {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def build_log(work: Path, entries: int, anchors: int, rpc: str) -> dict[str, Any]:
    """Fill the log in `anchors` parts, `mledger anchor` after each; the deployment."""
    where = ["--data-dir", str(work / "data")]
    deployment: dict[str, Any] = json.loads(ledger("deploy", "--rpc-url", rpc, *where))
    store = Store.open(f"sqlite:///{work / 'data' / 'ledger.db'}")
    part = entries // anchors
    chunk = 10_000
    done = 0
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        for number in range(anchors):
            end = entries if number == anchors - 1 else done + part
            jobs = [(i, min(chunk, end - i)) for i in range(done, end, chunk)]
            store.add_entries(pool.imap(_entries, jobs))
            seal(store)
            done = end
            anchored = json.loads(ledger("anchor", "--rpc-url", rpc, *where))
            print(
                f"  {done:,} entries, anchored tree size"
                f" {anchored['tree_size']:,} in block {anchored['block_number']}",
                file=sys.stderr,
            )
    store.close()
    deployment["build_s"] = round(time.perf_counter() - started, 1)
    (work / "deployment.json").write_text(json.dumps(deployment))
    return deployment


BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, "scripts")
from bench_audit import build_log
from ledger.chain.anvil import Anvil, free_port
work = Path(sys.argv[1])
anvil = Anvil(free_port(), work / "anvil-state.json", work / "anvil.log").start()
try:
    build_log(work, int(sys.argv[2]), int(sys.argv[3]), anvil.url)
finally:
    anvil.stop()
"""
"""Build the log of argv[2] entries, argv[3] anchors in argv[1] with either tree's code."""


def tree_run(tree: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS` with `tree`'s code first on the path, from `tree`."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )


def side_log(tree: Path, work: Path, entries: int, anchors: int) -> list[str]:
    """Build (unless built) and export (unless exported) `tree`'s log in `work`; the
    arguments of its audit command after the export and --rpc-url URL."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "deployment.json").exists():
        print(f"building a {entries:,}-entry log with {tree}'s code in {work}", file=sys.stderr)
        done = tree_run(tree, ["-c", BUILD, str(work), str(entries), str(anchors)])
        if done.returncode != 0:
            raise SystemExit(f"build with {tree} failed: {done.stderr[-3000:]}")
    deployment = json.loads((work / "deployment.json").read_text())
    where = ["--data-dir", str(work / "data")]
    export = work / "export.ndjson"
    if not export.exists():
        done = tree_run(tree, ["-m", "ledger", "export", "--out", str(export), *where])
        if done.returncode != 0:
            raise SystemExit(f"export with {tree} failed: {done.stderr[-3000:]}")
    if "identity" in tree_run(tree, ["-m", "ledger", "--help"]).stdout:
        identity = work / "log.json"
        if not identity.exists():
            done = tree_run(tree, ["-m", "ledger", "identity", "--out", str(identity), *where])
            if done.returncode != 0:
                raise SystemExit(f"identity with {tree} failed: {done.stderr[-3000:]}")
        return ["--log", str(identity)]
    # Before the pinned identity document: the contract, the log id, the first block.
    return [
        "--contract",
        deployment["contract"],
        "--log-id",
        deployment["log_id"],
        "--from-block",
        str(deployment["block_number"]),
    ]


def audit_side_by_side(
    work: Path, entries: int, anchors: int, repeat: int, against: Path
) -> dict[str, Any]:
    """`audit` of each tree's export of its own log by its own code, alternating; the
    medians and their ratio (this / against)."""
    trees = {"this": ROOT, "against": against.resolve()}
    pinned = {
        name: side_log(tree, work / f"side-{name}", entries, anchors)
        for name, tree in trees.items()
    }
    nodes = {
        name: Anvil(
            free_port(), work / f"side-{name}" / "anvil-state.json", work / f"side-{name}/a.log"
        ).start()
        for name in trees
    }
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    loads: list[float] = []
    summaries: dict[str, Any] = {}
    try:
        for number in range(repeat):
            for name in ("this", "against") if number % 2 == 0 else ("against", "this"):
                export = work / f"side-{name}" / "export.ndjson"
                args = ["-m", "ledger", "audit", str(export), "--rpc-url", nodes[name].url]
                loads.append(os.getloadavg()[0])
                used = children_cpu()
                start = time.perf_counter()
                done = tree_run(trees[name], [*args, *pinned[name], "--json"])
                took = time.perf_counter() - start
                cpu[name].append(round(children_cpu() - used, 2))
                if done.returncode != 0:
                    raise SystemExit(f"audit by {name} failed: {done.stdout[-2000:]}")
                summaries[name] = json.loads(done.stdout)
                if not summaries[name]["passed"] or summaries[name]["entries"] != entries:
                    raise SystemExit(f"audit by {name} did not pass: {done.stdout[-2000:]}")
                seconds[name].append(round(took, 2))
                print(
                    f"round {number + 1}, {name}: {took:.2f} s, CPU {cpu[name][-1]:.2f} s",
                    file=sys.stderr,
                )
    finally:
        for node in nodes.values():
            node.stop()
    medians = {name: statistics.median(found) for name, found in seconds.items()}
    return {
        "entries": entries,
        "against": str(trees["against"]),
        "export_bytes": {name: found["export_bytes"] for name, found in summaries.items()},
        "this_s": seconds["this"],
        "against_s": seconds["against"],
        "this_median_s": medians["this"],
        "against_median_s": medians["against"],
        "ratio": round(medians["this"] / medians["against"], 3),
        "this_cpu_s": cpu["this"],
        "against_cpu_s": cpu["against"],
        "cpu_ratio": round(statistics.median(cpu["this"]) / statistics.median(cpu["against"]), 3),
        "load_average": [min(loads), max(loads)],
        "workers": "each audit's default (one per CPU)",
        "cpus": os.cpu_count(),
    }


def children_cpu() -> float:
    """User and system CPU seconds of this process's waited-for children (the audit
    process and its workers), so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_on_pty(args: list[str]) -> tuple[float, int, bytes]:
    """Run a command with stderr on a pseudo-terminal (progress bars draw); its wall
    time, exit code and last bytes of terminal output."""
    leader, follower = pty.openpty()
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    tail = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        tail = (tail + data)[-4096:]
    code = process.wait()
    elapsed = time.perf_counter() - start
    os.close(leader)
    return elapsed, code, tail


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed ({done.returncode}):"
            f" {done.stdout[-2000:]} {done.stderr[-2000:]}"
        )
    return elapsed


def pack_accounts(work: Path, target: int) -> list[str]:
    """Accounts, in order, whose entries add up to as many as fit in `target`."""
    store = Store.open(f"sqlite:///{work / 'data' / 'ledger.db'}")
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT account_id, count(*) FROM entries GROUP BY account_id ORDER BY account_id"
        ).fetchall()
    store.close()
    chosen, total = [], 0
    for account, count in rows:
        if total + count > target:
            continue
        chosen.append(account)
        total += count
        if total == target:
            break
    return chosen


def single_bundle_size(
    deployment: dict[str, Any], pack: dict[str, Any], entry: dict[str, Any]
) -> int:
    """The size of the `mledger evidence` / GET /v1/evidence bundle of one pack entry: the
    dict build_evidence makes, proof nodes of the right number (their values do not
    change the size)."""
    size = pack["checkpoint"]["tree_size"]
    bundle = {
        "format": "model-ledger/evidence/v1",
        "chain_id": pack["chain_id"],
        "contract": pack["contract"],
        "log_id": pack["log_id"],
        "checkpoint": pack["checkpoint"],
        "entries": [
            {
                "leaf_index": entry["leaf_index"],
                "leaf_hash": "0x" + "00" * 32,
                "record": entry["record"],
                "proof": ["0x" + "00" * 32] * len(inclusion_ranges(entry["leaf_index"], size)),
            }
        ],
        # the same checkpoint's cosigned note, when the pack has one
        **{k: v for k, v in pack.items() if k == "checkpoint_note"},
    }
    return len(json.dumps(bundle, separators=(",", ":")).encode())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--anchors", type=int, default=4, help="roots anchored while the log is built"
    )
    parser.add_argument("--pack", type=int, default=100_000, help="entries in the evidence pack")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each measure (the median is reported)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=200,
        help="real single bundles checked against the computed size",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="reused between runs (the log and its chain state)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="another checkout: only the audit, side by side with its code (see 6.)",
    )
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ledger-bench-audit-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.against is not None:
        found = audit_side_by_side(work, args.entries, args.anchors, args.repeat, args.against)
        print(json.dumps(found, indent=1))
        if args.json:
            args.json.write_text(json.dumps(found, indent=2))
        return
    results: dict[str, Any] = {"cpus": os.cpu_count(), "entries": args.entries}
    anvil = Anvil(free_port(), work / "anvil-state.json", work / "anvil.log").start()
    server: subprocess.Popen[str] | None = None
    try:
        rpc = anvil.url
        where = ["--data-dir", str(work / "data")]
        if (work / "deployment.json").exists():
            deployment = json.loads((work / "deployment.json").read_text())
            print(f"reusing the log in {work}", file=sys.stderr)
        else:
            print(
                f"building a {args.entries:,}-entry log in {work}, {args.anchors} anchors",
                file=sys.stderr,
            )
            deployment = build_log(work, args.entries, args.anchors, rpc)
            results["build_s"] = deployment["build_s"]

        export = work / "export.ndjson"
        start = time.perf_counter()
        exported = json.loads(ledger("export", "--out", str(export), *where))
        results["export_s"] = round(time.perf_counter() - start, 2)
        results["export_bytes"] = exported["bytes"]
        print(
            f"mledger export: {exported['entries']:,} entries,"
            f" {exported['bytes']:,} bytes in {results['export_s']} s",
            file=sys.stderr,
        )

        identity = work / "log.json"
        ledger("identity", "--out", str(identity), *where)
        audit_args = [
            sys.executable,
            "-m",
            "ledger",
            "audit",
            str(export),
            "--rpc-url",
            rpc,
            "--log",
            str(identity),
        ]
        runs = []
        for attempt in range(args.repeat):
            elapsed, code, tail = run_on_pty(audit_args)
            if code != 0:
                raise SystemExit(f"mledger audit failed ({code}): {tail.decode(errors='replace')}")
            runs.append(round(elapsed, 2))
            print(
                f"mledger audit, run {attempt + 1}: {elapsed:.2f} s (progress bar on a terminal)",
                file=sys.stderr,
            )
        results["audit_runs_s"] = runs
        results["audit_median_s"] = statistics.median(runs)
        results["audit_command"] = " ".join(audit_args[2:])

        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "serve",
                *where,
                "--rpc-url",
                rpc,
                "--port",
                str(port),
                "--anchor-interval",
                "3600",
            ],
            env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mledger serve did not start: {server.communicate()[1]}")
            time.sleep(0.1)
        accounts = pack_accounts(work, args.pack)
        query = {"account_ids": accounts}
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=600
        ) as client:
            builds = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.post("/v1/evidence", json=query)
                builds.append(round(time.perf_counter() - start, 2))
                if response.status_code != 200:
                    raise SystemExit(
                        f"POST /v1/evidence: {response.status_code} {response.text[:500]}"
                    )
            document = response.content
            pack_path = work / "pack.json"
            pack_path.write_bytes(document)
            pack = json.loads(document)
            results["pack_entries"] = len(pack["entries"])
            results["pack_accounts"] = len(accounts)
            results["pack_proof_nodes"] = len(pack["proof"])
            results["pack_bytes"] = len(document)
            results["pack_build_http_runs_s"] = builds
            results["pack_build_http_median_s"] = statistics.median(builds)
            print(
                f"pack: {len(pack['entries']):,} entries of {len(accounts):,}"
                f" accounts, {len(document):,} bytes, built in {builds} s",
                file=sys.stderr,
            )

            singles = sum(single_bundle_size(deployment, pack, entry) for entry in pack["entries"])
            rng = random.Random(1)
            for entry in rng.sample(pack["entries"], min(args.sample, len(pack["entries"]))):
                leaf = (
                    "0x"
                    + hashlib.sha256(
                        b"\x00"
                        + json.dumps(
                            entry["record"], separators=(",", ":"), sort_keys=True
                        ).encode()
                    ).hexdigest()
                )
                real = client.get(f"/v1/evidence/{leaf}")
                if real.status_code != 200 or len(real.content) != single_bundle_size(
                    deployment, pack, entry
                ):
                    raise SystemExit(
                        f"computed single-bundle size differs for {leaf}: {len(real.content)} real"
                    )
            results["single_bundles_bytes"] = singles
            results["pack_vs_singles"] = round(len(document) / singles, 4)
            results["singles_checked"] = min(args.sample, len(pack["entries"]))

        verify_runs = [
            round(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "ledger",
                        "verify",
                        str(pack_path),
                        "--log",
                        str(identity),
                        "--rpc-url",
                        rpc,
                    ]
                ),
                2,
            )
            for _ in range(args.repeat)
        ]
        results["verify_cli_runs_s"] = verify_runs
        results["verify_cli_median_s"] = statistics.median(verify_runs)
        inproc = []
        for _ in range(args.repeat):
            chain = JsonRpcReader(rpc)
            start = time.perf_counter()
            verified = verify_pack(
                pack_path.read_bytes(), chain, parse_identity(identity.read_bytes())
            )
            inproc.append(round(time.perf_counter() - start, 2))
            chain.close()
            assert verified.valid
        results["verify_inprocess_runs_s"] = inproc
        results["verify_inprocess_median_s"] = statistics.median(inproc)
        print(json.dumps(results, indent=1))
        print_table(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        anvil.stop()


def print_table(r: dict[str, Any]) -> None:
    rows = [
        (
            (
                f"`mledger audit` of a {r['entries']:,}-entry export"
                f" ({r['export_bytes'] / 1e6:,.0f} MB), progress bar drawn"
            ),
            f"{r['audit_median_s']:.1f} s",
            f"median of {len(r['audit_runs_s'])}: {r['audit_runs_s']} (target 20 s)",
        ),
        (
            (
                f"POST /v1/evidence: pack of {r['pack_entries']:,}"
                f" entries ({r['pack_accounts']:,} accounts)"
            ),
            f"{r['pack_build_http_median_s']:.1f} s",
            f"runs {r['pack_build_http_runs_s']}",
        ),
        (
            "`mledger verify PACK --rpc-url` (new process)",
            f"{r['verify_cli_median_s']:.1f} s",
            f"median of {len(r['verify_cli_runs_s'])}: {r['verify_cli_runs_s']} (target 10 s)",
        ),
        (
            "verify_pack in-process",
            f"{r['verify_inprocess_median_s']:.1f} s",
            f"runs {r['verify_inprocess_runs_s']}",
        ),
        (
            "pack size vs single bundles",
            f"{r['pack_vs_singles']:.1%}",
            (
                f"{r['pack_bytes']:,} bytes vs {r['single_bundles_bytes']:,}"
                f" (target 40%); {r['pack_proof_nodes']:,} proof nodes"
            ),
        ),
    ]
    print(f"\nMachine: {r['cpus']} CPUs.\n")
    print("| measure | value | detail |")
    print("|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
