#!/usr/bin/env python3
"""Load generator: realistic interaction records against a running `mledger serve`.

Sends `--records` interaction records in batches of `--batch-size` with `--concurrency`
batches in flight, through ledger.client.AsyncLedgerClient (so with its retries), shows
progress on stderr and prints a summary as JSON on stdout::

    {"url", "records", "stored", "failed", "unsent", "batch_size", "concurrency",
     "batches", "errors", "retries", "seconds", "records_per_s",
     "batch_latency_ms": {"p50", "p99", "max"}, "timed_out", "first_errors": [...]}

Batch latency is the client's view of one successful batch: completing and encoding
the records, the request(s) including any retries, and reading the receipts.

Bounded: at most 1,000,000 records and `--max-seconds` of sending (default 300); once
time is up no new batch starts. Only loopback targets (localhost, 127.0.0.0/8, ::1)
unless `--allow-remote`. Exits 0 when every record was stored, 1 otherwise.

    .venv/bin/python scripts/load.py --url http://127.0.0.1:8000 --key $KEY --records 100000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ledger.client import MAX_BATCH_SIZE, AsyncLedgerClient, LedgerClientError

MAX_RECORDS = 1_000_000
MAX_CONCURRENCY = 64

MODELS = ["frontier-large", "frontier-small", "coder-2", "embed-3", "vision-1"]
ENDPOINTS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"]
AGENTS = [
    "python-httpx/0.28",
    "openai-python/1.40",
    "node-fetch/3.3",
    "curl/8.5",
    "Go-http-client/2.0",
]
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine (localhost or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Records:
    """A stream of plausible interaction records (digests only, as a gateway sends)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.run = f"{seed:x}-{os.getpid():x}-{time.time_ns():x}"
        self.accounts = [f"acct-{self.rng.randrange(10**8):08d}" for _ in range(2_000)]
        self.keys = {account: f"key-{self.rng.getrandbits(48):012x}" for account in self.accounts}

    def record(self, i: int) -> dict[str, Any]:
        """The i-th record; salt and ts are left to the client."""
        rng = self.rng
        account = rng.choice(self.accounts)
        model = rng.choices(MODELS, weights=[30, 40, 15, 10, 5])[0]
        endpoint = (
            "/v1/embeddings"
            if model.startswith("embed")
            else rng.choice(ENDPOINTS[:2] + ENDPOINTS[3:])
        )
        output_tokens = 0 if endpoint == "/v1/embeddings" else int(rng.lognormvariate(5.5, 1.0))
        body: dict[str, Any] = {
            "request_id": f"req-{self.run}-{i}",
            "account_id": account,
            "api_key_id": self.keys[account],
            "model": model,
            "endpoint": endpoint,
            "prompt_sha256": hashlib.sha256(f"{self.run}/prompt/{i}".encode()).hexdigest(),
            "response_sha256": hashlib.sha256(f"{self.run}/response/{i}".encode()).hexdigest(),
            "input_tokens": min(int(rng.lognormvariate(6.0, 1.2)), 200_000),
            "output_tokens": min(output_tokens, 32_000),
            "client": {
                "ip_sha256": hashlib.sha256(
                    f"ip/{account}/{rng.randrange(4)}".encode()
                ).hexdigest(),
                "user_agent": rng.choice(AGENTS),
                "asn": rng.choice([3320, 7922, 16509, 15169, 13335]),
            },
            "metadata": {
                "region": rng.choice(REGIONS),
                "stream": rng.random() < 0.6,
                "latency_ms": int(rng.lognormvariate(6.5, 0.7)),
            },
        }
        return {"v": 1, "kind": "interaction", "body": body}


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Send everything; the summary."""
    source = Records(args.seed)
    sizes = [
        min(args.batch_size, args.records - start)
        for start in range(0, args.records, args.batch_size)
    ]
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    start = 0
    for size in sizes:
        queue.put_nowait((start, size))
        start += size
    latencies: list[float] = []
    errors: list[str] = []
    stored = failed = 0
    deadline = time.monotonic() + args.max_seconds
    progress = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} rec/s  errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
        transient=False,
    )
    task = progress.add_task("ingest", total=args.records, rate=0.0, errors=0)
    began = time.monotonic()

    async with AsyncLedgerClient(
        args.url,
        args.key,
        batch_size=MAX_BATCH_SIZE,
        max_in_flight=args.concurrency,
        max_retries=args.retries,
        timeout=args.timeout,
    ) as client:

        async def worker() -> None:
            nonlocal stored, failed
            while time.monotonic() < deadline:
                try:
                    first, size = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                batch = [source.record(i) for i in range(first, first + size)]
                sent = time.monotonic()
                try:
                    receipts = await client.append_many(batch)
                except LedgerClientError as error:
                    failed += size
                    errors.append(str(error))
                else:
                    latencies.append((time.monotonic() - sent) * 1000)
                    stored += len(receipts)
                elapsed = time.monotonic() - began
                progress.update(
                    task,
                    completed=stored + failed,
                    rate=stored / elapsed if elapsed else 0.0,
                    errors=len(errors),
                )

        with progress:
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        seconds = time.monotonic() - began
        retries = client.stats.retries

    unsent = args.records - stored - failed
    return {
        "url": args.url,
        "records": args.records,
        "stored": stored,
        "failed": failed,
        "unsent": unsent,
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "batches": len(latencies) + len(errors),
        "errors": len(errors),
        "retries": retries,
        "seconds": round(seconds, 3),
        "records_per_s": round(stored / seconds, 1) if seconds > 0 else None,
        "batch_latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p99": _round(percentile(latencies, 99)),
            "max": _round(max(latencies) if latencies else None),
        },
        "timed_out": unsent > 0,
        "first_errors": errors[:5],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="the ledger service (default %(default)s)"
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("LEDGER_API_KEY"),
        help="an ingest API key (default $LEDGER_API_KEY)",
    )
    parser.add_argument(
        "--records",
        type=int,
        default=10_000,
        help=f"records to send, 1..{MAX_RECORDS:,} (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1_000,
        help=f"records per request, 1..{MAX_BATCH_SIZE:,} (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help=f"batches in flight, 1..{MAX_CONCURRENCY} (default %(default)s)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="stop starting batches after this long (default %(default)s)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=5,
        help="retries per batch on transient errors (default %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per request (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the record stream (default: random)"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not on this machine"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("--key (or LEDGER_API_KEY) is required")
    if not 1 <= args.records <= MAX_RECORDS:
        parser.error(f"--records must be between 1 and {MAX_RECORDS:,}")
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        parser.error(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if not 0 < args.max_seconds <= 3600:
        parser.error("--max-seconds must be in (0, 3600]")
    if not 0 <= args.retries <= 20:
        parser.error("--retries must be between 0 and 20")
    if urlsplit(args.url).scheme not in ("http", "https"):
        parser.error("--url must be http:// or https://")
    if not args.allow_remote and not is_loopback(args.url):
        parser.error(
            f"{args.url} is not a loopback address; pass --allow-remote to load a remote service"
        )
    if args.seed is None:
        args.seed = random.SystemRandom().getrandbits(32)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    summary = asyncio.run(run(args, console))
    print(json.dumps(summary, indent=2))
    return 0 if summary["stored"] == args.records else 1


if __name__ == "__main__":
    raise SystemExit(main())
