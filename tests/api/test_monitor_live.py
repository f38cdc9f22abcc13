"""`mledger monitor --url` against a real, honest `mledger serve` anchoring on a real Anvil:
the checkpoint the service serves (with its timestamp, signer, domain and anchor) is read,
checked against the chain, and raises no alarm; a second round follows the new anchor."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, identity_file, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture


def test_an_honest_service_raises_no_alarm(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    with anchored_server(tmp_path, anvil_binary) as (server, node):
        identity = identity_file(server, tmp_path / "log.json")
        state = tmp_path / "monitor.json"
        monitor = (
            "monitor",
            "--log",
            str(identity),
            "--rpc-url",
            node.url,
            "--url",
            server.url,
            "--state",
            str(state),
            "--once",
        )
        for round_ in range(2):
            with server.client(ADMIN_KEY) as admin:
                for i in range(3):
                    body = interaction(10 * round_ + i, seed=8)
                    assert admin.post("/v1/entries", json=body).status_code == 202
                assert admin.post("/v1/admin/anchor").status_code == 200
            result = ledger(*monitor, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "ALERT" not in result.stdout + result.stderr
        assert json.loads(state.read_text())["served"]["tree_size"] == 6
