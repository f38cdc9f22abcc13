"""A synthetic workload: interaction records that are valid, varied and deterministic
from a seed, for load tests (scripts/load.py), benchmarks (scripts/bench_*.py) and the
tests. The same seed and index always give the same record, salt included, so two runs
build the same tree."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any


def interaction(
    i: int, *, seed: int = 0, account: str | None = None, ts: str | None = None, v: int = 1
) -> dict[str, Any]:
    """The i-th interaction record of a deterministic stream, of envelope version `v`."""
    rng = random.Random(seed * 1_000_003 + i)
    record: dict[str, Any] = {
        "v": v,
        "kind": "interaction",
        "salt": f"{rng.getrandbits(128):032x}",
        "ts": ts
        or (
            f"2026-06-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}"
            f":{(i // 60) % 60:02d}.{i % 1000:03d}Z"
        ),
        "body": {
            "request_id": f"req-{seed}-{i}",
            "account_id": account or f"acct-{rng.randrange(20_000)}",
            "model": rng.choice(["frontier-large", "frontier-small", "coder-2"]),
            "prompt_sha256": hashlib.sha256(f"p{seed}/{i}".encode()).hexdigest(),
            "response_sha256": hashlib.sha256(f"r{seed}/{i}".encode()).hexdigest(),
            "input_tokens": rng.randrange(1, 8000),
            "output_tokens": rng.randrange(1, 4000),
        },
    }
    return record


def ndjson_lines(count: int, *, seed: int = 0, start: int = 0) -> list[str]:
    """`count` interaction records as NDJSON lines."""
    return [json.dumps(interaction(i, seed=seed)) for i in range(start, start + count)]
