"""A real `ledger serve` process on a free port, keys made with the real CLI, httpx."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import free_port
from ledger.formats.identity import LogIdentity, parse_identity

ADMIN_KEY = "test-admin-key-0123456789abcdef"
"""LEDGER_BOOTSTRAP_ADMIN_KEY of the test servers."""


def ledger(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `ledger` command."""
    result = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ledger {' '.join(args)} failed ({result.returncode}): {result.stderr}"
        )
    return result


class Server:
    """`ledger serve` in the background; `client(key)` talks to it."""

    def __init__(self, data_dir: Path, *extra: str, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.where = ["--data-dir", str(data_dir)] + (
            ["--database-url", database_url] if database_url else []
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "serve",
                *self.where,
                "--port",
                self.url.rsplit(":", 1)[1],
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
        )
        deadline = time.monotonic() + 90  # a busy two-core machine starts it slowly
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()  # else communicate() waits for a server that runs on
                raise AssertionError(f"ledger serve did not start: {self.process.communicate()[1]}")
            time.sleep(0.05)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def key(self, role: str, licensee: str | None = None) -> str:
        """A new key made with `ledger keys create`."""
        args = ["keys", "create", "--role", role, *self.where]
        if licensee:
            args += ["--licensee", licensee]
        return str(json.loads(ledger(*args).stdout)["key"])

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process.communicate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module; it seals only when asked (POST /v1/admin/seal)."""
    running = Server(tmp_path_factory.mktemp("api") / "data", "--seal-interval", "3600")
    try:
        yield running
    finally:
        assert running.stop() == 0


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    """A key per role, plus a licensee key for licensee "acme"."""
    return {
        "admin": ADMIN_KEY,
        "ingest": server.key("ingest"),
        "auditor": server.key("auditor"),
        "licensee": server.key("licensee", "acme"),
    }


def pinned_log(server: Server) -> LogIdentity:
    """The identity a verifier pins for `server`'s log: GET /v1/log when the log has a
    deployment; else its log id and log key as its signed checkpoints publish them (a log
    without a deployment signs receipts in a domain that names no chain or contract, so
    those fields are placeholders nothing compares; it seals first: a checkpoint needs one)."""
    with server.client(ADMIN_KEY) as admin:
        published = admin.get("/v1/log")
        if published.status_code == 200:
            return parse_identity(published.content)
        assert published.status_code == 404, published.text
        admin.post("/v1/admin/seal").raise_for_status()
        checkpoint = admin.get("/v1/checkpoints/latest").json()
    log_id, signer = (
        bytes.fromhex(checkpoint["log_id"][2:]),
        bytes.fromhex(checkpoint["signer"][2:]),
    )
    return LogIdentity("unanchored", 31337, bytes(20), log_id, None, signer, 0)


def identity_file(server: Server, path: Path) -> Path:
    """The log identity of `server` (GET /v1/log), written to `path` for `--log`."""
    with server.client() as public:
        response = public.get("/v1/log")
    assert response.status_code == 200, response.text
    path.write_bytes(response.content)
    return path


def assert_problem(response: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    """`response` is problem+json with `status` and every needle in its detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"] == "about:blank"
    for needle in needles:
        assert needle in problem["detail"], problem
    return dict(problem)
