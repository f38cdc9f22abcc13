#!/usr/bin/env python3
"""Run scripts/bench_log.py and scripts/bench_api.py for two commits, side by side.

Each commit runs its own copy of the two scripts from a git worktree of its own, in
alternating order (base, head, head, base, ...), so a machine that gets busier or
quieter during the run weighs on both alike. Prints, for every figure the scripts
report, the median of each commit and the ratio head/base.

    .venv/bin/python scripts/bench_compare.py                    # HEAD against b4b84f7
    .venv/bin/python scripts/bench_compare.py --base 81d4abc --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(commit: str, where: Path) -> Path:
    """A detached worktree of `commit`, sharing this checkout's node_modules."""
    git("worktree", "add", "--detach", str(where), commit)
    modules = ROOT / "node_modules"
    if modules.exists():
        (where / "node_modules").symlink_to(modules)
    return where


def flatten(value: object, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a bench_log.py --json document, as dotted names."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {prefix: float(value)}
    if isinstance(value, dict):
        out: dict[str, float] = {}
        for key, inner in value.items():
            if key not in ("sqlite_runs", "cpus"):
                out |= flatten(inner, f"{prefix}.{key}" if prefix else key)
        return out
    return {}


def table_figures(text: str) -> dict[str, float]:
    """Numbers of a Markdown table `| label | value |`, one figure per number."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) < 2
            or set(cells[1]) <= {"-"}
            or cells[0].startswith(("measure", "log after"))
        ):
            continue
        numbers = NUMBER.findall(cells[1])
        for i, number in enumerate(numbers):
            name = cells[0] if len(numbers) == 1 else f"{cells[0]} [{i + 1}]"
            out[name] = float(number.replace(",", ""))
    return out


def show(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"


def run(tree: Path, script: str, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(tree / "scripts" / script), *args],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def one_round(tree: Path, opts: argparse.Namespace, work: Path) -> dict[str, float]:
    out = work / "log.json"
    run(
        tree,
        "bench_log.py",
        [
            "--records",
            str(opts.records),
            "--pg-records",
            str(opts.pg_records),
            "--big",
            str(opts.big),
            "--repeat",
            "1",
            "--samples",
            "1000",
            "--json",
            str(out),
            "--work-dir",
            str(work / "log"),
        ],
    )
    figures = {f"log: {k}": v for k, v in flatten(json.loads(out.read_text())).items()}
    api = run(tree, "bench_api.py", ["--batches", str(opts.batches), "--singles", "1000"])
    figures |= {f"api: {k}": v for k, v in table_figures(api).items()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="b4b84f7", help="the baseline commit")
    parser.add_argument("--head", default="HEAD", help="the commit measured against it")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each commit")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--pg-records", type=int, default=50_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=30)
    opts = parser.parse_args()

    names = {
        "base": git("rev-parse", "--short", opts.base),
        "head": git("rev-parse", "--short", opts.head),
    }
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        trees = {side: checkout(names[side], Path(tmp) / side) for side in names}
        try:
            samples: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
            for r in range(opts.rounds):
                order = ["base", "head"] if r % 2 == 0 else ["head", "base"]
                for side in order:
                    print(f"round {r + 1}/{opts.rounds}: {side} ({names[side]})", file=sys.stderr)
                    work = Path(tmp) / f"work-{side}-{r}"
                    samples[side].append(one_round(trees[side], opts, work))
        finally:
            for tree in trees.values():
                git("worktree", "remove", "--force", str(tree))

    print(
        f"| figure ({opts.rounds} runs each, medians) | {names['base']} | {names['head']} | ratio |"
    )
    print("|---|---|---|---|")
    for name in samples["head"][0]:
        if not all(name in s for s in samples["base"]):
            continue
        base = statistics.median(s[name] for s in samples["base"])
        head = statistics.median(s[name] for s in samples["head"])
        ratio = f"{head / base:.2f}" if base else "-"
        print(f"| {name} | {show(base)} | {show(head)} | {ratio} |")


if __name__ == "__main__":
    main()
