"""Limits on what one client can make the service do: request body size, requests per key.

Settings, from the environment (read once, by `create_app`):

- ``LEDGER_MAX_BODY_BYTES``: largest request body, default 32 MiB (the batch route's own
  limit; routes keep their tighter ones, 16 KiB for a single record). A body declared
  larger by Content-Length is refused before a byte of it is read; a body without
  Content-Length (chunked) is counted as it arrives and refused once it passes the limit.
  Either way the answer is 413 problem+json with ``Connection: close``, so the rest of
  the body is never read.
- ``LEDGER_RATE_LIMIT``: requests per second allowed to each API key, default 1000
  (0 turns the limit off); ``LEDGER_RATE_BURST``: how many it may send at once, default
  twice the rate. A key over its limit gets 429 problem+json with ``Retry-After``.
  Buckets live in this process's memory, one per authenticated key (so their number is
  bounded by the keys that exist); with several API workers each has its own.

Not a setting: every request body, on every route, is refused with 400 problem+json
when it nests arrays and objects more than `ledger.jsonlimits.MAX_JSON_DEPTH` (32)
levels deep or holds a NUL byte, before the app (authentication, FastAPI's body
parsing, the route) sees it (`LimitRequestNesting`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import BodyTooLargeError, TooLargeError, problem
from ledger.errors import InvalidRequestError
from ledger.jsonlimits import MAX_JSON_DEPTH, PREFIX_BYTES, JsonInputError, check_json

MAX_BODY_BYTES_ENV = "LEDGER_MAX_BODY_BYTES"
RATE_LIMIT_ENV = "LEDGER_RATE_LIMIT"
RATE_BURST_ENV = "LEDGER_RATE_BURST"

DEFAULT_MAX_BODY_BYTES = 32 << 20
"""32 MiB: what POST /v1/entries/batch accepts; every other route takes far less."""

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size or index a request may name: SQL's BIGINT (larger ones overflow the driver)."""

DEFAULT_RATE_LIMIT = 1000.0
"""Requests per second per key: far above what one key sends in the benchmarks and tests."""


@dataclass(frozen=True)
class Limits:
    """The limits a running API enforces."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rate: float = DEFAULT_RATE_LIMIT
    """Requests per second per key; 0: unlimited."""
    burst: int = int(2 * DEFAULT_RATE_LIMIT)
    """Requests a key may send at once before the rate applies."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits set by LEDGER_MAX_BODY_BYTES, LEDGER_RATE_LIMIT and LEDGER_RATE_BURST.

        Raises InvalidRequestError naming the variable when a value is not a number in range.
        """
        from ledger.config import current_environ

        env = current_environ() if environ is None else environ
        max_body = _number(env, MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES, minimum=1, integer=True)
        rate = _number(env, RATE_LIMIT_ENV, DEFAULT_RATE_LIMIT, minimum=0, integer=False)
        burst = _number(env, RATE_BURST_ENV, max(1, math.ceil(2 * rate)), minimum=1, integer=True)
        return cls(int(max_body), rate, int(burst))


def _number(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool
) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise InvalidRequestError(
            f"{name} must be {'an integer' if integer else 'a number'}, got {text!r}"
        ) from None
    if not math.isfinite(value) or value < minimum:
        raise InvalidRequestError(f"{name} must be at least {minimum:g}, got {text!r}")
    return value


class RateLimiter:
    """One token bucket per key: `burst` tokens, refilled at `rate` a second.

    `take(key)` spends a token, or says how long until one is there. Thread-safe; the
    clock is injectable for tests.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @classmethod
    def unlimited(cls) -> RateLimiter:
        """A limiter that admits everything."""
        return cls(0, 1)

    def take(self, key: str) -> float | None:
        """None if `key` may make a request now (a token is spent), else the seconds to wait."""
        if self.rate <= 0:
            return None
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class LimitRequestBody:
    """ASGI middleware refusing request bodies over `max_bytes` with 413 problem+json.

    A Content-Length over the limit is answered at once, without reading the body. A
    chunked body is counted as the app reads it: the read that passes the limit raises
    `BodyTooLargeError`, which the app's handlers answer. A chunked body the app did not
    read to its end (a route that takes none) closes the connection after the answer, so
    the server never drains more than `max_bytes` of any request.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            detail = f"request body is {declared} bytes; the limit is {self.max_bytes}"
            await problem(413, TooLargeError.title, detail, dict(TooLargeError.headers))(
                scope, receive, send
            )
            return
        received = 0
        unread = "transfer-encoding" in headers  # a body of unknown length, not read yet

        async def receive_capped() -> Message:
            nonlocal received, unread
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
                unread = unread and bool(message.get("more_body", False))
            return message

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and unread:
                sent = list(message.get("headers", []))
                if all(name.lower() != b"connection" for name, _value in sent):
                    message = {**message, "headers": [*sent, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive_capped, send_closing)


class LimitRequestNesting:
    """ASGI middleware refusing, with 400 problem+json, a request body nested more than
    `max_depth` levels deep or holding a NUL byte (`ledger.jsonlimits.check_json`),
    before the app sees the request: before authentication, before FastAPI parses a
    body, on every route and method (unknown routes included).

    It reads the whole body first (`LimitRequestBody`, outside it, caps the size) and
    hands the app the same bytes afterwards. Once more than PREFIX_BYTES have arrived,
    the prefix is checked: a deep prefix is refused, and the rest of the body is read
    and dropped unchecked (so the client can read the answer on a clean connection, and
    the server holds no more than the prefix). Bodies above PREFIX_BYTES are checked on
    a worker thread, off the event loop.
    """

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    def _check(self, data: bytes) -> str | None:
        try:
            check_json(data, max_bytes=None, max_depth=self.max_depth, what="request body")
        except JsonInputError as error:
            return str(error)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        refusal: str | None = None
        prefix_checked = False
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":  # the client left: nobody to answer
                    return
                more = bool(message.get("more_body", False))
                if refusal is not None:
                    continue  # drained, not kept
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > PREFIX_BYTES and not prefix_checked:
                    prefix_checked = True
                    chunks = [b"".join(chunks)]
                    refusal = self._check(chunks[0][:PREFIX_BYTES])
                    if refusal is not None:
                        chunks = []
        except BodyTooLargeError as error:
            await problem(413, TooLargeError.title, str(error.detail), dict(error.headers or {}))(
                scope, receive, send
            )
            return
        data = b"".join(chunks)
        if refusal is None and data:
            refusal = (
                await run_in_threadpool(self._check, data)
                if size > PREFIX_BYTES
                else self._check(data)
            )
        if refusal is not None:
            await problem(400, "Bad Request", refusal)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": data, "more_body": False}

        await self.app(scope, replay, send)
