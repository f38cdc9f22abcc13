"""HTTP clients for gateways that write to the ledger: sync and async, with safe retries.

A gateway hands records to `LedgerClient.append` / `append_many` (or the asyncio
`AsyncLedgerClient`, which adds a background batcher: `submit`) and gets back one
signed `Receipt` per record.

Records are v2 (per-field commitments) unless they say ``"v": 1``. Retries never store
a record twice. Before the first attempt every record is completed with its own ``salt``
(16 random bytes, hex) and ``ts`` (now, RFC 3339 UTC with
milliseconds) unless it already has them, and the request body is serialized once. A
retry therefore sends the identical record, which has the identical leaf hash, and the
server stores entries unique by leaf hash: a record it already holds is answered with
the existing entry's seq and a receipt for it, and nothing new is stored. (A record
sent without salt and ts would be completed by the server instead, differently on each
attempt, so a retry after a lost response would store it twice.)

Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and full
jitter (a ``Retry-After`` header is honoured, capped at `max_backoff`). Any other 4xx is
final and raises `LedgerClientError` with the problem's ``detail``, ``status`` and, for a
record error, ``field``.

    with LedgerClient("http://127.0.0.1:8000", api_key) as ledger:
        receipt = ledger.append(record)
        receipts = ledger.append_many(records)

    async with AsyncLedgerClient(url, api_key, linger=0.05) as ledger:
        receipt = await ledger.submit(record)   # batched with concurrent submits
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

from ledger.core.errors import LedgerError
from ledger.core.records import new_salt, now_ts, parse_object
from ledger.formats.identity import LogIdentity
from ledger.formats.receipt import ReceiptError
from ledger.verify.receipt import verify_receipt

DEFAULT_BATCH_SIZE = 1_000
"""Records per batch request unless told otherwise."""

MAX_BATCH_SIZE = 10_000
"""Most records the server takes in one batch request."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another attempt (plus every other 5xx)."""

_T = TypeVar("_T")


class LedgerClientError(LedgerError):
    """A request the ledger refused, or that could not be completed after every retry.

    `status` is the HTTP status (None when no response came at all), `detail` the
    problem's detail (or the transport error), `field` the record field at fault for a
    422, `retryable` whether the failure was transient (retries ran out).
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        field: str | None = None,
        retryable: bool = False,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}" if status is not None else detail)
        self.detail = detail
        self.status = status
        self.field = field
        self.retryable = retryable
        self.problem = dict(problem) if problem else {}


@dataclass(frozen=True)
class Receipt:
    """The log's signed promise for one stored record.

    `data` is the receipt as the server sent it (see ledger.service.signer); `record` the
    record as sent, with the salt and ts the client filled in.
    """

    leaf_hash: str
    seq: int
    data: dict[str, Any]
    record: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], record: dict[str, Any] | None = None) -> Receipt:
        """A receipt from its JSON object."""
        try:
            return cls(str(data["leaf_hash"]), int(data["seq"]), dict(data), record)
        except (KeyError, TypeError, ValueError) as error:
            raise LedgerClientError(f"malformed receipt from the server: {error!r}") from None

    def verify(self, identity: LogIdentity | None = None) -> str:
        """Check the receipt's batch path and signature; the signer's address.

        With the pinned log `identity` (`ledger.formats.identity.parse_identity` of the
        operator's published document), the receipt must be the log's, signed by its log
        key; without it any key's signature passes. Raises
        ledger.formats.receipt.ReceiptError.
        """
        return verify_receipt(self.data, identity)

    def as_json(self) -> dict[str, Any]:
        """What `save` writes: the receipt as the server sent it and the record as sent
        (with the salt and ts that make its leaf hash), so the file alone lets its keeper
        show the record and check the receipt (`mledger verify-receipt FILE --log LOG`)."""
        return {"receipt": self.data, "record": self.record}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Keep the receipt: write `as_json()` to `path` (atomically: a crash leaves the
        old file or the new one, never half of one; readable by the owner only, since a
        record may name accounts). Returns the path."""
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)  # O_EXCL below: never write through a planted link
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.as_json(), handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Receipt:
        """A receipt kept with `save` (or a bare receipt object, or a whole
        POST /v1/entries answer)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise LedgerClientError(f"{path} does not hold a receipt object")
        inner = data.get("receipt", data)
        record = data.get("record")
        return cls.from_json(inner, record if isinstance(record, dict) else None)


@dataclass
class ClientStats:
    """Counters of one client: requests sent (every attempt), retries, records stored."""

    requests: int = 0
    retries: int = 0
    records: int = 0


CLIENT_RECORD_VERSION = 2
"""The envelope version `prepare` writes when a record names none: v2, whose evidence can
disclose some fields and withhold the others (ledger.core.disclosure); a record that
says ``"v": 1`` is sent as v1."""


def prepare(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `record` with ``salt`` and ``ts`` filled in where missing, and ``v``
    (`CLIENT_RECORD_VERSION`) where it names none.

    Do this once per record, before the first attempt: the completed record is what
    makes a retry idempotent.
    """
    if not isinstance(record, Mapping):
        raise TypeError(f"a record must be a mapping, got {type(record).__name__}")
    completed = dict(record)
    if completed.get("v") is None:
        completed["v"] = CLIENT_RECORD_VERSION
    if completed.get("salt") is None:
        completed["salt"] = new_salt()
    if completed.get("ts") is None:
        completed["ts"] = now_ts()
    return completed


