"""GET /v1/export and POST /v1/evidence on a real `ledger serve` anchoring on a real
Anvil: the export is the CLI's byte for byte, and a pack from the running service
verifies with `ledger verify --log` against the chain (and fails, naming the check, once
tampered)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.core.records import parse_object
from ledger.errors import InvalidRequestError
from ledger.formats.identity import parse_identity
from ledger.formats.pack import PackQuery
from ledger.service.evidence_pack import UNANCHORED_HEADER, TooManyEntriesError, build_pack
from ledger.store.anchors import AnchorRepository
from ledger.store.repository import Store
from ledger.verify.pack import verify_pack
from ledger.verify.result import VerificationError
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

ACCOUNTS = ["acct-a", "acct-b", "acct-c", "acct-d"]


@dataclass
class Service:
    server: Server
    anvil: Anvil
    keys: dict[str, str]
    records: list[dict[str, Any]]

    def client(self, role: str | None = "auditor") -> httpx.Client:
        return self.server.client(None if role is None else self.keys[role])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Service]:  # noqa: F811
    """One service for the module: a log of 45 entries, the first 40 anchored. Tests only read."""
    work = tmp_path_factory.mktemp("audit-api")
    anvil = Anvil(
        free_port(), work / "anvil-state.json", work / "anvil.log", binary=anvil_binary
    ).start()
    data = work / "data"
    ledger("deploy", "--data-dir", str(data), "--rpc-url", anvil.url)
    server = Server(
        data, "--rpc-url", anvil.url, "--seal-interval", "3600", "--anchor-interval", "3600"
    )
    try:
        keys = {
            "admin": ADMIN_KEY,
            "auditor": server.key("auditor"),
            "ingest": server.key("ingest"),
            "licensee": server.key("licensee", "acct-a"),
        }
        records = [interaction(i, seed=21, account=ACCOUNTS[i % 4]) for i in range(45)]
        with server.client(ADMIN_KEY) as admin:
            assert (
                admin.post("/v1/entries/batch", json={"entries": records[:40]}).status_code == 202
            )
            assert admin.post("/v1/admin/anchor").status_code == 200
            assert (
                admin.post("/v1/entries/batch", json={"entries": records[40:]}).status_code == 202
            )
            assert admin.post("/v1/admin/seal").json()["tree_size"] == 45
        yield Service(server, anvil, keys, records)
    finally:
        assert server.stop() == 0
        anvil.stop()


def test_export_streams_the_log(service: Service, tmp_path: Path) -> None:
    with service.client() as auditor:
        response = auditor.get("/v1/export")
        assert (
            response.status_code == 200
            and response.headers["content-type"] == "application/x-ndjson"
        )
        assert response.headers["x-ledger-export-range"] == "0-45"
        lines = response.content.splitlines(keepends=True)
        assert [json.loads(line) for line in lines] == [
            {"leaf_index": i, "record": r} for i, r in enumerate(service.records)
        ]
        assert (
            lines[7]
            == b'{"leaf_index":7,"record":%s}\n' % parse_object(service.records[7]).canonical
        )
        part = auditor.get("/v1/export", params={"from_index": 40, "to_index": 43})
        assert part.content == b"".join(lines[40:43])
        assert auditor.get("/v1/export", params={"from_index": 45}).content == b""
        assert_problem(
            auditor.get("/v1/export", params={"to_index": 46}),
            400,
            "to_index 46 is beyond the log's size 45",
        )
        assert_problem(
            auditor.get("/v1/export", params={"from_index": 9, "to_index": 3}),
            400,
            "need 0 <= from_index <= to_index",
        )
        assert_problem(auditor.get("/v1/export", params={"from_index": -1}), 422, "from_index")
    out = tmp_path / "cli.ndjson"
    ledger("export", "--out", str(out), "--data-dir", str(service.server.data_dir))
    assert out.read_bytes() == response.content
    # `mledger verify` on an export points at `mledger audit` (exit 2), not "INVALID"
    log = identity_file(service.server, tmp_path / "log.json")
    for name, data in (("cli.ndjson", response.content), ("spaced.ndjson", b" " + lines[0])):
        (tmp_path / name).write_bytes(data)
        told = ledger(
            "verify",
            str(tmp_path / name),
            "--log",
            str(log),
            "--rpc-url",
            service.anvil.url,
            check=False,
        )
        assert (told.returncode, told.stdout) == (2, ""), told.stderr
        assert told.stderr == (
            f"error: {tmp_path / name}: this is a log export (NDJSON, one entry per line), which"
            " mledger verify does not audit: run `mledger audit FILE --log log.json --rpc-url"
            " URL`\n"
        )
    with service.client("admin") as admin:
        assert admin.get("/v1/export").content == response.content
    for role, status in (("ingest", 403), ("licensee", 403), (None, 401)):
        with service.client(role) as other:
            assert_problem(other.get("/v1/export"), status)


def test_a_pack_from_the_service_verifies_against_the_chain(
    service: Service, tmp_path: Path
) -> None:
    query = {
        "account_ids": ["acct-b", "acct-d"],
        "from": "2026-06-01",
        "to": "2026-07-01",
        "kind": "interaction",
    }
    with service.client() as auditor:
        response = auditor.post("/v1/evidence", json=query)
    assert response.status_code == 200, response.text
    wanted = [
        i
        for i, r in enumerate(service.records[:40])
        if r["body"]["account_id"] in ("acct-b", "acct-d")
    ]
    late = [
        i
        for i, r in enumerate(service.records[40:])
        if r["body"]["account_id"] in ("acct-b", "acct-d")
    ]
    assert response.headers[UNANCHORED_HEADER.lower()] == str(len(late))
    pack = response.json()
    assert (
        pack["format"] == "model-ledger/evidence-pack/v1" and pack["checkpoint"]["tree_size"] == 40
    )
    assert [e["leaf_index"] for e in pack["entries"]] == wanted
    assert [e["record"] for e in pack["entries"]] == [service.records[i] for i in wanted]
    assert pack["query"] == {
        "account_ids": ["acct-b", "acct-d"],
        "from": "2026-06-01T00:00:00.000Z",
        "to": "2026-07-01T00:00:00.000Z",
        "kind": "interaction",
    }
    # Any RFC 3339 UTC form of the bounds is the same query, stated in the stored form.
    respelled = query | {"from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00+00:00"}
    with service.client() as auditor:
        again = auditor.post("/v1/evidence", json=respelled)
    assert again.status_code == 200, again.text
    assert again.json()["query"] == pack["query"] and again.json()["entries"] == pack["entries"]
    path = tmp_path / "pack.json"
    path.write_bytes(response.content)
    log = identity_file(service.server, tmp_path / "log.json")
    out = ledger("verify", str(path), "--log", str(log), "--rpc-url", service.anvil.url).stdout
    assert out.splitlines()[0].startswith(
        "ok    pack                model-ledger/evidence-pack/v1: 20 entries"
    )
    assert out.splitlines()[-1].startswith("VALID: existed no later than")

    tampered = copy.deepcopy(pack)
    tampered["entries"][3]["record"]["body"]["input_tokens"] += 1
    path.write_text(json.dumps(tampered))
    refused = ledger(
        "verify", str(path), "--log", str(log), "--rpc-url", service.anvil.url, check=False
    )
    assert refused.returncode == 1 and "FAIL  inclusion" in refused.stdout
    assert refused.stderr.startswith(
        "error: invalid pack: inclusion: the 20 records, their leaf indices and the"
    )

    identity = parse_identity(log.read_bytes())
    with JsonRpcReader(service.anvil.url) as chain:
        assert verify_pack(response.content, chain, identity).valid
        changes: list[tuple[Callable[[dict[str, Any]], object], str]] = [
            (lambda p: p["proof"].__setitem__(2, "0x" + "00" * 32), "inclusion"),
            (lambda p: p["checkpoint"].update(root="0x" + "11" * 32), "inclusion"),
            (lambda p: p["checkpoint"].update(tree_size=41), "inclusion"),
            (lambda p: p["entries"][0].update(leaf_index=2), "inclusion"),
            (lambda p: p["checkpoint"]["anchor"].update(block_number=1), "anchor transaction"),
            (lambda p: p["checkpoint"]["anchor"].update(block_timestamp=1), "anchor block"),
            (lambda p: p.update(query={"account_ids": ["acct-b"]}), "query"),
            (lambda p: p.update(log_id="0x" + "ab" * 32), "log identity"),
        ]
        for change, check in changes:
            bad = copy.deepcopy(pack)
            change(bad)
            with pytest.raises(VerificationError) as caught:
                verify_pack(json.dumps(bad), chain, identity)
            assert caught.value.check == check, (caught.value, check)


def test_pack_queries_are_checked(service: Service) -> None:
    with service.client() as auditor:
        problem = assert_problem(
            auditor.post("/v1/evidence", json={"kind": "weather"}), 422, "kind: must be one of"
        )
        assert problem["field"] == "kind"
        assert_problem(auditor.post("/v1/evidence", json={"colour": "red"}), 422, "colour")
        assert_problem(
            auditor.post("/v1/evidence", json={"from": "2026-06-02", "to": "2026-06-01"}),
            422,
            "to: must be after from",
        )
        assert_problem(auditor.post("/v1/evidence", json={"account_ids": []}), 422, "account_ids")
        problem = assert_problem(
            auditor.post("/v1/evidence", json={"from": "2026-06-01T02:00:00+02:00"}),
            422,
            "is not UTC (offset +02:00)",
            "the same instant is 2026-06-01T00:00:00.000Z",
        )
        assert problem["field"] == "from"
        assert_problem(
            auditor.post("/v1/evidence", json={"to": "June"}),
            422,
            "to: must be a UTC time in RFC 3339 form",
        )
        assert_problem(
            auditor.post("/v1/evidence", json={"model": "nope"}),
            404,
            "no entry in the anchored tree of size 40 matches",
        )
        everything = auditor.post("/v1/evidence", json={})
        assert everything.status_code == 200 and len(everything.json()["entries"]) == 40
        assert everything.json()["proof"] == []  # every leaf is there: nothing to prove beside them
    for role, status in (("ingest", 403), ("licensee", 403), (None, 401)):
        with service.client(role) as other:
            assert_problem(other.post("/v1/evidence", json={}), status)


def test_pack_size_limit(service: Service) -> None:
    """The most entries one pack holds: exactly at the limit it is built, one more is a
    clear refusal (POST /v1/evidence maps it to 400; the limit there is 100,000)."""
    store = Store.open(f"sqlite:///{service.server.data_dir / 'ledger.db'}")
    try:
        anchors = AnchorRepository(store)
        query = PackQuery(account_ids=("acct-a",))
        assert build_pack(store, anchors, query, max_entries=10).entries == 10
        with pytest.raises(
            TooManyEntriesError,
            match="the query matches more than 9 anchored entries, the most one pack holds",
        ):
            build_pack(store, anchors, query, max_entries=9)
        assert issubclass(TooManyEntriesError, InvalidRequestError)
        # A pack no verifier would read (larger than MAX_PACK_BYTES) is refused the same way.
        size = len(build_pack(store, anchors, query, max_entries=10).document)
        assert build_pack(store, anchors, query, max_entries=10, max_bytes=size).entries == 10
        with pytest.raises(
            TooManyEntriesError,
            match=f"the pack of 10 entries would be {size:,} bytes of JSON; verifiers read at"
            f" most {size - 1:,}: narrow the query",
        ):
            build_pack(store, anchors, query, max_entries=10, max_bytes=size - 1)
    finally:
        store.close()


def test_report_over_the_api(service: Service, tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text(json.dumps(["acct-a", "acct-c"]))
    log = identity_file(service.server, tmp_path / "log.json")
    out = ledger(
        "report",
        "--accounts",
        str(tmp_path / "accounts.json"),
        "--from",
        "2026-06-01",
        "--to",
        "2026-07-01",
        "--url",
        service.server.url,
        "--api-key",
        service.keys["auditor"],
        "--rpc-url",
        service.anvil.url,
        "--log",
        str(log),
        "--out",
        str(tmp_path / "r.html"),
        "--json",
        str(tmp_path / "r.json"),
    )
    summary = json.loads(out.stdout)
    assert summary["interactions"] == 20 and summary["verified"] and summary["chain_consulted"]
    assert summary["unanchored_matches"] == 3  # records 40, 44 (acct-a) and 42 (acct-c)
    report = json.loads((tmp_path / "r.json").read_text())
    assert {a["account_id"]: a["interactions"] for a in report["per_account"]} == {
        "acct-a": 10,
        "acct-c": 10,
    }
    refused = ledger(
        "report",
        "--accounts",
        str(tmp_path / "accounts.json"),
        "--from",
        "2026-06-01",
        "--to",
        "2026-07-01",
        "--url",
        service.server.url,
        "--api-key",
        service.keys["ingest"],
        check=False,
    )
    assert refused.returncode == 1 and "POST /v1/evidence answered 403" in refused.stderr
