"""Legal holds checked by `mledger audit`, through a real `ledger serve` anchoring on a
real Anvil. A hold's logged statement names the index key hash of what it holds, so an
audit of the export finds an erasure that took a held entry even when the operator went
around the service's refusal by editing its own database; holds lifted before an
erasure, or placed after it, are no objection."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ledger.store.db import SQLITE_FILE
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture

ACCOUNTS = ["acct-hold-a", "acct-hold-b", "acct-hold-c"]


def test_the_audit_fails_an_erasure_of_held_entries(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811
) -> None:
    with anchored_server(tmp_path, anvil_binary) as (server, anvil):
        records = [interaction(i, seed=61, account=ACCOUNTS[i % 3]) for i in range(24)]
        export, identity = tmp_path / "export.ndjson", identity_file(server, tmp_path / "log.json")

        def audit() -> dict[str, object]:
            with server.client(ADMIN_KEY) as admin:
                assert admin.post("/v1/admin/anchor").status_code == 200
                export.write_bytes(admin.get("/v1/export").content)
            done = ledger(
                "audit", str(export), "--log", str(identity), "--rpc-url", anvil.url, "--json",
                check=False,
            )  # fmt: skip
            result: dict[str, object] = json.loads(done.stdout)
            assert done.returncode == (0 if result["passed"] else 1), done.stderr
            return result

        with server.client(ADMIN_KEY) as admin:
            assert admin.post("/v1/entries/batch", json={"entries": records}).status_code == 202
            assert admin.post("/v1/admin/anchor").status_code == 200  # sealed: erasable
            held, lifted = (
                admin.post("/v1/admin/holds", json={"account": a, "reason": "case 9"}).json()
                for a in ACCOUNTS[1:]
            )
            assert admin.post(
                f"/v1/admin/holds/{lifted['id']}/lift", json={"reason": "closed"}
            ).is_success
            done = admin.post(
                "/v1/admin/erasures",
                json={"before": "2100-01-01T00:00:00Z", "reason": "retention"},
            ).json()
            assert (done["erased"], done["held"]) == (16, 8)  # a and c; b is held
            statement = done["statement"]
        passed = audit()
        assert passed["passed"] and passed["erased_entries"] == 16, passed
        assert passed["statements"] == 4  # two holds, a lift, an erasure
        assert passed["legal_holds"] == 2
        shown = ledger("audit", str(export), "--log", str(identity), "--rpc-url", anvil.url)
        assert "no erased entry was held by any of the 2 legal holds" in shown.stdout
        hold_line = json.loads(export.read_bytes().splitlines()[24])
        assert set(hold_line["statement"]) == {
            "hold",
            "key_sha256",
            "reason",
            "scope",
            "ts",
            "type",
        }
        assert ACCOUNTS[1] not in json.dumps(hold_line["statement"]) and statement

        # The operator edits its database: the hold is gone, so the service erases the
        # held account's entries, and logs it. The logged hold still names its key.
        with sqlite3.connect(server.data_dir / SQLITE_FILE) as db:
            assert db.execute("DELETE FROM legal_holds WHERE id = ?", (held["id"],)).rowcount
        with server.client(ADMIN_KEY) as admin:
            taken = admin.post(
                "/v1/admin/erasures", json={"account": ACCOUNTS[1], "reason": "tidy"}
            ).json()
        assert (taken["erased"], taken["held"]) == (8, 0)
        failed = audit()
        failure = failed["failure"]
        assert isinstance(failure, dict) and failure["check"] == "hold", failed
        assert failure["line"] == 2 and failure["leaf_index"] == 1  # b's first entry
        assert f"while legal hold {held['id']} (logged at leaf index 24, line 25" in str(
            failure["message"]
        )
        assert "not lifted) held its key: an erasure must leave held entries" in str(
            failure["message"]
        )
