"""The fault-injection hook: a no-op unless LEDGER_FAULT names the point, then SIGKILL
on the chosen hit; a malformed value is reported, never fatal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ledger import faults

SCRIPT = """
from ledger import faults
for n in (1, 2, 3):
    faults.point("seal.after_tiles")
    faults.point("seal.after_commit")
    print(n, flush=True)
"""


def run(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.FAULT_ENV}
    if spec is not None:
        env[faults.FAULT_ENV] = spec
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_point_kills_on_its_hit_and_only_there() -> None:
    assert run(None).stdout.split() == ["1", "2", "3"]
    killed = run("seal.after_commit:2")
    assert killed.returncode == -signal.SIGKILL and killed.stdout.split() == ["1"]
    assert killed.stderr == "ledger: fault injected at seal.after_commit (hit 2): SIGKILL\n"
    first = run("seal.after_tiles")
    assert first.returncode == -signal.SIGKILL and first.stdout == ""


def test_a_malformed_value_is_reported_once_and_changes_nothing() -> None:
    typo = run("seal.after_tile")
    assert typo.returncode == 0 and typo.stdout.split() == ["1", "2", "3"]
    assert typo.stderr.count("names no fault point") == 1 and "seal.after_tiles" in typo.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "names no fault point"),
        ("seal.after_commit:x", "must be an integer"),
        ("seal.after_commit:0", "at least 1"),
    ],
)
def test_parse_refuses_with_the_reason(spec: str, message: str) -> None:
    with pytest.raises(faults.FaultSpecError, match=message):
        faults.parse(spec)
    assert faults.parse("anchor.after_send:3") == ("anchor.after_send", 3)
    assert faults.parse("anchor.after_send") == ("anchor.after_send", 1)
