"""An erasure is proven only by the log's own statement records: a digest record that
an ingest key (or an operator keeping it out of its export) logs, committing to a
statement of type erasure that lists a live entry, must not let a completeness document
show that entry as proven erased (hiding its record from a verifier while `mledger
audit` of the export, which never sees that statement, passes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.core.merkle import inclusion_proof
from ledger.core.records import now_ts, parse_object
from ledger.formats.export_line import parse_logged_line
from ledger.formats.statement import (
    erasure_statement,
    leaves_digest,
    leaves_root,
    statement_salt,
    statement_sha256,
)
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

ACCOUNT = "acct-forged-erasure"


def _digest(statement: dict[str, Any], salt: str) -> dict[str, Any]:
    body = {"sha256": statement_sha256(statement)}
    return {"v": 1, "kind": "digest", "ts": statement["ts"], "salt": salt, "body": body}


def test_an_ingest_keys_digest_record_proves_no_erasure(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811
) -> None:
    """An ingest key logs a digest record of an erasure statement listing a live entry;
    a document marking that entry erased with it fails check erasure in mledger verify
    (against the chain), though mledger audit of the export passes; the ingest key
    cannot log a record with a statement record's salt."""
    with anchored_server(tmp_path, anvil_binary) as (server, anvil):
        _forge(server, anvil, tmp_path)


def _forge(server: Server, anvil: Any, tmp_path: Path) -> None:
    records = [interaction(i, seed=71, account=ACCOUNT) for i in range(5)]
    target = parse_object(records[2])
    statement = erasure_statement(
        "account",
        "hide it",
        1,
        leaves_digest([target.leaf_hash]),
        now_ts(),
        root=leaves_root([(2, target.leaf_hash)]),
    )
    forged = _digest(statement, "ab" * 16)
    ingest = server.key("ingest")
    with server.client(ADMIN_KEY) as admin:
        assert admin.post("/v1/entries/batch", json={"entries": records}).status_code == 202
    with server.client(ingest) as client:
        marked = _digest(statement, statement_salt(forged["body"]["sha256"]))
        for key in (ingest, ADMIN_KEY):
            with server.client(key) as caller:
                assert_problem(
                    caller.post("/v1/entries", json=marked),
                    403,
                    "salt is the one the log gives its own statement records",
                )
        assert client.post("/v1/entries", json=forged).status_code == 202, forged
    with server.client(ADMIN_KEY) as admin:
        assert admin.post("/v1/admin/anchor").status_code == 200
        exported = admin.get("/v1/export").content
        document = admin.get(f"/v1/index/account/{ACCOUNT}").json()
    leaves = [
        parse_object(json.loads(parse_logged_line(line)[1])).leaf_hash
        for line in exported.splitlines()
    ]
    record = parse_object(forged)
    at = leaves.index(record.leaf_hash)
    assert at == 5 and document["checkpoint"]["tree_size"] == 6
    entry = document["entries"][2]
    assert entry["leaf_index"] == 2
    del entry["record"]
    entry["erased"] = {
        "at": statement["ts"],
        "by": "0x" + record.leaf_hash.hex(),
        "member": {"position": 0, "path": []},
    }
    document["erasures"] = [
        {
            "leaf_index": at,
            "record": json.loads(record.canonical),
            "statement": statement,
            "proof": ["0x" + node.hex() for node in inclusion_proof(at, leaves)],
        }
    ]
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))
    identity = identity_file(server, tmp_path / "log.json")
    chain = ["--log", str(identity), "--rpc-url", anvil.url, "--json"]
    verified = ledger("verify", str(path), *chain, check=False)
    found = json.loads(verified.stdout)
    assert verified.returncode != 0 and not found["valid"], verified.stdout
    assert found["checks"][-1]["name"] == "erasure", found["checks"][-1]
    assert "the one the log gives its own statement records" in found["checks"][-1]["detail"]
    export = tmp_path / "export.ndjson"
    export.write_bytes(exported)
    audited = ledger("audit", str(export), *chain, check=False)
    assert audited.returncode == 0, audited.stdout
