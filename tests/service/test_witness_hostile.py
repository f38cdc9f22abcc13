"""Hostile witnesses (review 3: H2, M2, L2) against the real WitnessWorker, a real SQLite
store and real HTTP servers (http.server in a thread)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ledger.formats.cosignature import Cosigner, witness_policy
from ledger.formats.note import parse_note
from ledger.formats.tlog_checkpoint import parse_checkpoint
from ledger.service.witness import WitnessEndpoint, WitnessWorker, cosigned_note_of
from ledger.store import tlog
from ledger.store.witness import CosignatureRepository
from tests.service.test_witness import make_store, store_note

EVIL = Cosigner("evil.example/w", bytes([41]) * 32)
HONEST = Cosigner("honest.example/w", bytes([42]) * 32)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def checkpoint_text(body: bytes) -> str:
    """The note's checkpoint text in an add-checkpoint body (after the blank line)."""
    text = body.decode()
    note = text.split("\n\n", 1)[1]
    return parse_note(note).text


def cosigning(cosigner: Cosigner, timestamp: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            line = cosigner.cosign(checkpoint_text(body), timestamp).line().encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(line)))
            self.end_headers()
            self.wfile.write(line)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def test_a_future_dated_cosignature_is_refused_not_stored(tmp_path: Path) -> None:
    store = make_store(tmp_path, 5)
    evil, evil_url = serve(cosigning(EVIL, 2**63 - 1))
    good, good_url = serve(cosigning(HONEST, int(time.time())))
    endpoints = [
        WitnessEndpoint(good_url, HONEST.verifier()),
        WitnessEndpoint(evil_url, EVIL.verifier()),
    ]
    errors: list[str] = []
    worker = WitnessWorker(store, lambda: store_note(store), endpoints, 2, on_error=errors.append)
    try:
        assert worker.round() == 1
        assert len(errors) == 1 and "evil.example/w" in errors[0]
        assert "is dated 9223372036854775807, after" in errors[0], errors
        note = store_note(store)
        assert not worker.published(note)  # 1 of the 2 the quorum asks
        stored = CosignatureRepository(store).for_size(5)
        assert [c.witness for c in stored] == ["honest.example/w"]
        checkpoint = parse_checkpoint(parse_note(note).text)
        tlog.keep_note(store, checkpoint.size, checkpoint.root, note.decode())
        served = cosigned_note_of(store, checkpoint.size, checkpoint.root)
        assert served is not None and "evil.example/w" not in served
        full = worker.cosigned_note(note)
        policy = witness_policy([HONEST.vkey(), EVIL.vkey()], 1)
        assert [c.name for c in policy.check(parse_note(full), int(time.time()) + 600)] == [
            "honest.example/w"
        ]
    finally:
        worker.close()
        evil.shutdown()
        good.shutdown()
        store.close()


def slowloris(delay: float, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "60000")
            self.end_headers()
            try:
                for _ in range(60000):
                    if stop.is_set():
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(delay)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def test_a_trickling_witness_is_cut_at_the_timeout(tmp_path: Path) -> None:
    stop = threading.Event()
    store = make_store(tmp_path, 5)
    slow, slow_url = serve(slowloris(0.3, stop))
    good, good_url = serve(cosigning(HONEST, int(time.time())))
    endpoints = [  # the slow witness listed first
        WitnessEndpoint(slow_url, EVIL.verifier()),
        WitnessEndpoint(good_url, HONEST.verifier()),
    ]
    errors: list[str] = []
    worker = WitnessWorker(
        store, lambda: store_note(store), endpoints, 1, timeout=1.0, on_error=errors.append
    )
    try:
        started = time.monotonic()
        assert worker.round() == 1
        took = time.monotonic() - started
        assert took < 3, took  # timeout 1 s, plus at most one read
        assert any("did not end within the timeout" in e for e in errors), errors
        assert worker.published(store_note(store))
    finally:
        stop.set()
        slow.shutdown()
        slow.server_close()
        good.shutdown()
        worker.close()
        store.close()


def test_a_honest_witness_is_kept_while_a_slow_one_answers(tmp_path: Path) -> None:
    stop = threading.Event()
    store = make_store(tmp_path, 5)
    slow, slow_url = serve(slowloris(0.3, stop))
    good, good_url = serve(cosigning(HONEST, int(time.time())))
    endpoints = [
        WitnessEndpoint(slow_url, EVIL.verifier()),
        WitnessEndpoint(good_url, HONEST.verifier()),
    ]
    worker = WitnessWorker(store, lambda: store_note(store), endpoints, 1, timeout=4.0)
    done = threading.Event()
    threading.Thread(target=lambda: (worker.round(), done.set()), daemon=True).start()
    try:
        deadline = time.monotonic() + 3
        while not CosignatureRepository(store).for_size(5):
            assert time.monotonic() < deadline, "the honest cosignature waited for the slow one"
            time.sleep(0.05)
        assert not done.is_set()  # the slow witness is still answering
    finally:
        stop.set()
        done.wait(10)
        slow.shutdown()
        slow.server_close()
        good.shutdown()
        worker.close()
        store.close()


def test_a_witness_error_body_is_escaped_in_the_operators_log(tmp_path: Path) -> None:
    forged = b"oops\nledger: anchored tree size 999999 in tx 0xdead (forged line)\x1b[2J"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.send_header("Content-Length", str(len(forged)))
            self.end_headers()
            self.wfile.write(forged)

        def log_message(self, *args: object) -> None:
            pass

    store = make_store(tmp_path, 5)
    server, url = serve(Handler)
    errors: list[str] = []
    worker = WitnessWorker(
        store,
        lambda: store_note(store),
        [WitnessEndpoint(url, EVIL.verifier())],
        1,
        on_error=errors.append,
    )
    try:
        worker.round()
        assert len(errors) == 1
        assert "\n" not in errors[0] and "\x1b" not in errors[0]
        assert "HTTP 500: 'oops\\nledger: anchored tree size 999999" in errors[0], errors
    finally:
        worker.close()
        server.shutdown()
        store.close()
