"""API key checks in constant time: a presented key is looked up by the SHA-256 of the
whole secret and compared with hmac.compare_digest, so how long a refusal takes says
nothing about how much of a real key the guess got right.

Shown three ways: the database never sees the secret or any part of it, only its hash;
the Python code runs the very same lines for a guess that shares all but one character
with a real key as for one that shares none; and the final comparison is compare_digest.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event

import ledger.store.keys as keys_module
from ledger.store.keys import KeyRepository, hash_secret
from ledger.store.repository import Store


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[KeyRepository]:
    store = Store.open(f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        yield KeyRepository(store)
    finally:
        store.close()


def near_misses(secret: str) -> list[str]:
    """Guesses sharing a prefix of every length with `secret`, and none at all."""
    flip = {c: "A" if c != "A" else "B" for c in secret}
    return [
        secret[:n] + flip[secret[n]] + secret[n + 1 :]
        for n in (len(secret) - 1, len(secret) // 2, 4, 0)
    ] + [
        "mlk_" + "Z" * (len(secret) - 4),
        secret[:-1],
        secret + "x",
    ]


def statements(repo: KeyRepository) -> list[tuple[str, Any]]:
    """Every SQL statement the store runs from now on, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if not statement.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append((statement, parameters))

    for engine in {repo.store.engine, repo.store.reader}:
        event.listen(engine, "before_cursor_execute", record)

    return seen


def test_the_database_sees_only_the_hash_of_the_presented_key(repo: KeyRepository) -> None:
    real = repo.create("auditor").secret
    seen = statements(repo)
    for guess in [real, *near_misses(real)]:
        seen.clear()
        found = repo.authenticate(guess)
        assert (found is not None) == (guess == real)
        ((statement, parameters),) = seen  # one indexed read, whatever the guess
        assert "api_keys.key_hash = " in statement and "LIKE" not in statement.upper()
        sent = [
            v.encode() if isinstance(v, str) else bytes(v)
            for v in parameters
            if isinstance(v, (bytes, memoryview, str))
        ]
        assert sent == [hash_secret(guess)], sent
        for value in sent:
            assert guess.encode() not in value and real[:8].encode() not in value


def _lines_run(call: Any) -> list[int]:
    """Line numbers of ledger/store/keys.py executed during `call()`, in order."""
    lines: list[int] = []
    target = keys_module.__file__

    def tracer(frame: FrameType, what: str, _arg: Any) -> Any:
        if frame.f_code.co_filename != target:
            return None
        if what == "line":
            lines.append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return lines


def test_a_guess_close_to_a_key_runs_the_same_code_as_one_far_from_it(repo: KeyRepository) -> None:
    real = repo.create("ingest").secret
    repo.create("auditor")  # more keys in the table change nothing
    traces = {
        guess: _lines_run(lambda g=guess: repo.authenticate(g)) for guess in near_misses(real)
    }
    first = next(iter(traces.values()))
    assert first and all(trace == first for trace in traces.values()), (
        "the lookup branches on how close a guess is"
    )
    assert (
        _lines_run(lambda: repo.authenticate(real)) != first
    )  # (the tracer does see the difference a hit makes)


def test_the_stored_hash_is_compared_with_compare_digest(
    repo: KeyRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = repo.create("admin").secret
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((bytes(a), bytes(b)))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module keys.py calls it through
    assert repo.authenticate(real) is not None
    assert compared == [(hashlib.sha256(real.encode()).digest(),) * 2]
