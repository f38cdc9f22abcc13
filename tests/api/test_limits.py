"""Request size limits and the per-key rate limit (ledger.api.limits), on a real
`ledger serve` started with small limits: bodies over LEDGER_MAX_BODY_BYTES get 413
problem+json before they are read (declared or chunked), and a key past
LEDGER_RATE_LIMIT / LEDGER_RATE_BURST gets 429 problem+json with Retry-After."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.api.limits import DEFAULT_MAX_BODY_BYTES, Limits, RateLimiter
from ledger.errors import InvalidRequestError
from tests.api.conftest import ADMIN_KEY, Server, assert_problem

MAX_BODY = 1 << 20
RATE, BURST = 2, 5


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server allowing 1 MiB bodies and 2 requests/s per key with bursts of 5."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEDGER_MAX_BODY_BYTES", str(MAX_BODY))
        patch.setenv("LEDGER_RATE_LIMIT", str(RATE))
        patch.setenv("LEDGER_RATE_BURST", str(BURST))
        running = Server(tmp_path_factory.mktemp("limits") / "data", "--seal-interval", "3600")
    try:
        yield running
    finally:
        assert running.stop() == 0


# -- the settings and the bucket ---------------------------------------------------


def test_defaults_do_not_throttle_tests_or_benchmarks() -> None:
    limits = Limits.from_env({})
    assert limits == Limits() and limits.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 32 << 20
    assert limits.rate >= 1000 and limits.burst >= 2000


def test_settings_from_the_environment() -> None:
    assert Limits.from_env({"LEDGER_RATE_LIMIT": "50"}) == Limits(DEFAULT_MAX_BODY_BYTES, 50, 100)
    assert Limits.from_env(
        {"LEDGER_RATE_LIMIT": "0.5", "LEDGER_RATE_BURST": "3", "LEDGER_MAX_BODY_BYTES": "1024"}
    ) == Limits(1024, 0.5, 3)
    assert Limits.from_env({"LEDGER_RATE_LIMIT": "0"}).rate == 0  # off
    for name, value in [
        ("LEDGER_RATE_LIMIT", "fast"),
        ("LEDGER_RATE_LIMIT", "-1"),
        ("LEDGER_RATE_LIMIT", "nan"),
        ("LEDGER_RATE_BURST", "0"),
        ("LEDGER_RATE_BURST", "1.5"),
        ("LEDGER_MAX_BODY_BYTES", "16MiB"),
    ]:
        with pytest.raises(InvalidRequestError, match=name):
            Limits.from_env({name: value})


def test_token_bucket_per_key() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == pytest.approx(0.5)  # one token comes back every 0.5 s
    assert limiter.take("b") is None  # another key has its own bucket
    now[0] += 0.5
    assert limiter.take("a") is None and limiter.take("a") is not None
    now[0] += 60  # refills up to the burst, no further
    assert [limiter.take("a") for _ in range(4)][-1] is not None
    assert all(RateLimiter.unlimited().take("a") is None for _ in range(10_000))


# -- request bodies ------------------------------------------------------------------


def _connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response, read until the server closes (a reset
    after the answer counts as closed: the server drops what it did not read)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    return int(lines[0].split()[1]), headers, body


def _request_head(path: str, *headers: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: ledger",
        f"Authorization: Bearer {ADMIN_KEY}",
        "Content-Type: application/json",
    ]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


CHUNK = b" " * 65536


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def test_declared_oversized_body_is_refused_before_it_is_read(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request_head("/v1/evidence", "Content-Length: 1073741824"))
        sock.sendall(b'{"kind": ')  # and nothing more: the answer must not wait for the gigabyte
        status, headers, body = _read_response(sock)
    assert status == 413 and headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 413 and problem["title"] == "Content Too Large"
    assert problem["detail"] == f"request body is 1073741824 bytes; the limit is {MAX_BODY}"


@pytest.mark.parametrize("path", ["/v1/evidence", "/v1/entries/batch"])
def test_chunked_body_over_the_limit_is_refused(limited: Server, path: str) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request_head(path, "Transfer-Encoding: chunked"))
        for _ in range(MAX_BODY // len(CHUNK) + 1):
            sock.sendall(_chunk(CHUNK))
        sock.sendall(b"0\r\n\r\n")
        status, headers, body = _read_response(sock)
    assert status == 413 and headers["content-type"] == "application/problem+json", body
    assert headers["connection"] == "close"
    assert json.loads(body)["detail"] == f"request body exceeds {MAX_BODY} bytes"


@pytest.mark.parametrize("path", ["/v1/evidence", "/v1/entries/batch", "/v1/admin/seal"])
def test_endless_chunked_body_is_not_read(limited: Server, path: str) -> None:
    """Whether the route reads bodies or takes none (seal), the server stops reading a
    chunked stream near the limit: the client's sends soon fail, long before 1 GiB."""
    sent = 0
    with _connect(limited) as sock:
        sock.settimeout(10)
        sock.sendall(_request_head(path, "Transfer-Encoding: chunked"))
        with pytest.raises((ConnectionResetError, BrokenPipeError, TimeoutError)):
            while sent < 1 << 30:
                sock.sendall(_chunk(CHUNK))
                sent += len(CHUNK)
    assert sent < 64 * MAX_BODY  # the limit plus socket buffers


def test_body_under_the_limit_passes(limited: Server) -> None:
    padded = b'{"kind": "interaction"' + b" " * (MAX_BODY - 100) + b"}"
    with limited.client(limited.key("auditor")) as client:
        response = client.post(
            "/v1/evidence", content=padded, headers={"content-type": "application/json"}
        )
    assert response.status_code != 413, response.text  # 409: this server has no chain


# -- the rate limit -----------------------------------------------------------------


def test_key_past_its_rate_gets_429_with_retry_after(limited: Server) -> None:
    busy, other = limited.key("auditor"), limited.key("auditor")
    with limited.client(busy) as client, limited.client(other) as calm, limited.client() as public:
        answers = [client.get("/v1/entries") for _ in range(BURST + 3)]
        statuses = [answer.status_code for answer in answers]
        assert statuses[:BURST] == [200] * BURST and 429 in statuses[BURST:], statuses
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert_problem(refused, 429, "over its rate limit of 2 requests/s")
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 1 + BURST // RATE
        assert calm.get("/v1/entries").status_code == 200  # each key has its own bucket
        assert public.get("/healthz").status_code == 200  # public routes take no key
        time.sleep(retry_after)
        assert client.get("/v1/entries").status_code == 200


def test_a_rejected_key_never_spends_tokens(limited: Server) -> None:
    with limited.client("mlk_not-a-key") as stranger:
        statuses = {stranger.get("/v1/entries").status_code for _ in range(BURST + 3)}
    assert statuses == {401}


def test_bad_limit_settings_stop_the_server(tmp_path: Path) -> None:
    from tests.api.conftest import ledger

    result = ledger(
        "serve",
        "--data-dir",
        str(tmp_path),
        "--port",
        "0",
        env={"LEDGER_RATE_LIMIT": "lots"},
        check=False,
    )
    # refused as a bad setting (ledger.config) before anything starts: exit 2, named
    assert result.returncode == 2 and result.stderr.startswith(
        "error: bad setting: LEDGER_RATE_LIMIT (environment): Input should be a valid number"
    )
    assert "got 'lots'" in result.stderr and not any(tmp_path.iterdir())
