"""`ledger witness serve` (c2sp.org/tlog-witness) in real uvicorn processes, and the log's
witness client and worker against it, on a real store."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.core import merkle
from ledger.core.merkle import EMPTY_ROOT
from ledger.core.records import parse_object
from ledger.formats.cosignature import Cosigner, open_cosigned_checkpoint, witness_policy
from ledger.formats.note import Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint
from ledger.formats.tlog_witness import WitnessRefusal, encode_add_checkpoint
from ledger.service.sequencer import seal
from ledger.service.witness import (
    WITNESS_KEY_FILE,
    WitnessConfigError,
    WitnessEndpoint,
    WitnessError,
    WitnessWorker,
    parse_endpoint,
    read_endpoints,
    start_worker,
    submit,
)
from ledger.store.repository import Store
from ledger.store.witness import CosignatureRepository, WitnessState
from ledger.workload import interaction

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
LEAVES = [merkle.hash_leaf(f"record {i}".encode()) for i in range(64)]
NAME = "witness.example/w1"


def root(size: int) -> bytes:
    return merkle.root_hash(LEAVES[:size])


def note(size: int, signer: Signer = LOG, origin: str = ORIGIN) -> bytes:
    return Checkpoint(origin, size, root(size)).sign([signer])


def body(old: int, new: int, signer: Signer = LOG) -> bytes:
    proof = merkle.consistency_proof(old, LEAVES[:new]) if 0 < old < new else []
    return encode_add_checkpoint(old, proof, note(new, signer))


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, vkey: str) -> None:
        self.process, self.url, self.vkey = process, url, vkey

    def post(self, data: bytes) -> httpx.Response:
        return httpx.post(self.url + "/add-checkpoint", content=data, timeout=30)


def start(data_dir: Path, *logs: str) -> Served:
    args = ["witness", "serve", "--data-dir", str(data_dir), "--name", NAME, "--port", "0"]
    for log in logs or (LOG.vkey(),):
        args += ["--log", log]
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(10)
        raise AssertionError(process.stderr.read() if process.stderr else "no output")
    started = json.loads(line)
    return Served(process, started["url"], started["vkey"])


def stop(served: Served) -> None:
    served.process.terminate()
    served.process.wait(30)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Served]:
    served = start(tmp_path / "witness")
    yield served
    stop(served)


def test_the_key_is_made_once_kept_0600_and_never_printed(tmp_path: Path) -> None:
    data = tmp_path / "w"
    missing = ledger("witness", "key", "--data-dir", str(data))
    assert missing.returncode != 0 and "give --name" in missing.stderr
    made = ledger("witness", "key", "--data-dir", str(data), "--name", NAME)
    assert made.returncode == 0, made.stderr
    vkey = json.loads(made.stdout)["vkey"]
    key_file = data / WITNESS_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().strip()
    assert secret.startswith(f"PRIVATE+KEY+{NAME}+")
    again = ledger("witness", "key", "--data-dir", str(data))
    assert json.loads(again.stdout)["vkey"] == vkey
    assert secret.split("+")[-1] not in made.stdout + made.stderr + again.stdout
    other = ledger("witness", "key", "--data-dir", str(data), "--name", "other.example/w")
    assert other.returncode != 0 and "holds the key of witness" in other.stderr
    os.chmod(key_file, 0o644)
    loose = ledger("witness", "key", "--data-dir", str(data))
    assert loose.returncode != 0 and "chmod 600" in loose.stderr
    os.chmod(key_file, 0o600)
    no_log = ledger("witness", "serve", "--data-dir", str(tmp_path / "x"), "--name", NAME)
    assert no_log.returncode != 0 and "give the logs to witness" in no_log.stderr
    assert not (tmp_path / "x").exists()
    bad_log = ledger("witness", "serve", "--data-dir", str(data), "--log", "not-a-vkey")
    assert bad_log.returncode != 0 and "error: log 'not-a-vkey'" in bad_log.stderr


def test_it_cosigns_a_consistent_checkpoint(witness: Served) -> None:
    policy = witness_policy([witness.vkey], 1)
    first = witness.post(body(0, 5))
    assert first.status_code == 200, first.text
    assert first.text.startswith(f"\u2014 {NAME} ") and first.text.endswith("\n")
    second = witness.post(body(5, 17))
    assert second.status_code == 200, second.text
    cosigned = note(17) + second.content
    opened = open_cosigned_checkpoint(cosigned, ORIGIN, [LOG.verifier()], policy)
    assert opened.checkpoint.size == 17
    assert abs(opened.cosigned[0].timestamp - time.time()) < 60
    # The same checkpoint again is cosigned again.
    assert witness.post(body(17, 17)).status_code == 200
    # The monitoring endpoint serves it, with the log's signature and the witness's.
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    latest = httpx.get(f"{witness.url}/{origin_hash}/checkpoint", timeout=30)
    assert latest.status_code == 200
    open_cosigned_checkpoint(latest.content, ORIGIN, [LOG.verifier()], policy)
    unknown = httpx.get(f"{witness.url}/{'0' * 64}/checkpoint", timeout=30)
    assert unknown.status_code == 404


def test_it_refuses_with_the_specs_status_codes(witness: Served) -> None:
    assert witness.post(body(0, 10)).status_code == 200
    # Rollback: the witness has 10; a client that thinks it has 4 gets 409 and the size.
    stale = witness.post(body(4, 8))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "text/x.tlog.size"
    assert stale.content == b"10\n"
    # Going back below the witness's size from its size: old > size, 400.
    back = witness.post(encode_add_checkpoint(10, [], note(8)))
    assert back.status_code == 400
    assert back.headers["content-type"] == "application/problem+json"
    assert "beyond the checkpoint size" in back.json()["detail"]
    # An inconsistent proof (a forked tree of 12): 422, and nothing moves.
    forked = [*LEAVES[:5], merkle.hash_leaf(b"forged"), *LEAVES[6:12]]
    fork_note = Checkpoint(ORIGIN, 12, merkle.root_hash(forked)).sign([LOG])
    fork = encode_add_checkpoint(10, merkle.consistency_proof(10, forked), fork_note)
    refused = witness.post(fork)
    assert refused.status_code == 422 and "not consistent" in refused.json()["detail"]
    # Unknown origin: 404; a log key the witness does not trust, or a bad signature: 403.
    assert witness.post(body(10, 12, Signer(ORIGIN, bytes([9]) * 32))).status_code == 403
    parsed = parse_note(note(12))
    forged = type(parsed)(
        parsed.text, (type(parsed.signatures[0])(ORIGIN, LOG.key_id, bytes(64)),)
    ).encode()
    assert witness.post(encode_add_checkpoint(10, [], forged)).status_code == 403
    unknown = encode_add_checkpoint(0, [], note(3, origin="x.example/l"))
    assert witness.post(unknown).status_code == 404
    # Malformed: 400; too large: 413.
    assert witness.post(b"old 10\nnot a proof\n\n" + note(12)).status_code == 400
    assert witness.post(b"x" * (2 << 20)).status_code == 413
    # After all that, the witness is still at 10 and moves on from there.
    assert witness.post(body(10, 12)).status_code == 200


def test_racing_updates_one_wins_and_nothing_rolls_back(tmp_path: Path) -> None:
    """Two witness processes on one state database, the same requests racing to both:
    of two updates from the same size, one wins and the other gets 409; the stored size
    only grows."""
    data = tmp_path / "witness"
    one, two = start(data), start(data)
    try:
        assert one.post(body(0, 2)).status_code == 200
        size = 2
        for step in range(12):
            small, large = size + 1, size + 2 + step % 3
            results: dict[int, httpx.Response] = {}
            barrier = threading.Barrier(2)

            def send(
                server: Served,
                new: int,
                old: int = size,
                results: dict[int, httpx.Response] = results,
                barrier: threading.Barrier = barrier,
            ) -> None:
                barrier.wait()
                results[new] = server.post(body(old, new))

            threads = [
                threading.Thread(target=send, args=(one, small)),
                threading.Thread(target=send, args=(two, large)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses = sorted(r.status_code for r in results.values())
            assert statuses == [200, 409], {k: (r.status_code, r.text) for k, r in results.items()}
            winner = next(k for k, r in results.items() if r.status_code == 200)
            loser = next(r for r in results.values() if r.status_code == 409)
            assert loser.content == f"{winner}\n".encode()
            size = winner
            state = WitnessState.in_dir(data)
            assert state.latest(ORIGIN).tree_size == winner  # type: ignore[union-attr]
            state.close()
    finally:
        stop(one)
        stop(two)


def test_compare_and_swap_refuses_a_stale_writer(db_url: str) -> None:
    """The state itself, on SQLite and PostgreSQL: a writer whose check ran on an old size
    loses to one that moved the row meanwhile, whether it would insert or update."""
    state = WitnessState(db_url)
    inside, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def slow_check(size: int, seen: bytes) -> int:
        inside.set()
        release.wait(10)
        return size

    def slow() -> None:
        try:
            outcome.append(state.advance(ORIGIN, slow_check, 5, root(5), lambda _r: "a"))
        except WitnessRefusal as refusal:
            outcome.append(refusal)

    thread = threading.Thread(target=slow)
    thread.start()
    inside.wait(10)
    state.advance(ORIGIN, lambda s, r: s, 9, root(9), lambda _r: "b")  # moves 0 -> 9
    release.set()
    thread.join()
    assert isinstance(outcome[0], WitnessRefusal) and outcome[0].status == 409
    assert outcome[0].size == 9
    assert state.latest(ORIGIN).tree_size == 9  # type: ignore[union-attr]
    # And from a row that exists (UPDATE, not INSERT).
    inside.clear()
    release.clear()
    outcome.clear()
    thread = threading.Thread(target=slow)
    thread.start()
    inside.wait(10)
    state.advance(ORIGIN, lambda s, r: s, 12, root(12), lambda _r: "c")
    release.set()
    thread.join()
    assert isinstance(outcome[0], WitnessRefusal) and outcome[0].size == 12
    assert state.latest(ORIGIN).tree_size == 12  # type: ignore[union-attr]
    state.close()


# -- the client ---------------------------------------------------------------------------


def endpoint(served: Served) -> WitnessEndpoint:
    return parse_endpoint(f"{served.url} {served.vkey}")


def proof_of(old: int, new: int) -> list[bytes]:
    return merkle.consistency_proof(old, LEAVES[:new])


def test_submit_follows_409_and_checks_the_answer(witness: Served, tmp_path: Path) -> None:
    assert witness.post(body(0, 10)).status_code == 200
    with httpx.Client() as client:
        # The client believes the witness saw nothing: 409 says 10, it resends from 10.
        done = submit(client, endpoint(witness), note(20), 0, proof_of)
        assert done.old_size == 10 and len(done.signatures) == 1
        policy = witness_policy([witness.vkey], 1)
        open_cosigned_checkpoint(
            note(20) + done.signatures[0].line().encode(), ORIGIN, [LOG.verifier()], policy
        )
        # A checkpoint behind the witness: refused, clearly.
        with pytest.raises(WitnessError, match="beyond this checkpoint's 15"):
            submit(client, endpoint(witness), note(15), 0, proof_of)
        # An answer signed by another key than the one configured: refused.
        impostor = WitnessEndpoint(witness.url, Cosigner(NAME, bytes([3]) * 32).verifier())
        with pytest.raises(WitnessError, match="no cosignature of its key"):
            submit(client, impostor, note(21), 20, proof_of)
        # A witness that refuses: its status and reason.
        with pytest.raises(WitnessError, match="HTTP 403"):
            submit(client, endpoint(witness), note(22, Signer(ORIGIN, bytes(32))), 21, proof_of)


def make_store(tmp_path: Path, size: int) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'log.db'}")
    store.add_entries([[parse_object(interaction(i)) for i in range(size)]])
    seal(store)
    return store


def store_note(store: Store) -> bytes:
    state = store.state()
    return Checkpoint(ORIGIN, state.tree_size, state.root).sign([LOG])


def test_the_worker_collects_cosignatures_and_applies_the_policy(tmp_path: Path) -> None:
    store = make_store(tmp_path, 30)
    served = [start(tmp_path / f"w{i}") for i in range(2)]
    # A witness that is down, and one that accepts the connection but never answers.
    down = socket.socket()
    down.bind(("127.0.0.1", 0))
    down_url = f"http://127.0.0.1:{down.getsockname()[1]}"
    down.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    others = [Cosigner(f"w{i}.example/w", bytes([20 + i]) * 32) for i in range(2)]
    endpoints = [
        *(endpoint(s) for s in served),
        WitnessEndpoint(down_url, others[0].verifier()),
        WitnessEndpoint(silent_url, others[1].verifier()),
    ]
    errors: list[str] = []
    worker = WitnessWorker(
        store, lambda: store_note(store), endpoints, quorum=2, timeout=1.0, on_error=errors.append
    )
    try:
        started = time.monotonic()
        assert worker.round() == 2
        assert time.monotonic() - started < 5  # the silent witness cost one timeout
        assert len(errors) == 2 and any("ConnectError" in e for e in errors)
        first = store_note(store)
        assert worker.published(first)
        cosigned = worker.cosigned_note(first)
        policy = witness_policy([s.vkey for s in served], 2)
        open_cosigned_checkpoint(cosigned, ORIGIN, [LOG.verifier()], policy)
        # The log grows: the next round sends a real consistency proof from 30.
        store.add_entries([[parse_object(interaction(i)) for i in range(30, 75)]])
        seal(store)
        errors.clear()
        assert worker.round() == 2
        assert worker.published(store_note(store))
        assert store.state().tree_size == 75
        # A round with nothing new asks nobody that already cosigned.
        errors.clear()
        worker.round()
        assert len(errors) == 2  # only the down and silent witnesses were tried again
        # A witness restarted without its memory of our size: the 409 sets it right.
        worker._sizes.clear()
        store.add_entries([[parse_object(interaction(i)) for i in range(75, 80)]])
        seal(store)
        assert worker.round() == 2
    finally:
        worker.close()
        silent.close()
        for s in served:
            stop(s)
        store.close()


def test_the_worker_witnesses_an_earlier_checkpoint_before_the_latest(
    witness: Served, tmp_path: Path
) -> None:
    """The anchorer picked size 10 between two rounds; the log is at 25 already: the round
    sends 10 first, then 25, so the anchored checkpoint is cosigned too. A checkpoint the
    witness is already past is not sent (it could not cosign it any more)."""
    store = make_store(tmp_path, 10)
    anchored = store_note(store)
    store.add_entries([[parse_object(interaction(i)) for i in range(10, 25)]])
    seal(store)
    worker = WitnessWorker(
        store, lambda: store_note(store), [endpoint(witness)], quorum=1, earlier=lambda: anchored
    )
    try:
        assert worker.round() == 1
        repo = CosignatureRepository(store)
        assert [c.tree_size for c in repo.for_size(10)] == [10]
        assert [c.tree_size for c in repo.for_size(25)] == [25]
        policy = witness_policy([witness.vkey], 1)
        open_cosigned_checkpoint(worker.cosigned_note(anchored), ORIGIN, [LOG.verifier()], policy)
        # The next round: the witness is past 10, only the latest (25 -> 30) is sent.
        store.add_entries([[parse_object(interaction(i)) for i in range(25, 30)]])
        seal(store)
        assert worker.round() == 1
        assert len(repo.for_size(10)) == 1 and len(repo.for_size(30)) == 1
    finally:
        worker.close()
        store.close()


def test_the_worker_never_raises_and_a_quorum_can_be_missed(tmp_path: Path) -> None:
    store = make_store(tmp_path, 3)
    served = start(tmp_path / "w")
    errors: list[str] = []
    # The witness does not know this log's key: it refuses (403), the round goes on.
    other_log = Signer(ORIGIN, bytes([8]) * 32)
    worker = WitnessWorker(
        store,
        lambda: Checkpoint(ORIGIN, 3, store.state().root).sign([other_log]),
        [endpoint(served)],
        quorum=1,
        on_error=errors.append,
    )
    try:
        assert worker.round() == 0
        assert "HTTP 403" in errors[0]
        assert not worker.published(Checkpoint(ORIGIN, 3, store.state().root).sign([other_log]))
        stop_event = threading.Event()
        runner = threading.Thread(target=worker.run, args=(stop_event, 0.05))
        runner.start()
        time.sleep(0.3)
        stop_event.set()
        runner.join(10)
        assert not runner.is_alive() and len(errors) > 2
    finally:
        worker.close()
        stop(served)
        store.close()


def test_the_empty_tree_is_witnessed(witness: Served) -> None:
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT).sign([LOG])
    assert witness.post(encode_add_checkpoint(0, [], empty)).status_code == 200
    assert witness.post(body(0, 1)).status_code == 200
    assert base64.b64encode(EMPTY_ROOT).decode() in empty.decode()


def test_start_worker_runs_beside_the_service_only_with_witnesses(tmp_path: Path) -> None:
    store = make_store(tmp_path, 7)
    stop_event = threading.Event()
    notes: list[str] = []
    assert (
        start_worker(store, lambda: store_note(store), [], 0, stop_event, 0.05, notes.append)
        is None
    )
    served = start(tmp_path / "w")
    try:
        witnesses = read_endpoints(["# the auditor's witness", "", f"{served.url}/ {served.vkey}"])
        assert witnesses[0].url == served.url  # the trailing slash is dropped
        thread = start_worker(
            store, lambda: store_note(store), witnesses, 1, stop_event, 0.05, notes.append
        )
        assert thread is not None
        deadline = time.monotonic() + 30
        while not CosignatureRepository(store).for_size(7) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop_event.set()
        thread.join(10)
        assert not thread.is_alive() and notes == []
        kept = CosignatureRepository(store).for_size(7)
        assert [(c.witness, c.tree_size) for c in kept] == [(NAME, 7)]
    finally:
        stop(served)
        store.close()
    for bad in ("ftp://x " + served.vkey, "http://x", f"http://x {LOG.vkey()}"):
        with pytest.raises(WitnessConfigError):
            read_endpoints([bad])
