#!/usr/bin/env python3
"""Benchmark the /verify page's completeness verifier (ledger/web/verify-completeness.js,
under Node, SHA-256 from WebCrypto as in a browser) side by side with the Python one
(ledger.verify.completeness) on the same document: a key with 1,000 entries in a log of
2^20 entries (the document of scripts/bench_index.py, section 3), offline; and in
headless Chromium (the saved page, its own scripts), where the page really runs.

Python and Node are timed in their own process on the same machine, one after the other, as CPU
time of that process (the machine is shared); the page's figure is also given as wall
time (its hashing awaits WebCrypto). Chromium gives wall time only (performance.now()
around the call in the page). Medians over the runs, after one warm-up run each.

    .venv/bin/python scripts/bench_page_completeness.py            # ~1 minute
    .venv/bin/python scripts/bench_page_completeness.py --quick    # a log of 2^16
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.api.routes.web import ASSETS
from ledger.verify.completeness import verify_completeness
from tests.web.chromium import Chromium, find_chromium

NODE_TIMER = r"""
const C = require(process.argv[1]);
const text = require('fs').readFileSync(process.argv[2], 'utf8');
const runs = Number(process.argv[3]);
(async () => {
  const cpu = [];
  const wall = [];
  for (let i = 0; i <= runs; i += 1) {
    const startCpu = process.cpuUsage();
    const startWall = process.hrtime.bigint();
    const result = await C.verifyCompleteness(text, {});
    const spent = process.cpuUsage(startCpu);
    const elapsed = Number(process.hrtime.bigint() - startWall) / 1e6;
    if (result.verdict !== 'mathematics only' || result.complete.count !== 1000) {
      throw new Error(`not verified: ${result.statement}`);
    }
    if (i > 0) {  // the first run warms the JIT up
      cpu.push((spent.user + spent.system) / 1000);
      wall.push(elapsed);
    }
  }
  process.stdout.write(JSON.stringify({ cpu, wall }));
})().catch((error) => { process.stderr.write(String(error.stack || error)); process.exit(1); });
"""


def bench_index() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_index", ROOT / "scripts" / "bench_index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IN_PAGE = """(async () => {
  const wall = [];
  for (let i = 0; i <= %d; i += 1) {
    const start = performance.now();
    const result = await LedgerCompleteness.verifyCompleteness(window.benchDocument, {});
    const elapsed = performance.now() - start;
    if (result.verdict !== 'mathematics only' || result.complete.count !== 1000) {
      throw new Error('not verified: ' + result.statement);
    }
    if (i > 0) wall.push(elapsed);
  }
  return wall;
})()"""


def chromium_wall(text: str, runs: int) -> list[float] | None:
    """Wall times (ms) of the page's verifier on `text` in headless Chromium, or None
    when Chromium is not installed."""
    binary = find_chromium()
    if binary is None:
        return None
    web = ROOT / "ledger" / "web"
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder)
        (saved / "verify" / "assets").mkdir(parents=True)
        shutil.copy(web / "verify.html", saved / "verify.html")
        for name in ASSETS:
            shutil.copy(web / name, saved / "verify" / "assets" / name)
        browser = Chromium(binary, saved / "profile")
        try:
            page = browser.page()
            page.goto((saved / "verify.html").as_uri())
            page.wait_for("typeof LedgerCompleteness === 'object'")
            page.evaluate(f"window.benchDocument = {json.dumps(text)}; 0")
            wall: list[float] = page.evaluate(IN_PAGE % runs)
            page.close()
        finally:
            browser.stop()
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    node = shutil.which("node")
    if node is None:
        print("error: node is not installed", file=sys.stderr)
        return 1
    log_bits = 16 if args.quick else 20
    runs = 5 if args.quick else 9
    doc, _ = bench_index().thousand_entry_document(1_000_000, log_bits, 1000, random.Random(42))
    text = json.dumps(doc, separators=(",", ":"))
    python_ms = []
    for i in range(runs + 1):
        start = time.process_time()
        result = verify_completeness(text, None)
        spent = time.process_time() - start
        assert result.valid and result.complete is not None and result.complete.count == 1000
        if i:
            python_ms.append(spent * 1000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "completeness.json"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [
                node,
                "-e",
                NODE_TIMER,
                str(ROOT / "ledger" / "web" / "verify-completeness.js"),
                str(path),
                str(runs),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        print(f"error: the page's verifier failed: {done.stderr}", file=sys.stderr)
        return 1
    page = json.loads(done.stdout)
    chromium = chromium_wall(text, runs)
    python, page_cpu = statistics.median(python_ms), statistics.median(page["cpu"])
    page_wall = statistics.median(page["wall"])
    print(
        f"1,000-entry completeness document, log of 2^{log_bits}, {len(text):,} B, offline"
        f" (medians of {runs}):\n"
        f"  Python ledger.verify.completeness: {python:.1f} ms CPU\n"
        "  page verify-completeness.js"
        f" (Node {subprocess.check_output([node, '--version'], text=True).strip()}):"
        f" {page_cpu:.1f} ms CPU, {page_wall:.1f} ms wall\n"
        f"  page / Python (CPU): {page_cpu / python:.2f}x"
    )
    if chromium is None:
        print("  Chromium: not installed (apt-get install -y chromium)")
    else:
        print(f"  page in headless Chromium: {statistics.median(chromium):.1f} ms wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
