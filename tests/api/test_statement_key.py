"""The log's own statement records are filed under the index key ``statement:log``, so a
forged erasure cannot be hidden by erasing it, through a real `ledger serve` anchoring on
a real Anvil (docs/completeness.md, "Erased entries are proven by the log").

The operator holds the database. It logs a forged erasure record R1 (the statement
record's salt, its statement listing a live entry E) by hand, and later erases R1's own
line with a second erasure R2, so that `mledger audit` of the export sees R1 only as an
erased leaf hash. Either the index filed R1 under ``statement:log`` (the service's seal
does) and the audit fails the erased statement record, or it did not (the operator
masked R1's bytes while the service sealed) and no completeness document can prove E
erased by R1: `mledger verify` fails check ``erasure``. ``statement:log`` itself is the
complete list of the log's statements, proven like any key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.core.merkle import inclusion_proof
from ledger.core.records import now_ts, parse_object
from ledger.formats.export_line import ERASED_PREFIX, parse_erased_line, parse_logged_line
from ledger.formats.statement import (
    erasure_statement,
    leaves_digest,
    leaves_root,
    statement_bytes,
    statement_salt,
    statement_sha256,
)
from ledger.service.erasure import _log_statement
from ledger.store.db import sqlite_url
from ledger.store.erasure import ErasureStore, Target
from ledger.store.repository import Store
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

ACCOUNT = "acct-statement-key"


class Operator:
    """The operator of `server`: its API as admin, and its database by hand."""

    def __init__(self, server: Server, anvil: Any, tmp_path: Path) -> None:
        self.server = server
        self.tmp_path = tmp_path
        self.store = Store.open(sqlite_url(server.data_dir))
        identity = identity_file(server, tmp_path / "log.json")
        self.chain = ["--log", str(identity), "--rpc-url", anvil.url, "--json"]

    def anchor(self) -> None:
        with self.server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/admin/anchor").status_code == 200

    def get(self, path: str) -> Any:
        with self.server.client(ADMIN_KEY) as admin:
            response = admin.get(path)
        assert response.status_code == 200, response.text
        return response

    def leaves(self) -> list[bytes]:
        return [
            parse_erased_line(line)[1].leaf_hash
            if line.startswith(ERASED_PREFIX)
            else parse_object(json.loads(parse_logged_line(line)[1])).leaf_hash
            for line in self.get("/v1/export").content.splitlines()
        ]

    def log_forged_erasure(
        self, target: bytes, at: int, masked: bool
    ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """Log by hand an erasure record of a statement listing the live entry `target`
        at leaf index `at` (with its statement, as the service keeps its own); `masked`:
        its stored bytes lack the statement salt, and its statement is kept, only after
        the seal, so the service's index does not file it under statement:log. Also what
        the service then proves of statement:log at the record's leaf index (`filed`)."""
        statement = erasure_statement(
            "leaves",
            "forged",
            1,
            leaves_digest([target]),
            now_ts(),
            root=leaves_root([(at, target)]),
        )
        sha256 = statement_sha256(statement)
        body = {"sha256": sha256}
        record = {"v": 1, "kind": "digest", "ts": statement["ts"], "body": body}
        entry = parse_object({**record, "salt": statement_salt(sha256)})
        with self.store.transaction() as conn:
            self.store.lock_ingest(conn)
            self.store.insert_entries(conn, [entry])
            if not masked:
                ErasureStore(self.store).add_statement(
                    conn, entry.leaf_hash, "erasure", statement["ts"], statement_bytes(statement)
                )
            else:
                plain = parse_object({**record, "salt": "ab" * 16}).canonical
                conn.exec_driver_sql(
                    "UPDATE entries SET record = ? WHERE leaf_hash = ?", (plain, entry.leaf_hash)
                )
        self.anchor()  # sealed (and its index) from the stored bytes
        with self.store.read() as conn:
            found = self.store.find_entry(conn, entry.leaf_hash)
        assert found is not None and found.leaf_index is not None
        filed = self.filed(found.leaf_index)
        if masked:
            with self.store.transaction() as conn:
                conn.exec_driver_sql(
                    "UPDATE entries SET record = ? WHERE leaf_hash = ?",
                    (entry.canonical, entry.leaf_hash),
                )
                ErasureStore(self.store).add_statement(
                    conn, entry.leaf_hash, "erasure", statement["ts"], statement_bytes(statement)
                )
        return entry, statement, filed

    def erase_by_hand(self, leaf: bytes) -> None:
        """Erase the entry `leaf` with a second, logged erasure, going around the
        service's refusal (as `ledger.service.erasure.erase` does, by hand)."""
        erasures = ErasureStore(self.store)
        with self.store.transaction() as conn:
            row = conn.exec_driver_sql(
                "SELECT seq, leaf_hash, kind, external_id, account_id, model FROM entries"
                " WHERE leaf_hash = ?",
                (leaf,),
            ).one()
            target = Target(int(row[0]), bytes(row[1]), *row[2:])
            (index,) = conn.exec_driver_sql(
                "SELECT first_index + ? - first_seq FROM runs WHERE first_seq <= ?"
                " AND last_seq >= ?",
                (target.seq, target.seq, target.seq),
            ).one()
            statement = erasure_statement(
                "leaves",
                "tidy",
                1,
                leaves_digest([leaf]),
                now_ts(),
                root=leaves_root([(int(index), leaf)]),
            )
            logged = _log_statement(self.store, erasures, conn, "erasure", statement)
            erasures.erase(conn, [target], statement["ts"], logged)
        self.anchor()

    def forged_document(self, entry: Any, statement: dict, filed: Any) -> Path:
        """The service's document of ACCOUNT at the newest anchor, with its third entry
        shown erased by the forged erasure `entry`, proven by its statement, its
        inclusion and (`filed`, when not None) its statement:log proof."""
        document = self.get(f"/v1/index/account/{ACCOUNT}").json()
        size = document["checkpoint"]["tree_size"]
        leaves = self.leaves()[:size]
        at = leaves.index(entry.leaf_hash)
        shown = document["entries"][2]
        del shown["record"]
        shown["erased"] = {
            "at": statement["ts"],
            "by": "0x" + entry.leaf_hash.hex(),
            "member": {"position": 0, "path": []},
        }
        erasure = {
            "leaf_index": at,
            "record": json.loads(entry.canonical),
            "statement": statement,
            "proof": ["0x" + node.hex() for node in inclusion_proof(at, leaves)],
        }
        if filed is not None:
            names = ("count", "postings_root", "map_proof", "postings_proof")
            erasure["filed"] = {name: filed[name] for name in names}
        document["erasures"] = [erasure]
        path = self.tmp_path / f"forged-{size}-{filed is not None}.json"
        path.write_text(json.dumps(document))
        return path

    def filed(self, at: int) -> dict[str, Any]:
        """What the service proves of statement:log in the window [at, at + 1), as an
        erasure's ``filed``."""
        return dict(self.get(f"/v1/index/statement/log?from_size={at}&to_size={at + 1}").json())

    def verify(self, path: Path) -> dict[str, Any]:
        done = ledger("verify", str(path), *self.chain, check=False)
        found: dict[str, Any] = json.loads(done.stdout)
        assert done.returncode == (0 if found["valid"] else 1), done.stderr
        return found

    def audit(self) -> dict[str, Any]:
        self.anchor()
        export = self.tmp_path / "export.ndjson"
        export.write_bytes(self.get("/v1/export").content)
        done = ledger("audit", str(export), *self.chain, check=False)
        result: dict[str, Any] = json.loads(done.stdout)
        assert done.returncode == (0 if result["passed"] else 1), done.stderr
        return result


