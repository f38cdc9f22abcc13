"""An erasure killed between its commit and its scrub (fault point
``erase.after_commit``): the real `mledger serve` on SQLite, SIGKILLed there, leaves the
erased bytes in the data dir's files and the scrub recorded as owed; restarted, it runs
the owed scrub, and no file of the data dir holds the erased account id, salts or
request ids any more, while the service still runs and another connection holds the
database open (SQLite checkpoints when the last connection closes: a clean stop, or the
restart's own opening and closing, must not be what removes them)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import httpx

from ledger.chain.anvil import free_port
from ledger.workload import interaction
from tests.service.crash.support import rows, serve, wait_health

SECRET = "carol-51d0e7"
COUNT = 40


def _records() -> list[dict[str, object]]:
    """COUNT interactions, every 4th of SECRET, the rest of dave."""
    return [interaction(i, seed=17, account=SECRET if i % 4 == 0 else "dave") for i in range(COUNT)]


def _erased_values() -> list[bytes]:
    """The account id, and each of its records' salt and request id."""
    values = [SECRET.encode()]
    for record in _records()[::4]:
        body = record["body"]
        assert isinstance(body, dict)
        values += [str(record["salt"]).encode(), f'"{body["request_id"]}"'.encode()]
    return values


def _found(data: Path) -> list[str]:
    """Which erased values each file of `data` still holds ("file: value")."""
    files = {path.name: path.read_bytes() for path in data.iterdir() if path.is_file()}
    return [f"{name}: {v!r}" for name, b in files.items() for v in _erased_values() if v in b]


def test_an_erasure_killed_before_its_scrub_is_scrubbed_at_the_restart(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    first = serve(data, port, None, "erase.after_commit").wait_ready()
    with first.http() as admin:
        sent = admin.post("/v1/entries/batch", json={"entries": _records()})
        assert sent.status_code == 202, sent.text
        wait_health(first.url, lambda h: h["tree_size"] == COUNT and h["pending"] == 0)
        try:
            admin.post("/v1/admin/erasures", json={"account": SECRET, "reason": "GDPR"})
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("the erasure answered: the fault point was not reached")
    first.expect_fault()
    left = _found(data)
    assert any(SECRET in found for found in left), left  # the crash left the bytes
    assert rows(data, "SELECT count(*) FROM entries WHERE erased_at IS NOT NULL") == [(10,)]
    assert rows(data, "SELECT count(*) FROM scrub_pending") == [(1,)]
    assert _found(data) == left  # reading the rows changed nothing

    # An idle connection held open meanwhile (as an API worker process or a reader
    # would): the service's own opening and closing of stores at its start is then never
    # the last connection to close, which SQLite makes checkpoint.
    with closing(sqlite3.connect(data / "ledger.db")) as keeper:
        assert keeper.execute("SELECT count(*) FROM entries").fetchone() == (COUNT + 1,)
        second = serve(data, port, None).wait_ready()
        said = second.wait_stderr("erasure: ran the scrub owed since")
        assert "PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on" in said, said
        assert second.process.poll() is None  # still running: no clean stop checkpointed
        assert _found(data) == []
    assert rows(data, "SELECT count(*) FROM scrub_pending") == [(0,)]
    with second.http() as admin:
        again = admin.post("/v1/admin/erasures", json={"account": SECRET, "reason": "GDPR"})
    assert again.status_code == 200, again.text
    assert (again.json()["erased"], again.json()["scrubbed"]) == (0, "nothing erased")
    second.kill()
