"""The embedded Anvil: found in node_modules or refused with the fix, state kept across
a restart and only ever replaced whole (a torn exit dump dropped, a complete one used,
one node per state file), a busy port refused."""

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


def test_the_state_file_is_only_ever_replaced_whole(anvil: Anvil) -> None:
    assert anvil.state_file is not None and anvil.exit_state_file is not None
    chain = ChainClient(anvil.url, dev_key())
    chain.request("evm_mine")
    anvil.save_state()
    saved = chain.head()
    chain.request("evm_mine")
    anvil.kill()  # SIGKILL: no dump on exit; the file keeps the last save
    assert not anvil.exit_state_file.exists()

    anvil.exit_state_file.write_text('{"block": {"number": ')  # a dump torn by a kill
    anvil.start()
    assert ChainClient(anvil.url).head() == saved and not anvil.exit_state_file.exists()

    chain = ChainClient(anvil.url, dev_key())
    chain.request("evm_mine")
    head = chain.head()
    assert anvil.process is not None
    anvil.process.terminate()  # as when its `ledger up` dies: Anvil dumps to the exit file
    anvil.process.wait(20)
    assert anvil.exit_state_file.exists()
    anvil.kill()  # bookkeeping only: the node is gone already
    anvil.start()  # the complete exit dump is the newest state
    assert ChainClient(anvil.url).head() == head and not anvil.exit_state_file.exists()

    with pytest.raises(AnvilError, match="another Anvil still runs on the chain state"):
        Anvil(0, anvil.state_file, binary=anvil.binary).start(timeout=0.2)
