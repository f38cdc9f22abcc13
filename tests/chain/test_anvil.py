"""The embedded Anvil: found in node_modules or refused with the fix, state kept across
a restart, a busy port refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain import anvil as anvil_module
from ledger.chain.anvil import Anvil, find_anvil
from ledger.chain.client import ChainClient
from ledger.chain.errors import AnvilError
from ledger.chain.keys import DEV_ANCHOR_KEY, dev_key


def test_a_missing_binary_says_to_run_npm_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anvil_module, "_node_modules_roots", list)
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("LEDGER_ANVIL", raising=False)
    with pytest.raises(AnvilError, match="run `npm ci`"):
        find_anvil()
    monkeypatch.setenv("LEDGER_ANVIL", "/nonexistent/anvil")
    with pytest.raises(AnvilError, match="LEDGER_ANVIL=/nonexistent/anvil is not an executable"):
        find_anvil()


def test_state_survives_a_restart_and_a_busy_port_is_refused(anvil: Anvil, tmp_path: Path) -> None:
    chain = ChainClient(anvil.url, dev_key())
    chain.request("evm_mine")
    chain.request("evm_mine")
    head = chain.head()

    with pytest.raises(AnvilError, match=f"port {anvil.port} is in use"):
        Anvil(anvil.port, tmp_path / "other.json", binary=anvil.binary).start()

    anvil.stop()  # SIGTERM: Anvil writes its state
    assert anvil.state_file is not None and anvil.state_file.stat().st_size > 0
    anvil.start()
    assert ChainClient(anvil.url).head() == head  # same blocks, same hashes
    assert anvil.log_file is not None and DEV_ANCHOR_KEY[2:] not in anvil.log_file.read_text()
