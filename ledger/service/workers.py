"""API worker processes: several uvicorn servers sharing one listening socket.

Python runs one thread of bytecode at a time, so a single process uses one core for
parsing, validating and hashing requests. `mledger serve --workers N` binds the socket
once and forks N processes that each build their own app (their own database
connections, their own group-commit thread) and accept on it; the kernel spreads
connections between them. The parent keeps the sequencer and the anchorer.

Workers are forked before the parent opens its database or starts a thread, so nothing
is shared but the socket. A worker exits when the parent goes away.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.jsonlimits import restore_recursion_limit

PARENT_POLL = 1.0
"""Seconds between a worker's checks that its parent is alive."""


KEEP_ALIVE = 30
"""Seconds an idle client connection stays open. Longer than clients keep one for
reuse (httpx: 5 s): with uvicorn's 5 s the server could close a connection just as a
client sent its next request on it, which then failed ("Server disconnected without
sending a response")."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass
class WorkerPool:
    """The forked API workers of this process."""

    sock: socket.socket
    url: str
    pids: list[int] = field(default_factory=list)

    def alive(self) -> int:
        """How many workers are still running (reaps the others)."""
        running = []
        for pid in self.pids:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done == 0:
                running.append(pid)
        self.pids = running
        return len(running)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every worker (uvicorn finishes open requests), then wait for them."""
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.pids:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.pids = []
        self.sock.close()


def _run_worker(sock: socket.socket, make_app: Callable[[], Any], parent: int) -> None:
    import uvicorn

    restore_recursion_limit()  # before anything reads a request (ledger.jsonlimits)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE,
        )
    )

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        server.should_exit = True

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    server.run(sockets=[sock])


def fork_workers(count: int, host: str, port: int, make_app: Callable[[], Any]) -> WorkerPool:
    """Bind host:port and fork `count` workers serving `make_app()` on it.

    Call before opening databases or starting threads in this process.
    """
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    pool = WorkerPool(sock, f"http://{shown}:{bound}")
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _run_worker(sock, make_app, parent)
            except BaseException as error:  # noqa: BLE001 - reported; the parent sees the exit
                sys.stderr.write(f"ledger: API worker {os.getpid()} stopped: {error}\n")
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        pool.pids.append(pid)
    return pool