def _live_log(server: Server) -> list[bytes]:
    """Five entries of ACCOUNT, sealed and anchored, and a legal hold (a statement
    record the service logs itself, so statement:log is not empty)."""
    records = [interaction(i, seed=83, account=ACCOUNT) for i in range(5)]
    with server.client(ADMIN_KEY) as admin:
        assert admin.post("/v1/entries/batch", json={"entries": records}).status_code == 202
        assert admin.post("/v1/admin/anchor").status_code == 200
        hold = {"account": "acct-other", "reason": "case 12"}
        assert admin.post("/v1/admin/holds", json=hold).is_success
    return [parse_object(record).leaf_hash for record in records]


def test_a_forged_erasure_the_index_does_not_file_proves_nothing(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811
) -> None:
    """The operator keeps its forged erasure record out of statement:log (masking its
    bytes while the service seals), so that it can erase the record later unseen by the
    audit: a document showing E erased by it fails check erasure in `mledger verify`
    against the chain, without a statement:log proof or with the service's proof of
    that window (which does not list it)."""
    with anchored_server(tmp_path, anvil_binary) as (server, anvil):
        operator = Operator(server, anvil, tmp_path)
        leaves = _live_log(server)
        entry, statement, window = operator.log_forged_erasure(leaves[2], 2, masked=True)
        assert operator.leaves().index(entry.leaf_hash) == 6  # 5 entries, the hold, R1
        assert window["count"] == 1 and window["entries"] == []  # the hold's leaf 5 only
        for filed in (None, window):
            found = operator.verify(operator.forged_document(entry, statement, filed))
            assert not found["valid"], found["checks"][-1]
            assert found["checks"][-1]["name"] == "erasure", found["checks"][-1]
            words = (
                "does not prove its record filed under statement:log"
                if filed is None
                else "its record is not proven filed under statement:log at leaf index 6"
            )
            assert words in found["checks"][-1]["detail"], found["checks"][-1]
        # The service refuses to erase a statement record, and changes nothing.
        with server.client(ADMIN_KEY) as admin:
            request = {"leaves": ["0x" + entry.leaf_hash.hex()], "reason": "tidy"}
            assert_problem(admin.post("/v1/admin/erasures", json=request), 400, "is never erased")
        refused = ledger(
            "erase", "--leaf", "0x" + entry.leaf_hash.hex(), "--reason", "tidy",
            "--data-dir", str(server.data_dir), check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and "is never erased" in refused.stderr, refused
        with operator.store.read() as conn:
            kept = operator.store.find_entry(conn, entry.leaf_hash)
        assert kept is not None and kept.erased_at is None  # nothing changed
        # R1 live in the export: its statement lists E, live (and the index left it out)
        assert operator.audit()["failure"]["check"] in ("erasure", "index root")


def test_the_audit_fails_an_erased_statement_record(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811
) -> None:
    """The service's index files the forged erasure record under statement:log, so a
    document showing E erased by it verifies; but once the operator erases the record
    by hand with a second erasure, `mledger audit` fails: the erased line carries the
    statement:log key hash (check statement), or, if the operator drops it from the
    line, the index roots anchored no longer follow from the export (index root)."""
    with anchored_server(tmp_path, anvil_binary) as (server, anvil):
        operator = Operator(server, anvil, tmp_path)
        leaves = _live_log(server)
        entry, statement, window = operator.log_forged_erasure(leaves[2], 2, masked=False)
        found = operator.verify(operator.forged_document(entry, statement, window))
        assert found["valid"], found["checks"][-1]  # the operator's signed, public claim
        # statement:log is the complete list of the log's statements: the hold and R1,
        # by the API (auditor key) and by `mledger evidence --key`, verified on the chain
        with server.client(server.key("auditor")) as auditor:
            listed = auditor.get("/v1/index/statement/log")
        assert listed.status_code == 200, listed.text
        assert [e["leaf_index"] for e in listed.json()["entries"]] == [5, 6]
        out = ledger("evidence", "--key", "statement:log", "--data-dir", str(server.data_dir))
        assert json.loads(out.stdout)["entries"] == listed.json()["entries"]
        (tmp_path / "statements.json").write_text(out.stdout)
        statements = operator.verify(tmp_path / "statements.json")
        assert statements["valid"] and statements["key"] == "statement:log", statements
        assert statements["statement"].startswith(
            "COMPLETE: 2 entries of statement:log in the first 7 entries (anchored at block"
        )
        operator.erase_by_hand(entry.leaf_hash)
        failed = operator.audit()
        failure = failed["failure"]
        assert failure["check"] == "statement", failed
        assert failure["leaf_index"] == 6
        assert "a statement record is never erased" in failure["message"]
        # The operator drops statement:log from the erased line and its postings.
        with operator.store.transaction() as conn:
            conn.exec_driver_sql(
                "UPDATE entries SET key_hashes = x'' WHERE leaf_hash = ?", (entry.leaf_hash,)
            )
        failed = operator.audit()
        assert failed["failure"]["check"] == "index root", failed
