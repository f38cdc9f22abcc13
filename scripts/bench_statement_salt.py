"""The cost of the statement-salt check in `mledger audit` (`check_lines` asks of every
digest record's line whether its salt is the log's statement salt, which needs one
SHA-256): check_lines on N digest-record lines with the check, against the same with
`statement_record` replaced by a constant False (the audit before the check),
alternating, 5 rounds; medians and their ratio.

    PYTHONPATH=. .venv/bin/python scripts/bench_statement_salt.py 200000
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from ledger.core.records import parse_object
from ledger.formats.export_line import export_line
from ledger.verify import audit


def _never(*_: Any) -> bool:
    return False


def main() -> None:
    n = int(sys.argv[1])
    lines = [
        export_line(
            i, parse_object({"v": 1, "kind": "digest", "body": {"sha256": f"{i:064x}"}}).canonical
        )[:-1]
        for i in range(n)
    ]
    checked = audit.statement_record
    times: dict[str, list[float]] = {"baseline": [], "now": []}
    for _ in range(5):
        for name, check in (("baseline", _never), ("now", checked)):
            audit.statement_record = check  # type: ignore[assignment]
            started = time.perf_counter()
            done = audit.check_lines(lines, 1)
            times[name].append(time.perf_counter() - started)
            assert done.failure is None
    for name, taken in times.items():
        print(f"{name}: median {statistics.median(taken):.3f} s for {n:,} digest lines")
    ratio = statistics.median(times["now"]) / statistics.median(times["baseline"])
    print(f"ratio now/baseline: {ratio:.3f}")


if __name__ == "__main__":
    main()
