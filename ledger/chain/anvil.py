"""The embedded dev chain: Anvil (from npm's @foundry-rs/anvil), state kept in a file.

`Anvil` starts the node on a port with ``--state FILE``, so the chain (blocks, receipts,
contracts, anchors) is loaded from the file at start and written back when the node
stops, and waits until it answers JSON-RPC. Stopping sends SIGTERM, which makes Anvil
write its state, and waits for it to exit.

The node runs in its own process group, so a Ctrl-C in the terminal reaches only the
`ledger` process, which then stops Anvil in order; on Linux it also receives SIGTERM if
its parent dies, so a killed `ledger up` still leaves a saved chain behind.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
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
    configured = os.environ.get(ANVIL_ENV)
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
    ) -> None:
        self.port = port
        self.state_file = state_file
        self.log_file = log_file
        self.binary = binary
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

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
        if self.port == 0:
            self.port = free_port()
        elif port_in_use(self.port):
            raise AnvilError(
                f"port {self.port} is in use: stop what listens there, choose another with"
                " --rpc-port, or use that chain with --rpc-url"
            )
        # --quiet: errors only. Anvil's banner lists its dev accounts' private keys, and
        # no key belongs in a log file, public or not.
        arguments = [str(binary), "--port", str(self.port), "--host", "127.0.0.1", "--quiet", *self.extra_args]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            arguments += ["--state", str(self.state_file)]
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - lives as long as the node
        self.process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=self._log if self._log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log is not None else subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        self._wait_ready(timeout)
        return self

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
                raise AnvilError(f"anvil did not answer on {self.url} within {timeout:g} s{self._log_tail()}")
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
        """SIGTERM (Anvil writes its state), wait; SIGKILL if it does not exit in time."""
        process = self.process
        if process is None:
            return
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        finally:
            self.process = None
            self._close_log()

    def kill(self) -> None:
        """SIGKILL: the node dies without writing its state (for fault tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None
            self._close_log()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
