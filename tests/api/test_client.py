"""ledger.client against a real `ledger serve`: receipts, safe retries, refusals, load script."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.client import AsyncLedgerClient, LedgerClient, LedgerClientError, Receipt, prepare
from ledger.core.records import parse_object
from ledger.formats.identity import LogIdentity
from ledger.workload import interaction
from tests.api.conftest import Server, pinned_log

ROOT = Path(__file__).resolve().parents[2]


def unsalted(i: int, seed: int) -> dict[str, Any]:
    """An interaction record without salt and ts, as a gateway would produce it."""
    record = interaction(i, seed=seed)
    del record["salt"], record["ts"]
    return record


def check(receipts: list[Receipt], records: list[dict[str, Any]], identity: LogIdentity) -> None:
    """One valid receipt per record, in order, for the record as completed by the client."""
    assert len(receipts) == len(records)
    for receipt, record in zip(receipts, records):
        assert receipt.record is not None
        assert {k: v for k, v in receipt.record.items() if k not in ("salt", "ts")} == record
        assert len(receipt.record["salt"]) == 32 and receipt.record["ts"].endswith("Z")
        assert (
            receipt.leaf_hash
            == "0x" + parse_object(receipt.record).leaf_hash.hex()
            == receipt.data["leaf_hash"]
        )
        assert receipt.seq == receipt.data["seq"] >= 1
        signer = receipt.verify(identity)
        assert bytes.fromhex(signer[2:]) == identity.log_signer


def copies(server: Server, key: str, request_id: str) -> int:
    """How many stored entries carry `request_id`."""
    with server.client(key) as client:
        response = client.get("/v1/entries", params={"external_id": request_id})
    response.raise_for_status()
    return len(response.json()["entries"])


def test_sync_append_and_append_many(server: Server, keys: dict[str, str]) -> None:
    records = [unsalted(i, seed=101) for i in range(25)]
    with LedgerClient(server.url, keys["ingest"], batch_size=10, verify=True) as ledger:
        one = ledger.append(records[0])
        pinned = pinned_log(server)
        ledger.identity = pinned  # from now on every receipt must be the log's
        many = ledger.append_many(records[1:])
        assert (
            ledger.stats.requests == 1 + 3
            and ledger.stats.retries == 0
            and ledger.stats.records == 25
        )
    check([one, *many], records, pinned)
    assert len({r.seq for r in [one, *many]}) == 25
    assert records[0] == unsalted(0, seed=101)  # the caller's dicts are not changed


def test_async_append_append_many_and_submit(server: Server, keys: dict[str, str]) -> None:
    pinned = pinned_log(server)
    records = [unsalted(i, seed=102) for i in range(60)]

    async def go() -> tuple[Receipt, list[Receipt], list[Receipt], int]:
        async with AsyncLedgerClient(
            server.url, keys["ingest"], batch_size=7, linger=0.05, max_in_flight=3
        ) as ledger:
            one = await ledger.append(records[0])
            many = await ledger.append_many(records[1:30])
            futures = [ledger.submit(record) for record in records[30:]]
            submitted = list(await asyncio.gather(*futures))
            return one, many, submitted, ledger.stats.requests

    one, many, submitted, requests = asyncio.run(go())
    check([one, *many, *submitted], records, pinned)
    assert requests == 1 + 5 + 5  # 29 records in batches of 7, then 30 submitted in batches of 7


def test_submit_flushes_after_linger(server: Server, keys: dict[str, str]) -> None:
    async def go() -> tuple[Receipt, int]:
        async with AsyncLedgerClient(
            server.url, keys["ingest"], batch_size=1_000, linger=0.02
        ) as ledger:
            receipt = await asyncio.wait_for(ledger.submit(unsalted(0, seed=103)), timeout=10)
            return receipt, ledger.stats.requests

    receipt, requests = asyncio.run(go())
    assert requests == 1 and receipt.verify()


class LoseFirstResponse(httpx.BaseTransport):
    """Forwards every request to the server, but drops the first response it gets back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if not self.lost:
            self.lost.append(json.loads(response.content))
            response.close()
            raise httpx.ReadError("connection reset before the response arrived", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncLoseFirstResponse(httpx.AsyncBaseTransport):
    """The asyncio twin of LoseFirstResponse."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if not self.lost:
            self.lost.append(json.loads(response.content))
            await response.aclose()
            raise httpx.ReadTimeout("timed out waiting for the response", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_retry_after_lost_response_stores_once(server: Server, keys: dict[str, str]) -> None:
    record = unsalted(0, seed=104)
    transport = LoseFirstResponse()
    with LedgerClient(server.url, keys["ingest"], backoff=0.01, transport=transport) as ledger:
        receipt = ledger.append(record)
        assert ledger.stats.requests == 2 and ledger.stats.retries == 1
    (first,) = transport.lost
    assert (
        first["leaf_hash"] == receipt.leaf_hash and first["seq"] == receipt.seq
    )  # the first attempt stored it
    assert copies(server, keys["auditor"], record["body"]["request_id"]) == 1
    assert receipt.verify()

    # The same for a batch, asynchronously: the retried batch is answered with the same seqs.
    batch = [unsalted(i, seed=105) for i in range(20)]
    async_transport = AsyncLoseFirstResponse()

    async def go() -> list[Receipt]:
        async with AsyncLedgerClient(
            server.url, keys["ingest"], backoff=0.01, transport=async_transport
        ) as ledger:
            return await ledger.append_many(batch)

    receipts = asyncio.run(go())
    (lost,) = async_transport.lost
    assert [r["seq"] for r in lost["receipts"]] == [r.seq for r in receipts]
    for record in batch:
        assert copies(server, keys["auditor"], record["body"]["request_id"]) == 1


def test_without_salt_a_retry_would_store_twice(server: Server, keys: dict[str, str]) -> None:
    """Why the client fills salt and ts: the server would complete each attempt differently."""
    record = unsalted(0, seed=106)
    with server.client(keys["ingest"]) as client:
        client.post("/v1/entries", json=record).raise_for_status()
        client.post("/v1/entries", json=record).raise_for_status()
        client.post("/v1/entries", json=prepare(record) | {"salt": "ab" * 16}).raise_for_status()
    assert copies(server, keys["auditor"], record["body"]["request_id"]) == 3


def test_retries_on_429_and_5xx_then_gives_up(server: Server, keys: dict[str, str]) -> None:
    answers = [
        httpx.Response(503, json={"detail": "busy"}),
        httpx.Response(429, headers={"Retry-After": "0"}),
    ]
    forward = httpx.HTTPTransport()

    def handler(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop(0)
        response = forward.handle_request(request)
        response.read()
        return response

    with LedgerClient(
        server.url, keys["ingest"], backoff=0.01, transport=httpx.MockTransport(handler)
    ) as ledger:
        receipt = ledger.append(unsalted(0, seed=107))
        assert ledger.stats.requests == 3 and ledger.stats.retries == 2
    assert receipt.verify()

    always = httpx.MockTransport(
        lambda request: httpx.Response(502, json={"detail": "bad gateway"})
    )
    with LedgerClient(
        server.url, keys["ingest"], max_retries=2, backoff=0.001, transport=always
    ) as ledger:
        with pytest.raises(LedgerClientError, match="bad gateway") as caught:
            ledger.append(unsalted(1, seed=107))
        assert ledger.stats.requests == 3
    assert caught.value.status == 502 and caught.value.retryable

    unreachable = LedgerClient("http://127.0.0.1:9", "k", max_retries=1, backoff=0.001, timeout=2)
    with (
        unreachable,
        pytest.raises(LedgerClientError, match="no answer after 2 attempts") as refused,
    ):
        unreachable.append(unsalted(2, seed=107))
    assert refused.value.status is None and refused.value.retryable


def test_invalid_record_raises_naming_the_field(server: Server, keys: dict[str, str]) -> None:
    bad = unsalted(0, seed=108)
    bad["body"]["input_tokens"] = -1
    with LedgerClient(server.url, keys["ingest"]) as ledger:
        with pytest.raises(LedgerClientError) as caught:
            ledger.append(bad)
        assert ledger.stats.requests == 1  # not retried
        assert caught.value.status == 422 and caught.value.field == "body.input_tokens"
        assert "body.input_tokens" in caught.value.detail and not caught.value.retryable
        good = [unsalted(i, seed=108) for i in range(1, 4)]
        with pytest.raises(LedgerClientError) as in_batch:
            ledger.append_many([*good, bad])
    assert in_batch.value.status == 422 and in_batch.value.field == "entries[3].body.input_tokens"
    assert any("records 0..3" in note for note in in_batch.value.__notes__)
    assert copies(server, keys["auditor"], good[0]["body"]["request_id"]) == 0  # all or nothing

    async def go() -> None:
        async with AsyncLedgerClient(server.url, keys["ingest"], linger=0.01) as ledger:
            with pytest.raises(LedgerClientError) as submitted:
                await ledger.submit(bad)
            assert submitted.value.field == "entries[0].body.input_tokens"

    asyncio.run(go())


def test_wrong_key_is_refused(server: Server, keys: dict[str, str]) -> None:
    with LedgerClient(server.url, "not-a-key") as ledger:
        with pytest.raises(LedgerClientError) as unknown:
            ledger.append(unsalted(0, seed=109))
        assert ledger.stats.requests == 1
    assert unknown.value.status == 401 and unknown.value.detail
    with (
        LedgerClient(server.url, keys["auditor"]) as ledger,
        pytest.raises(LedgerClientError) as wrong_role,
    ):
        ledger.append_many([unsalted(1, seed=109)])
    assert wrong_role.value.status == 403 and wrong_role.value.detail
    with LedgerClient(server.url) as ledger, pytest.raises(LedgerClientError) as none:
        ledger.append(unsalted(2, seed=109))
    assert none.value.status == 401


def test_unreadable_answer_and_backlog_bound(server: Server, keys: dict[str, str]) -> None:
    odd = httpx.MockTransport(lambda request: httpx.Response(202, json={"receipts": "none"}))
    with LedgerClient(server.url, transport=odd) as ledger:
        with pytest.raises(LedgerClientError, match="unreadable answer") as caught:
            ledger.append(unsalted(0, seed=110))
        with pytest.raises(LedgerClientError, match="receipts for 1 records"):
            ledger.append_many([unsalted(1, seed=110)])
    assert caught.value.status == 202
    stranger = dataclasses.replace(
        pinned_log(server), log_signer=b"\x11" * 20
    )  # another log's identity
    checking = LedgerClient(server.url, keys["ingest"], identity=stranger)
    with (
        checking,
        pytest.raises(
            LedgerClientError,
            match="receipt does not verify.*not a receipt of the pinned log: log_signer",
        ),
    ):
        checking.append(unsalted(4, seed=110))

    async def go() -> Receipt:
        async with AsyncLedgerClient(
            server.url, keys["ingest"], linger=30, max_pending=1
        ) as ledger:
            first = ledger.submit(unsalted(2, seed=110))
            with pytest.raises(LedgerClientError, match="max_pending") as full:
                ledger.submit(unsalted(3, seed=110))
            assert full.value.retryable
            await ledger.flush()  # sends at once, without waiting for the linger
            assert first.done()
            return first.result()

    assert asyncio.run(go()).verify()


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        LedgerClient("http://127.0.0.1:9", batch_size=10_001)
    with pytest.raises(ValueError, match="batch_size"):
        AsyncLedgerClient("http://127.0.0.1:9", batch_size=0)


def load(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_load_script(server: Server, keys: dict[str, str]) -> None:
    with server.client() as client:
        before = client.get("/healthz").json()
    result = load(
        "--url",
        server.url,
        "--key",
        keys["ingest"],
        "--records",
        "2000",
        "--batch-size",
        "500",
        "--concurrency",
        "2",
        "--max-seconds",
        "90",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stored"] == 2000 and summary["errors"] == 0 and summary["batches"] == 4
    assert (
        summary["records_per_s"] > 0
        and 0 < summary["batch_latency_ms"]["p50"] <= summary["batch_latency_ms"]["p99"]
    )
    with server.client() as client:
        after = client.get("/healthz").json()
    assert after["tree_size"] + after["pending"] - before["tree_size"] - before["pending"] == 2000

    refused = load("--url", "http://10.1.2.3:8000", "--key", "k", "--records", "10")
    assert refused.returncode == 2 and "loopback" in refused.stderr
    wrong = load("--url", server.url, "--key", "not-a-key", "--records", "10", "--quiet")
    assert wrong.returncode == 1
    failed = json.loads(wrong.stdout)
    assert failed["stored"] == 0 and failed["errors"] == 1 and "401" in failed["first_errors"][0]


def test_receipts_kept_in_one_call_and_checked_by_the_cli(
    server: Server, keys: dict[str, str], tmp_path: Path
) -> None:
    """`receipt_dir` keeps every receipt with its record; `Receipt.save`/`load` do it for
    one; `ledger verify-receipt` checks the file, and the record against the receipt."""
    kept = tmp_path / "receipts"
    records = [unsalted(i, seed=131) for i in range(5)]
    with LedgerClient(server.url, keys["ingest"], batch_size=2, receipt_dir=kept) as ledger:
        receipts = ledger.append_many(records)
    files = sorted(kept.iterdir())
    assert [f.name for f in files] == sorted(f"{r.leaf_hash}.json" for r in receipts)
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    again = Receipt.load(kept / f"{receipts[0].leaf_hash}.json")
    assert again == receipts[0] and again.record is not None
    assert receipts[1].save(tmp_path / "one.json") == tmp_path / "one.json"

    identity = tmp_path / "log.json"
    identity.write_text(json.dumps(pinned_log(server).as_json()))

    def verify_receipt(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ledger", "verify-receipt", str(path), "--log", str(identity)],
            capture_output=True,
            text=True,
            check=False,
        )

    checked = verify_receipt(tmp_path / "one.json")
    assert checked.returncode == 0, checked.stderr
    out = json.loads(checked.stdout)
    assert out["verdict"] == "SIGNATURE ONLY" and out["record_matches"] is True
    assert out["leaf_hash"] == receipts[1].leaf_hash

    forged = json.loads((tmp_path / "one.json").read_text())
    forged["record"]["body"]["input_tokens"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = verify_receipt(tmp_path / "forged.json")
    assert refused.returncode == 1 and "the record kept with the receipt hashes to" in (
        refused.stderr
    )


def test_a_hostile_server_cannot_choose_where_receipts_are_kept(tmp_path: Path) -> None:
    """The server's leaf_hash never names the file: a path, another receipt's hash or a
    malformed value is refused, and nothing is written outside receipt_dir."""
    kept = tmp_path / "receipts"
    answers = iter(["../outside", "/tmp/absolute", "0x" + "ab" * 32])

    def hostile(request: httpx.Request) -> httpx.Response:
        leaf = next(answers)
        return httpx.Response(
            202, json={"leaf_hash": leaf, "seq": 1, "receipt": {"leaf_hash": leaf, "seq": 1}}
        )

    with LedgerClient(
        "http://hostile", "k", receipt_dir=kept, transport=httpx.MockTransport(hostile)
    ) as ledger:
        for _ in range(3):
            with pytest.raises(LedgerClientError, match="the record hashes to 0x"):
                ledger.append(unsalted(1, seed=5))
    assert list(kept.iterdir()) == [] and not (tmp_path / "outside.json").exists()

    # A file already kept for a leaf hash is never replaced by another record.
    record = prepare(unsalted(2, seed=5))
    leaf = "0x" + parse_object(record).leaf_hash.hex()
    receipt = Receipt(leaf, 1, {"leaf_hash": leaf, "seq": 1}, record)
    receipt.save(kept / f"{leaf}.json")
    other = dataclasses.replace(receipt, record=dict(record, extra="x"))
    from ledger.client import _keep

    with pytest.raises(LedgerClientError, match="keeps another record"):
        _keep(other, kept)
    _keep(receipt, kept)  # the same record again: left as it is
    assert Receipt.load(kept / f"{leaf}.json") == receipt