def _check_batch_size(batch_size: int) -> int:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    return batch_size


def _chunks(items: Sequence[_T], size: int) -> list[Sequence[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _refusal(response: httpx.Response, *, retryable: bool = False) -> LedgerClientError:
    problem: dict[str, Any] = {}
    try:
        document = response.json()
        if isinstance(document, dict):
            problem = document
    except ValueError:
        pass
    detail = problem.get("detail") or response.text[:500] or response.reason_phrase
    field = problem.get("field")
    return LedgerClientError(
        str(detail),
        status=response.status_code,
        field=str(field) if field else None,
        retryable=retryable,
        problem=problem,
    )


def _parse_single(response: httpx.Response, record: dict[str, Any]) -> list[Receipt]:
    body = response.json()
    return [Receipt.from_json(body["receipt"], record)]


def _parse_batch(response: httpx.Response, records: Sequence[dict[str, Any]]) -> list[Receipt]:
    receipts = response.json().get("receipts")
    if not isinstance(receipts, list) or len(receipts) != len(records):
        raise LedgerClientError(
            f"server answered {len(receipts) if isinstance(receipts, list) else 'no'}"
            f" receipts for {len(records)} records",
            status=response.status_code,
        )
    return [Receipt.from_json(data, record) for data, record in zip(receipts, records)]


def _read(
    parse: Callable[[httpx.Response], list[Receipt]], response: httpx.Response
) -> list[Receipt]:
    """The receipts of a 2xx answer; LedgerClientError when it is not what the API sends."""
    try:
        return parse(response)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LedgerClientError(
            f"unreadable answer from the server: {type(error).__name__}: {error}",
            status=response.status_code,
        ) from None


def _keep(receipt: Receipt, folder: Path) -> None:
    """Save `receipt` as `<folder>/<leaf hash>.json` (the hash checked against its record).
    A file already there is left alone when it keeps the same record (a retry, or the
    same record sent again) and is never replaced by another: LedgerClientError."""
    path = folder / f"{receipt.leaf_hash}.json"
    try:
        kept = Receipt.load(path)
    except FileNotFoundError:
        receipt.save(path)
        return
    except (OSError, ValueError, LedgerClientError) as error:
        raise LedgerClientError(f"{path} exists and is not a kept receipt: {error}") from None
    if kept.record != receipt.record:
        raise LedgerClientError(f"{path} keeps another record for this leaf hash; not replaced")


class _Base:
    """Configuration and retry policy shared by both clients."""

    def __init__(
        self,
        *,
        batch_size: int,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        verify: bool,
        identity: LogIdentity | None,
        receipt_dir: str | os.PathLike[str] | None,
    ) -> None:
        self.batch_size = _check_batch_size(batch_size)
        self.receipt_dir = None if receipt_dir is None else Path(receipt_dir)
        if self.receipt_dir is not None:
            self.receipt_dir.mkdir(parents=True, exist_ok=True)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.verify = verify or identity is not None
        self.identity = identity
        self.stats = ClientStats()

    def _delay(self, attempt: int, hint: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if hint is not None:
            return min(hint, self.max_backoff)
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    def _outcome(self, response: httpx.Response, attempt: int) -> tuple[bool, float | None]:
        """(retry?, delay hint) for a response; raises for a final refusal."""
        status = response.status_code
        if 200 <= status < 300:
            return False, None
        transient = status in RETRY_STATUSES or status >= 500
        if not transient:
            raise _refusal(response)
        if attempt > self.max_retries:
            raise _refusal(response, retryable=True)
        return True, _retry_after(response)

    def _given_up(self, error: httpx.TransportError) -> LedgerClientError:
        return LedgerClientError(
            f"no answer after {self.max_retries + 1} attempts: {type(error).__name__}: {error}",
            retryable=True,
        )

    def _checked(self, receipts: list[Receipt]) -> list[Receipt]:
        if self.verify or self.receipt_dir is not None:
            # A kept receipt is named by the record's own hash, never by what the server
            # said: the server's leaf_hash must be that hash (or the file name could be a
            # path of its choosing, or overwrite another receipt).
            for receipt in receipts:
                expected = "0x" + parse_object(receipt.record or {}).leaf_hash.hex()
                if receipt.leaf_hash != expected or receipt.data.get("leaf_hash") != expected:
                    raise LedgerClientError(
                        f"receipt is for leaf {receipt.leaf_hash!r:.80}, the record hashes to"
                        f" {expected}"
                    )
        if self.verify:
            for receipt in receipts:
                try:
                    receipt.verify(self.identity)
                except ReceiptError as error:
                    raise LedgerClientError(f"receipt does not verify: {error}") from None
        if self.receipt_dir is not None:
            for receipt in receipts:
                _keep(receipt, self.receipt_dir)
        self.stats.records += len(receipts)
        return receipts


class LedgerClient(_Base):
    """A synchronous client (httpx.Client), whose connections may be shared by threads.

    `batch_size` (1..10,000) bounds each batch request; `max_retries` more attempts
    follow a transient failure, after `backoff` * 2**n seconds (randomized, capped at
    `max_backoff`). With `verify` (or a pinned log `identity`) every receipt is checked
    locally (the record's leaf hash, the batch path and the signature; a mismatch raises
    LedgerClientError). With `receipt_dir`, every receipt is also kept there as
    `<leaf hash>.json` (`Receipt.save`). `transport` and `timeout` go to httpx.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_retries: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        timeout: float | httpx.Timeout = 30.0,
        verify: bool = False,
        identity: LogIdentity | None = None,
        receipt_dir: str | os.PathLike[str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            verify=verify,
            identity=identity,
            receipt_dir=receipt_dir,
        )
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _post(
        self, path: str, body: bytes, parse: Callable[[httpx.Response], list[Receipt]]
    ) -> list[Receipt]:
        attempt = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            hint: float | None = None
            try:
                response = self._http.post(path, content=body)
            except httpx.TransportError as error:
                if attempt > self.max_retries:
                    raise self._given_up(error) from error
            else:
                retry, hint = self._outcome(response, attempt)
                if not retry:
                    return self._checked(_read(parse, response))
            self.stats.retries += 1
            time.sleep(self._delay(attempt, hint))

    def append(self, record: Mapping[str, Any]) -> Receipt:
        """Store one record (POST /v1/entries); its receipt."""
        completed = prepare(record)
        body = json.dumps(completed, separators=(",", ":")).encode()
        (receipt,) = self._post(
            "/v1/entries", body, lambda response: _parse_single(response, completed)
        )
        return receipt

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[Receipt]:
        """Store records in batches of up to `batch_size`, in order; one receipt each.

        Each batch is all or nothing. On an error, the batches before it are stored
        (their receipts are lost to the caller; sending the same completed records
        again is safe) and the error names the failing batch's records by index.
        """
        completed = [prepare(record) for record in records]
        receipts: list[Receipt] = []
        for start, chunk in zip(
            range(0, len(completed), self.batch_size), _chunks(completed, self.batch_size)
        ):
            receipts += self._send_batch(chunk, start)
        return receipts

    def _send_batch(self, chunk: Sequence[dict[str, Any]], start: int) -> list[Receipt]:
        body = json.dumps({"entries": chunk}, separators=(",", ":")).encode()
        try:
            return self._post(
                "/v1/entries/batch", body, lambda response: _parse_batch(response, chunk)
            )
        except LedgerClientError as error:
            error.add_note(f"in the batch of records {start}..{start + len(chunk) - 1}")
            raise


class AsyncLedgerClient(_Base):
    """An asyncio client (httpx.AsyncClient) with a background batcher.

    Like `LedgerClient`, plus: `append_many` sends up to `max_in_flight` batches at
    once, and `submit(record)` queues a record and returns a future of its receipt;
    queued records go out as one batch when `batch_size` are waiting or `linger`
    seconds after the first of them, whichever comes first. At most `max_pending`
    records wait at once (beyond that `submit` raises). `aclose` (or leaving the
    ``async with``) sends what is queued and waits for it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        linger: float = 0.05,
        max_in_flight: int = 4,
        max_pending: int = 100_000,
        max_retries: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        timeout: float | httpx.Timeout = 30.0,
        verify: bool = False,
        identity: LogIdentity | None = None,
        receipt_dir: str | os.PathLike[str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            verify=verify,
            identity=identity,
            receipt_dir=receipt_dir,
        )
        if linger < 0 or max_in_flight < 1 or max_pending < 1:
            raise ValueError("linger must be >= 0, max_in_flight and max_pending >= 1")
        self.linger = linger
        self.max_in_flight = max_in_flight
        self.max_pending = max_pending
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Receipt]]] = []
        self._waiting = 0  # submitted records whose futures are not done yet
        self._timer: asyncio.TimerHandle | None = None
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send every queued record, wait for all of them, close the connections."""
        try:
            await self.flush()
        finally:
            await self._http.aclose()

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        return self._slots

    async def _post(
        self, path: str, body: bytes, parse: Callable[[httpx.Response], list[Receipt]]
    ) -> list[Receipt]:
        attempt = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            hint: float | None = None
            try:
                response = await self._http.post(path, content=body)
            except httpx.TransportError as error:
                if attempt > self.max_retries:
                    raise self._given_up(error) from error
            else:
                retry, hint = self._outcome(response, attempt)
                if not retry:
                    return self._checked(_read(parse, response))
            self.stats.retries += 1
            await asyncio.sleep(self._delay(attempt, hint))

    async def append(self, record: Mapping[str, Any]) -> Receipt:
        """Store one record now (POST /v1/entries); its receipt."""
        completed = prepare(record)
        body = json.dumps(completed, separators=(",", ":")).encode()
        receipts = await self._post(
            "/v1/entries", body, lambda response: _parse_single(response, completed)
        )
        return receipts[0]

    async def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[Receipt]:
        """Store records in batches of up to `batch_size` (up to `max_in_flight` at once);
        receipts in order.

        If a batch fails, the first error is raised once every batch has finished;
        the other batches may be stored (sending the same records again is safe).
        """
        completed = [prepare(record) for record in records]
        chunks = _chunks(completed, self.batch_size)
        results = await asyncio.gather(
            *(
                self._limited(self._send_batch(chunk, i * self.batch_size))
                for i, chunk in enumerate(chunks)
            ),
            return_exceptions=True,
        )
        receipts: list[Receipt] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            receipts += result
        return receipts

    async def _limited(self, work: Awaitable[_T]) -> _T:
        async with self._semaphore():
            return await work

    async def _send_batch(
        self, chunk: Sequence[dict[str, Any]], start: int | None
    ) -> list[Receipt]:
        body = json.dumps({"entries": chunk}, separators=(",", ":")).encode()
        try:
            return await self._post(
                "/v1/entries/batch", body, lambda response: _parse_batch(response, chunk)
            )
        except LedgerClientError as error:
            if start is not None:
                error.add_note(f"in the batch of records {start}..{start + len(chunk) - 1}")
            raise

    # -- the background batcher ---------------------------------------------------------

    def submit(self, record: Mapping[str, Any]) -> asyncio.Future[Receipt]:
        """Queue one record for the next batch; a future of its receipt.

        Call from a running event loop. The record is completed (salt, ts) now.
        Raises LedgerClientError when `max_pending` records already wait.
        """
        loop = asyncio.get_running_loop()
        if self._waiting >= self.max_pending:
            raise LedgerClientError(
                f"{self._waiting} records already wait for the ledger (max_pending)", retryable=True
            )
        future: asyncio.Future[Receipt] = loop.create_future()
        self._pending.append((prepare(record), future))
        self._waiting += 1
        future.add_done_callback(self._settled)
        if len(self._pending) >= self.batch_size:
            self._send_pending()
        elif self._timer is None:
            self._timer = loop.call_later(self.linger, self._send_pending)
        return future

    def _settled(self, _future: asyncio.Future[Receipt]) -> None:
        self._waiting -= 1

    def _send_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch, self._pending = (
                self._pending[: self.batch_size],
                self._pending[self.batch_size :],
            )
            task = asyncio.get_running_loop().create_task(self._deliver(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, batch: list[tuple[dict[str, Any], asyncio.Future[Receipt]]]) -> None:
        records = [record for record, _ in batch]
        try:
            async with self._semaphore():
                receipts = await self._send_batch(records, None)
        except BaseException as error:  # handed to every waiting submitter
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), receipt in zip(batch, receipts):
            if not future.done():
                future.set_result(receipt)

    async def flush(self) -> None:
        """Send every queued record now and wait until all submitted batches are answered."""
        self._send_pending()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
