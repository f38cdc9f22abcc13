"""Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol.

Just enough of the protocol for page tests: open a page, evaluate JavaScript (awaiting
promises), type text as a paste would, and collect the page's errors (exceptions,
console errors, CSP reports). One websocket per page (the `websockets` package, sync
client); no browser is downloaded.

Install the browser with `apt-get install -y chromium` (Debian); LEDGER_TEST_CHROMIUM
names another binary.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import pytest
from websockets.sync.client import ClientConnection, connect

START_TIMEOUT = 30.0
"""Seconds to wait for Chromium's DevTools endpoint."""

FLAGS = (
    "--headless",
    "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """The Chromium binary: LEDGER_TEST_CHROMIUM, or chromium / chromium-browser on PATH."""
    named = os.environ.get("LEDGER_TEST_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary, or a failed test saying how to install it (`make test` does)."""
    binary = find_chromium()
    if binary is None:
        pytest.fail(
            "chromium is not installed: apt-get install -y chromium (or set LEDGER_TEST_CHROMIUM)"
        )
    return binary


class PageError(AssertionError):
    """JavaScript evaluated in the page threw."""


class Page:
    """One tab, over its DevTools websocket."""

    def __init__(self, websocket_url: str) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(websocket_url, max_size=None, open_timeout=10)
        )
        self._ids = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.send(domain)

    def close(self) -> None:
        self._stack.close()

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result; events seen meanwhile are kept."""
        self._ids += 1
        number = self._ids
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == number:
                if "error" in message:
                    raise PageError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        answer = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise PageError(
                f"{expression[:80]!r} threw:"
                f" {details.get('exception', {}).get('description') or details}"
            )
        return answer.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll `expression` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {expression!r}; page errors: {self.errors()}"
                )
            time.sleep(0.05)

    def goto(self, url: str) -> None:
        """Open `url` and wait until the document has loaded."""
        self.send("Page.navigate", url=url)
        self.wait_for(f"document.readyState === 'complete' && location.href === {json.dumps(url)}")

    def insert_text(self, text: str) -> None:
        """Type `text` into the focused element at once, as a paste does."""
        self.send("Input.insertText", text=text)

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and browser log errors (CSP included) so far."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(
                    str(params.get("exceptionDetails", {}).get("exception", {}).get("description"))
                )
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(
                    " ".join(
                        str(arg.get("value", arg.get("description")))
                        for arg in params.get("args", [])
                    )
                )
            elif (
                event["method"] == "Log.entryAdded"
                and params.get("entry", {}).get("level") == "error"
            ):
                found.append(str(params["entry"].get("text")))
        return found


class Chromium:
    """A headless Chromium with its own profile in `profile`; `page()` is its tab."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its helper processes go with it (stop)
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stderr is not None
        threading.Thread(target=self._drain, args=(self.process.stderr, lines), daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError(
                    f"chromium did not open its DevTools endpoint: {''.join(seen[-10:])}"
                ) from None
            seen.append(line)
            if line.startswith("DevTools listening on ws://"):
                self.endpoint = line.split("ws://", 1)[1].split("/", 1)[0]
                break

    @staticmethod
    def _drain(stream: IO[str], lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line)

    def targets(self) -> list[dict[str, Any]]:
        """The browser's tabs (and other targets), as DevTools lists them."""
        with urllib.request.urlopen(f"http://{self.endpoint}/json/list", timeout=10) as answer:
            found: list[dict[str, Any]] = json.load(answer)
        return found

    def page(self) -> Page:
        """The browser's first tab."""
        (tab,) = [target for target in self.targets() if target["type"] == "page"][:1]
        return Page(tab["webSocketDebuggerUrl"])

    def tab_at(self, prefix: str, timeout: float = 20.0) -> Page:
        """The tab (a popup, say) whose URL starts with `prefix`, once there is one."""
        deadline = time.monotonic() + timeout
        while True:
            for target in self.targets():
                if target["type"] == "page" and target["url"].startswith(prefix):
                    return Page(target["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no tab at {prefix}: {[t['url'] for t in self.targets()]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM to Chromium's process group (it started it), SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        try:  # helpers that outlived the browser (same group)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
