"""An idle client connection stays open longer than clients keep one for reuse
(httpx: 5 s), so a request sent on it just as a short server timeout ran out cannot
fail with "Server disconnected without sending a response" (a real `ledger serve`)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

from ledger.service.workers import KEEP_ALIVE
from tests.api.conftest import Server


def _get(sock: socket.socket, host: str) -> bytes:
    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n", 1)[0]


def test_an_idle_connection_outlives_the_clients_reuse_window(server: Server) -> None:
    assert KEEP_ALIVE > 5
    where = urlparse(server.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        assert _get(sock, where.netloc) == b"HTTP/1.1 200 OK"
        time.sleep(6)  # past uvicorn's default 5 s and httpx's 5 s reuse window
        assert _get(sock, where.netloc) == b"HTTP/1.1 200 OK"
