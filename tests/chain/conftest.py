"""Fixtures for the chain tests: a real Anvil node per test, the log deployed on it, and
a store that grows by sealed batches of records.

Anvil starts in well under a second, so every test gets a fresh chain on a free port
with its state file in the test's tmp_path (restartable with the same state).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.admin_key import sign_retire
from ledger.chain.anvil import Anvil, find_anvil
from ledger.chain.binding import Signature
from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeployedLog, deploy_log
from ledger.chain.errors import AnvilError
from ledger.chain.keys import AnchorKey, dev_key, key_from_hex
from ledger.chain.log_anchor import LogAnchor
from ledger.core.records import parse_json
from ledger.formats.eip712 import NO_INDEX_ROOT, Domain
from ledger.formats.identity import LogIdentity
from ledger.service.anchorer import Anchorer
from ledger.service.sequencer import seal
from ledger.service.signer import LogSigner
from ledger.store.anchors import AnchorRepository, Deployment
from ledger.store.repository import LogState, Store
from ledger.workload import ndjson_lines

OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
"""Anvil's second default account: funded, but no role on any log."""

LOG_KEY = "0x" + "4c" * 32
"""The test logs' log key: it signs checkpoints and receipts. It holds no ether and
sends no transaction (the anchor key, Anvil's first account, relays its checkpoints)."""


ADMIN_KEY = "0x" + "ad" * 32
"""The test logs' admin key: it alone retires a log, by signature (it holds no ether and
sends no transaction; anyone relays its signed retirement)."""


def log_signer_for(account: LocalAccount, log: DeployedLog | Deployment) -> LogSigner:
    """`account` as the log key of `log`, in its EIP-712 domain (chain id, contract)."""
    return LogSigner(account, Domain(log.log_id, log.chain_id, log.contract))


def sign_retirement_as(
    account: LocalAccount, log: DeployedLog | Deployment, trusted_size: int = 0
) -> Signature:
    """`account`'s signature retiring `log` up to `trusted_size`, as retireLog takes it
    (the log's admin key's, if `account` is it)."""
    signed = sign_retire(account, log.chain_id, log.contract, log.log_id, trusted_size)
    return signed.r, signed.vs


@pytest.fixture(scope="session")
def anvil_binary() -> Path:
    """The Anvil binary (node_modules, installed by `npm ci`)."""
    try:
        return find_anvil()
    except AnvilError as error:
        pytest.fail(str(error))


@pytest.fixture
def anvil(anvil_binary: Path, tmp_path: Path) -> Iterator[Anvil]:
    """A fresh Anvil on a free port, state in tmp_path/anvil-state.json."""
    node = Anvil(0, tmp_path / "anvil-state.json", tmp_path / "anvil.log", binary=anvil_binary)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def chain(anvil: Anvil) -> ChainClient:
    """A client of the Anvil node signing with the dev key."""
    return ChainClient(anvil.url, dev_key())


@pytest.fixture
def other_key() -> AnchorKey:
    """A funded account with no role."""
    return key_from_hex(OTHER_KEY, "test key")


@pytest.fixture
def log_account() -> LocalAccount:
    """The log key (LOG_KEY)."""
    account: LocalAccount = Account.from_key(LOG_KEY)
    return account


@pytest.fixture
def admin_account() -> LocalAccount:
    """The log's admin key (ADMIN_KEY)."""
    account: LocalAccount = Account.from_key(ADMIN_KEY)
    return account


@pytest.fixture
def deployed(
    chain: ChainClient, log_account: LocalAccount, admin_account: LocalAccount
) -> tuple[DeployedLog, LogAnchor]:
    """LogAnchor deployed with the log "model-ledger" created (dev key: contract owner;
    admin: ADMIN_KEY; log key: LOG_KEY)."""
    return deploy_log(chain, log_account.address, admin=admin_account.address)


@pytest.fixture
def signer(log_account: LocalAccount, deployed: tuple[DeployedLog, LogAnchor]) -> LogSigner:
    """The log key of the deployed log, in its EIP-712 domain."""
    return log_signer_for(log_account, deployed[0])


@dataclass
class Setup:
    """A store with a recorded deployment and an anchorer on the Anvil chain."""

    store: Store
    repo: AnchorRepository
    deployment: Deployment
    contract: LogAnchor
    chain: ChainClient
    anvil: Anvil
    signer: LogSigner
    records: int = 0

    @property
    def identity(self) -> LogIdentity:
        """The log identity document a verifier pins for this log."""
        return self.deployment.identity(bytes.fromhex(self.signer.address[2:]))

    def sign(self, size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT) -> Signature:
        """The log key's signature of the checkpoint (size, root, index root), as anchor()
        takes it."""
        return self.signer.anchor_signature(size, root, index_root)

    def grow(self, count: int) -> LogState:
        """Ingest `count` new records and seal; the new checkpoint."""
        lines = ndjson_lines(count, seed=7, start=self.records)
        self.records += count
        self.store.add_entries([[parse_json(line) for line in lines]])
        return seal(self.store)

    def anchorer(self, **options: object) -> Anchorer:
        """An anchorer for this store and chain, signing with the log key (a fresh one
        models a restart)."""
        return Anchorer(self.store, self.contract, self.deployment, self.signer, **options)  # type: ignore[arg-type]

    def rpc(self, method: str, *params: object) -> object:
        """A raw JSON-RPC call to Anvil (evm_*, anvil_*)."""
        return self.chain.request(method, params)


def make_setup(
    url: str,
    anvil: Anvil,
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
) -> Iterator[Setup]:
    """A Setup on a store at `url`; closes the store afterwards."""
    log, contract = deployed
    store = Store.open(url)
    repo = AnchorRepository(store)
    deployment = Deployment(
        log.chain_id, log.contract, log.log_id, log.log_name, log.deployer, log.block_number, "t"
    )
    repo.record_deployment(deployment)
    try:
        yield Setup(store, repo, deployment, contract, chain, anvil, signer)
    finally:
        store.close()


@pytest.fixture
def setup(
    tmp_path: Path,
    anvil: Anvil,
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
) -> Iterator[Setup]:
    """A Setup on SQLite."""
    yield from make_setup(f"sqlite:///{tmp_path / 'ledger.db'}", anvil, chain, deployed, signer)


@pytest.fixture
def any_setup(
    db_url: str,
    anvil: Anvil,
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
) -> Iterator[Setup]:
    """A Setup on each backend (SQLite and PostgreSQL)."""
    yield from make_setup(db_url, anvil, chain, deployed, signer)
