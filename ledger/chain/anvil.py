"""The embedded dev chain: Anvil (from npm's @foundry-rs/anvil), state kept in a file.

`Anvil` starts the node on a port, loading the chain (blocks, receipts, contracts,
anchors) from its state file when there is one, and waits until it answers JSON-RPC.

Anvil itself writes its state in place (truncate, then write), so a node killed while
writing would leave a torn file and a chain that cannot start. Here the state file is
only ever replaced whole:

- `save_state` asks the node for its state (``anvil_dumpState``) and writes it to a
  temporary file, fsyncs it and renames it over the state file. A background thread
  does so every `save_interval` seconds when the chain's head moved, and `stop` does
  before stopping the node: a node killed with SIGKILL loses at most the last interval
  (the anchorer re-anchors what the chain lost: ledger/anchorer.py, step 13).
- The node's own dump on exit (SIGTERM, ``--dump-state``) goes to a separate file
  (``anvil-state.exit.json`` beside ``anvil-state.json``). The next start uses it if it
  is complete JSON (it is the newest state) and deletes it if it is torn.
- An exclusive lock on ``anvil-state.lock``, inherited by the node, is held as long as
  the node runs: a new start waits for an old node of the same state (still writing its
  exit dump) to be gone.

The node runs in its own process group, so a Ctrl-C in the terminal reaches only the
`ledger` process, which then stops Anvil in order; on Linux it also receives SIGTERM if
its parent dies, so a killed `mledger up` still leaves a saved chain behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import requests

from ledger.chain.errors import AnvilError

ANVIL_ENV = "LEDGER_ANVIL"
"""Environment variable naming the Anvil binary to use instead of node_modules'."""

STATE_FILE = "anvil-state.json"
LOG_FILE = "anvil.log"
DEFAULT_PORT = 8545
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
SAVE_INTERVAL = 1.0
"""Seconds between checks of the chain head; the state is saved when it moved."""

_PLATFORM_PACKAGES = {
    ("Linux", "x86_64"): "anvil-linux-amd64",
    ("Linux", "aarch64"): "anvil-linux-arm64",
    ("Darwin", "x86_64"): "anvil-darwin-amd64",
    ("Darwin", "arm64"): "anvil-darwin-arm64",
}


def _node_modules_roots() -> list[Path]:
    """Folders that may hold node_modules: the working directory, the project this
    package sits in, and their parents."""
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    roots: list[Path] = []
    for start in starts:
        for folder in (start, *start.parents):
            if folder not in roots:
                roots.append(folder)
    return roots


