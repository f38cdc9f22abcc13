"""Setting up a log on chain and checking, at every start, that it is still there.

`deploy_log` deploys LogAnchor, creates the log with the deployer as its admin and
makes the deployer an anchorer. `attach` checks a recorded deployment against the
chain an RPC URL reaches: same chain id, contract code present, log created. Each
refusal says what differs and what to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.chain.client import ChainClient
from ledger.chain.errors import ChainError
from ledger.chain.log_anchor import LogAnchor
from ledger.chain.reverts import hex0x

DEFAULT_LOG_NAME = "model-ledger"


class DeploymentMismatchError(ChainError):
    """The chain reached is not the one this database anchors to (or lost the contract)."""


def log_id_for(name: str) -> bytes:
    """The log id of a log name: SHA-256 of its UTF-8 bytes."""
    if not name:
        raise ValueError("a log name cannot be empty")
    return hashlib.sha256(name.encode("utf-8")).digest()


@dataclass(frozen=True)
class DeployedLog:
    """A LogAnchor contract with a log created on it."""

    chain_id: int
    contract: bytes
    log_id: bytes
    log_name: str
    deployer: bytes
    block_number: int


def deploy_log(client: ChainClient, log_name: str = DEFAULT_LOG_NAME) -> tuple[DeployedLog, LogAnchor]:
    """Deploy LogAnchor and create log `log_name`; the key's account is owner, log
    admin and anchorer. Three transactions, each waited for."""
    key = client.require_key()
    log_id = log_id_for(log_name)
    contract, receipt = LogAnchor.deploy(client)
    contract.create_log(log_id, key.address)
    contract.add_anchorer(log_id, key.address)
    deployed = DeployedLog(
        chain_id=client.chain_id,
        contract=contract.address_bytes,
        log_id=log_id,
        log_name=log_name,
        deployer=bytes.fromhex(key.address[2:]),
        block_number=receipt.block_number,
    )
    return deployed, contract


def attach(client: ChainClient, chain_id: int, contract: bytes, log_id: bytes) -> LogAnchor:
    """The recorded contract on the chain `client` reaches, after checking it is there."""
    address = hex0x(contract)
    found = client.chain_id
    if found != chain_id:
        raise DeploymentMismatchError(
            f"the chain at {client.where} has chain id {found}, but this database anchors to"
            f" contract {address} on chain id {chain_id}: point --rpc-url at that chain"
        )
    bound = LogAnchor(client, contract)
    if not bound.has_code():
        raise DeploymentMismatchError(
            f"no contract at {address} on chain id {chain_id} ({client.where}), where this database"
            " recorded its LogAnchor: the chain was reset (a lost anvil-state.json?) or is another"
            " chain with the same id; restore the chain's state or start a new data dir"
        )
    if bound.log_admin(log_id) is None:
        raise DeploymentMismatchError(f"log {hex0x(log_id)} does not exist on contract {address}")
    return bound


def check_anchorer(contract: LogAnchor, log_id: bytes, account: str) -> None:
    """Refuse early when `account` may not anchor the log."""
    if not contract.is_anchorer(log_id, account):
        raise DeploymentMismatchError(
            f"{account} is not an anchorer of log {hex0x(log_id)} on {contract.address}: the log's"
            " admin must call addAnchorer for it, or use the anchor key that deployed the log"
        )
