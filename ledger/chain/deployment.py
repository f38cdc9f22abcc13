"""Setting up a log on chain and checking, at every start, that it is still there.

`deploy_log` deploys LogAnchor and creates the log with a given admin (a key kept
offline, apart from the anchor key and the log key: it signs the log's retirement) and
the log key as the only key whose checkpoints it anchors (anyone may send them).
`attach` checks a recorded deployment against the chain an RPC URL reaches: same
chain id, the shipped LogAnchor's code at the address, the log created with this log
key and not retired. Each refusal says what differs and what to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from ledger.chain.client import ChainClient
from ledger.chain.errors import ChainError
from ledger.chain.log_anchor import LogAnchor
from ledger.chain.reverts import hex0x
from ledger.formats.abi import contract as shipped_contract

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
    admin: bytes
    """The log's admin: it alone can retire the log (by signature, sent by anyone)."""


def deploy_log(
    client: ChainClient, log_signer: str, log_name: str = DEFAULT_LOG_NAME, *, admin: str
) -> tuple[DeployedLog, LogAnchor]:
    """Deploy LogAnchor and create log `log_name` with `log_signer` (the log key's
    address) as its key and `admin` as its admin; the anchor key's account is the
    contract's owner (it may create more logs, nothing else). Two transactions, each
    waited for. ValueError when `admin` is the anchor key or the log key: a leak of
    either must not be able to retire the log."""
    key = client.require_key()
    for role, address in (("anchor (gas) key", key.address), ("log key", log_signer)):
        if admin.lower() == address.lower():
            raise ValueError(
                f"the log's admin {admin} is the {role}: the admin"
                " must be a key kept apart (offline)"
            )
    log_id = log_id_for(log_name)
    bound, receipt = LogAnchor.deploy(client)
    contract = LogAnchor(client, bound.address, from_block=receipt.block_number)
    contract.create_log(log_id, admin, log_signer)
    deployed = DeployedLog(
        chain_id=client.chain_id,
        contract=contract.address_bytes,
        log_id=log_id,
        log_name=log_name,
        deployer=bytes.fromhex(key.address[2:]),
        block_number=receipt.block_number,
        admin=bytes.fromhex(to_checksum_address(admin)[2:]),
    )
    return deployed, contract


def attach(
    client: ChainClient,
    chain_id: int,
    contract: bytes,
    log_id: bytes,
    *,
    from_block: int = 0,
    log_signer: str | None = None,
) -> LogAnchor:
    """The recorded contract on the chain `client` reaches, after checking it is there
    (and, with `log_signer`, that the log is anchored with that key)."""
    address = hex0x(contract)
    found = client.chain_id
    if found != chain_id:
        raise DeploymentMismatchError(
            f"the chain at {client.where} has chain id {found}, but this database anchors to"
            f" contract {address} on chain id {chain_id}: point --rpc-url at that chain"
        )
    bound = LogAnchor(client, contract, from_block=from_block)
    code = client.code(bound.address)
    if not code:
        raise DeploymentMismatchError(
            f"no contract at {address} on chain id {chain_id} ({client.where}), where this database"
            " recorded its LogAnchor: the chain was reset (a lost anvil-state.json?) or is another"
            " chain with the same id; restore the chain's state or start a new data dir"
        )
    if code != shipped_contract("LogAnchor").runtime_code:
        raise DeploymentMismatchError(
            f"the contract at {address} is not the LogAnchor this version of"
            " model-ledger ships (an older version, or another contract): verifiers"
            " would refuse its anchors. Start a new data dir and ingest this log's"
            " records into it (`mledger export`, then `jq -c .record` of each line and"
            " `mledger ingest`: every record keeps its salt and time, so its leaf hash)"
        )
    info = bound.log_info(log_id)
    if info is None:
        raise DeploymentMismatchError(f"log {hex0x(log_id)} does not exist on contract {address}")
    if log_signer is not None and info.signer.lower() != log_signer.lower():
        raise DeploymentMismatchError(
            f"log {hex0x(log_id)} on {address} is anchored with log key"
            f" {info.signer}, but this service's log key is {log_signer}: set"
            " LEDGER_LOG_KEY (or the data dir's log-key.json) to the log's key"
        )
    if info.retired:
        raise DeploymentMismatchError(
            f"log {hex0x(log_id)} on {address} was retired (trusted up to tree"
            f" size {info.trusted_size}): it takes no more anchors; continue"
            " in a successor log (docs/operations.md, a leaked log key)"
        )
    return bound