def find_anvil() -> Path:
    """The Anvil binary: $LEDGER_ANVIL, else node_modules (npm ci), else PATH.

    In node_modules the native binary of the platform package is preferred over the
    `.bin/anvil` Node wrapper, which does not wait for Anvil to save its state on exit.
    """
    from ledger.config import current

    configured = current().anvil
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise AnvilError(f"{ANVIL_ENV}={configured} is not an executable file")
        return path
    package = _PLATFORM_PACKAGES.get((platform.system(), platform.machine()))
    for root in _node_modules_roots():
        modules = root / "node_modules"
        if not modules.is_dir():
            continue
        if package:
            native = modules / "@foundry-rs" / package / "bin" / "anvil"
            if native.is_file():
                return native
        wrapper = modules / ".bin" / "anvil"
        if wrapper.exists():
            return wrapper
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilError(
        "Anvil is not installed (node_modules/.bin/anvil not found): run `npm ci` in the project"
        f" folder, or set {ANVIL_ENV} to an anvil binary"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """In the child before exec: get SIGTERM when the parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Anvil:
    """One Anvil node on 127.0.0.1:`port` (0: any free port), state in `state_file`."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        state_file: Path | None = None,
        log_file: Path | None = None,
        *,
        binary: Path | None = None,
        extra_args: tuple[str, ...] = (),
        save_interval: float = SAVE_INTERVAL,
    ) -> None:
        self.port = port
        self.state_file = state_file
        self.log_file = log_file
        self.binary = binary
        self.extra_args = extra_args
        self.save_interval = save_interval
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock_fd: int | None = None
        self._save_lock = threading.Lock()
        self._saved_head: str | None = None
        self._saver_stop = threading.Event()
        self._saver: threading.Thread | None = None

    @property
    def exit_state_file(self) -> Path | None:
        """Where the node dumps its state when it exits (promoted at the next start)."""
        return None if self.state_file is None else self.state_file.with_suffix(".exit.json")

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Anvil({self.url}, {state}, state_file={self.state_file})"

    @property
    def running(self) -> bool:
        """Whether the node process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start the node and wait until it answers eth_chainId."""
        if self.running:
            return self
        binary = self.binary or find_anvil()
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self._take_lock(timeout)
        try:
            if self.port == 0:
                self.port = free_port()
            elif port_in_use(self.port):
                raise AnvilError(
                    f"port {self.port} is in use: stop what listens there, choose another with"
                    " --rpc-port, or use that chain with --rpc-url"
                )
        except AnvilError:
            self._release_lock()
            raise
        # --quiet: errors only. Anvil's banner lists its dev accounts' private keys, and
        # no key belongs in a log file, public or not.
        arguments = [
            str(binary),
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--quiet",
            *self.extra_args,
        ]
        if self.state_file is not None and self.exit_state_file is not None:
            self._promote_exit_state()
            if self.state_file.exists():
                arguments += ["--load-state", str(self.state_file)]
            arguments += ["--dump-state", str(self.exit_state_file)]
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - lives as long as the node
        self.process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=self._log if self._log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log is not None else subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=()
            if self._lock_fd is None
            else (self._lock_fd,),  # the node holds the lock too
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        self._wait_ready(timeout)
        if self.state_file is not None and self.save_interval > 0:
            self._saver_stop = threading.Event()
            self._saver = threading.Thread(
                target=self._save_periodically, name="anvil-state", daemon=True
            )
            self._saver.start()
        return self

    # -- the state file ---------------------------------------------------------------

    def _take_lock(self, timeout: float) -> None:
        """Lock `<state>.lock`, waiting for a node still running on this state to exit."""
        assert self.state_file is not None
        if self._lock_fd is not None:
            return
        path = self.state_file.with_suffix(".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise AnvilError(
                        "another Anvil still runs on the chain state"
                        f" {self.state_file} (it holds {path.name}): stop it first"
                    ) from None
                time.sleep(0.05)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the lock lasts while the (dead) node held it too
            self._lock_fd = None

    def _promote_exit_state(self) -> None:
        """Make the node's exit dump the state file if it is complete; drop it if torn."""
        exit_file, state_file = self.exit_state_file, self.state_file
        assert exit_file is not None and state_file is not None
        if not exit_file.exists():
            return
        try:
            with open(exit_file, "rb") as handle:
                complete = isinstance(json.load(handle), dict)
        except (OSError, ValueError):
            complete = False
        if complete:
            with open(exit_file, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(exit_file, state_file)
        else:
            exit_file.unlink()
        _fsync_dir(state_file.parent)

    def save_state(self) -> None:
        """Write the node's current state to the state file, atomically (replaced whole)."""
        if self.state_file is None:
            raise AnvilError("this Anvil keeps no state file")
        with self._save_lock:
            head = self._head_hash()
            data = bytes.fromhex(str(self._rpc("anvil_dumpState"))[2:])
            if data[:2] == b"\x1f\x8b":  # gzip, as Anvil sends it
                data = gzip.decompress(data)
            partial = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
            with open(partial, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, self.state_file)
            _fsync_dir(self.state_file.parent)
            self._saved_head = head

    def _save_periodically(self) -> None:
        stop = self._saver_stop
        while not stop.wait(self.save_interval) and self.running:
            with contextlib.suppress(AnvilError, OSError, ValueError, requests.RequestException):
                if self._head_hash() != self._saved_head:
                    self.save_state()

    def _head_hash(self) -> str:
        block = self._rpc("eth_getBlockByNumber", "latest", False)
        return str(block["hash"]) if isinstance(block, dict) else ""

    def _rpc(self, method: str, *params: Any) -> Any:
        answer = requests.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            timeout=10,
        )
        document = answer.json()
        if "result" not in document:
            raise AnvilError(f"{method} failed on {self.url}: {document.get('error')}")
        return document["result"]

    def _stop_saver(self) -> None:
        self._saver_stop.set()
        saver, self._saver = self._saver, None
        if saver is not None and saver is not threading.current_thread():
            saver.join(timeout=15)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                self._close_log()
                raise AnvilError(f"anvil exited with code {code} while starting{self._log_tail()}")
            try:
                answer = requests.post(self.url, json=body, timeout=1.0)
                if answer.ok and "result" in answer.json():
                    return
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() >= deadline:
                self.stop()
                raise AnvilError(
                    f"anvil did not answer on {self.url} within {timeout:g} s{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        lines = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
        return (" (" + self.log_file.name + ": " + " | ".join(lines) + ")") if lines else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Save the state, SIGTERM (Anvil dumps it again on exit), wait; SIGKILL if it
        does not exit in time."""
        process = self.process
        if process is None:
            return
        self._stop_saver()
        try:
            if process.poll() is None:
                if self.state_file is not None:
                    with contextlib.suppress(
                        AnvilError, OSError, ValueError, requests.RequestException
                    ):
                        self.save_state()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            if self.state_file is not None:
                self._promote_exit_state()
        finally:
            self.process = None
            self._close_log()
            self._release_lock()

    def kill(self) -> None:
        """SIGKILL: the node dies without writing its state (for fault tests); the state
        file keeps the last save."""
        self._stop_saver()
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None
            self._close_log()
        self._release_lock()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
