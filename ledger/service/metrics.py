"""Process-local counters of the running service, exported at /metrics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    """Counters exported at /metrics (process-local)."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    entries_accepted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self, method: str, route: str, status: int) -> None:
        with self.lock:
            self.requests[(method, route, status)] += 1

    def count_entries(self, count: int) -> None:
        with self.lock:
            self.entries_accepted += count
