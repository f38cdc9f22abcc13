"""A real `ledger serve` that anchors on a real Anvil: the chain started as tests/chain
start it, the contract deployed with `ledger deploy`, the API served by `ledger serve
--rpc-url` (tests/api's `Server`). It seals and anchors only when asked
(POST /v1/admin/anchor seals, anchors and waits for the confirmation)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.chain.anvil import Anvil
from tests.api.conftest import Server, ledger


@contextmanager
def anchored_server(workdir: Path, anvil_binary: Path) -> Iterator[tuple[Server, Anvil]]:
    """A server on a log deployed on a fresh Anvil, both stopped afterwards."""
    node = Anvil(
        0, workdir / "anvil-state.json", workdir / "anvil.log", binary=anvil_binary
    ).start()
    try:
        data = workdir / "data"
        ledger("deploy", "--data-dir", str(data), "--rpc-url", node.url)
        server = Server(
            data, "--rpc-url", node.url, "--seal-interval", "3600", "--anchor-interval", "3600"
        )
        try:
            yield server, node
        finally:
            assert server.stop() == 0
    finally:
        node.stop()
