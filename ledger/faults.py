"""Fault injection for crash tests: die by SIGKILL at a named point of the crash order.

The ingest commit, the sequencer, erasure and the anchorer call `point(name)` at the places where
a crash is hardest to reach by timing alone. With ``LEDGER_FAULT`` unset (production)
`point` returns at once. With ``LEDGER_FAULT=name`` the process kills itself with
SIGKILL (no cleanup, no flush of anything but one line on stderr) the first time it
reaches that point; ``LEDGER_FAULT=name:N`` on the N-th time. Tests restart the process
and check that nothing acknowledged was lost and nothing was stored twice.

The points, in crash order, are the keys of `POINTS`; docs/operations.md ("Crash
safety and chain faults") says what a crash at each one shows.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter

from ledger.config import FAULT_ENV, fault_spec
from ledger.core.errors import InputError

POINTS: dict[str, str] = {
    "ingest.before_commit": "entries inserted, their transaction not yet committed",
    "ingest.after_commit": "entries committed, the 202 with their receipts not yet sent",
    "seal.after_tiles": "tiles and runs written, the log state not yet replaced (same transaction)",
    "seal.after_commit": "a seal committed, the next step not started",
    "erase.after_commit": (
        "an erasure committed (with the scrub it owes recorded), its scrub not yet run"
    ),
    "anchor.after_record": "anchor transaction signed and recorded as submitted, not yet sent",
    "anchor.after_send": "anchor transaction sent, not yet mined or recorded as confirmed",
    "anchor.before_confirm": (
        "anchor transaction mined and deep enough, not yet recorded as confirmed"
    ),
}
"""Every fault point and the state a crash there leaves behind."""

_hits: Counter[str] = Counter()
_lock = threading.Lock()
_warned: set[str] = set()


class FaultSpecError(InputError):
    """``LEDGER_FAULT`` is not ``name`` or ``name:N`` with a known name and N >= 1."""


def parse(spec: str) -> tuple[str, int]:
    """(point name, hit number) of a ``LEDGER_FAULT`` value."""
    name, _, count = spec.strip().partition(":")
    if name not in POINTS:
        raise FaultSpecError(
            f"{FAULT_ENV}={spec!r} names no fault point; the points are {', '.join(POINTS)}"
        )
    try:
        hit = int(count) if count else 1
    except ValueError:
        raise FaultSpecError(
            f"{FAULT_ENV}={spec!r}: the hit number after ':' must be an integer"
        ) from None
    if hit < 1:
        raise FaultSpecError(f"{FAULT_ENV}={spec!r}: the hit number must be at least 1")
    return name, hit


def point(name: str) -> None:
    """A fault point: with ``LEDGER_FAULT`` naming it, SIGKILL this process here."""
    spec = fault_spec()
    if not spec:
        return
    assert name in POINTS, f"unknown fault point {name!r}"
    try:
        wanted, hit = parse(spec)
    except FaultSpecError as error:
        if spec not in _warned:  # a typo must not pass silently, nor break the service
            _warned.add(spec)
            sys.stderr.write(f"ledger: {error}\n")
        return
    if wanted != name:
        return
    with _lock:
        _hits[name] += 1
        if _hits[name] != hit:
            return
        sys.stderr.write(f"ledger: fault injected at {name} (hit {hit}): SIGKILL\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
