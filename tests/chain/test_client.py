"""The web3 client and the LogAnchor bindings against a real Anvil node."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger import merkle
from ledger.chain.anvil import free_port
from ledger.chain.artifacts import load_artifact
from ledger.chain.client import ChainClient, redact_url
from ledger.chain.deployment import DeployedLog, attach, log_id_for
from ledger.chain.errors import ChainUnavailableError, ContractRevertError
from ledger.chain.keys import AnchorKey
from ledger.chain.log_anchor import LogAnchor

LEAVES = [merkle.hash_leaf(f"leaf {i}".encode()) for i in range(16)]


def root(size: int) -> bytes:
    return merkle.root_hash(LEAVES[:size])


def test_deploy_create_log_anchor_and_read_back(chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor]) -> None:
    log, contract = deployed
    assert log.log_id == log_id_for("model-ledger") and log.chain_id == 31337
    assert contract.log_admin(log.log_id) == chain.require_key().address
    assert contract.is_anchorer(log.log_id, chain.require_key().address)
    assert contract.latest(log.log_id).size == 0

    first = contract.anchor(log.log_id, 5, root(5), [])
    second = contract.anchor(log.log_id, 13, root(13), merkle.consistency_proof(5, LEAVES[:13]))
    assert first.status == second.status == 1 and second.gas_used > 0

    latest = contract.latest(log.log_id)
    assert (latest.size, latest.root, latest.block_number) == (13, root(13), second.block_number)
    assert contract.root_at(log.log_id, 5) == root(5)
    assert contract.root_at(log.log_id, 6) is None
    at = contract.anchored_at(log.log_id, 13)
    assert at is not None and at.timestamp == chain.block(second.block_number).timestamp  # type: ignore[union-attr]
    assert contract.verify_inclusion(log.log_id, 13, 7, LEAVES[7], merkle.inclusion_proof(7, LEAVES[:13]))
    assert not contract.verify_inclusion(log.log_id, 13, 7, LEAVES[8], merkle.inclusion_proof(7, LEAVES[:13]))
    events = contract.anchored_events(log.log_id, 0, chain.block_number())
    assert [(e.size, e.prev_size, e.tx_hash) for e in events] == [(5, 0, first.tx_hash), (13, 5, second.tx_hash)]

    # A second, independent client: plain web3, raw eth_call, no code of ours.
    w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    selector = Web3.keccak(text="latest(bytes32)")[:4]
    raw = w3.eth.call({"to": contract.address, "data": selector + log.log_id})
    assert int.from_bytes(raw[:32], "big") == 13 and bytes(raw[32:64]) == root(13)
    plain = w3.eth.contract(address=contract.address, abi=load_artifact().abi)
    assert bytes(plain.functions.rootAt(log.log_id, 5).call()) == root(5)


def test_a_non_anchorer_is_refused_with_a_readable_reason(
    chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor], other_key: AnchorKey
) -> None:
    log, contract = deployed
    stranger = LogAnchor(ChainClient(chain.rpc_url, other_key), contract.address)
    with pytest.raises(ContractRevertError) as refused:
        stranger.build_anchor(log.log_id, 4, root(4), [])
    assert refused.value.name == "LogAnchorNotAnchorer"
    assert f"{other_key.address} is not an anchorer of log 0x{log.log_id.hex()}" in str(refused.value)
    with pytest.raises(ContractRevertError) as not_admin:
        stranger.add_anchorer(log.log_id, other_key.address)
    assert not_admin.value.name == "LogAnchorNotAdmin"
    with pytest.raises(ContractRevertError) as not_owner:
        stranger.create_log(log_id_for("mine"), other_key.address)
    assert not_owner.value.name == "OwnableUnauthorizedAccount"

    contract.add_anchorer(log.log_id, other_key.address)  # by the admin: now it may
    assert stranger.anchor(log.log_id, 4, root(4), []).status == 1


def test_an_inconsistent_root_is_refused(deployed: tuple[DeployedLog, LogAnchor]) -> None:
    log, contract = deployed
    contract.anchor(log.log_id, 4, root(4), [])
    proof = merkle.consistency_proof(4, LEAVES[:9])
    with pytest.raises(ContractRevertError) as refused:
        contract.build_anchor(log.log_id, 9, root(10), proof)
    assert refused.value.name == "LogAnchorInconsistent"
    assert refused.value.args_by_name["prevSize"] == 4 and refused.value.args_by_name["newSize"] == 9
    assert "does not verify" in str(refused.value)
    with pytest.raises(ContractRevertError, match="LogAnchorSizeNotIncreasing"):
        contract.build_anchor(log.log_id, 4, root(4), [])
    assert contract.latest(log.log_id).size == 4


def test_a_failed_transaction_is_decoded_from_its_block(
    chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor]
) -> None:
    log, contract = deployed
    contract.anchor(log.log_id, 4, root(4), [])
    # Skip the estimate: the duplicate reaches a block and fails there.
    signed = contract.build_anchor(log.log_id, 4, root(4), [], gas=100_000)
    chain.send(signed)
    receipt = chain.wait_for_receipt(signed.tx_hash)
    assert receipt.status == 0
    reason = chain.failure_reason(receipt, contract.decoder, "anchor")
    assert reason is not None and reason.name == "LogAnchorSizeNotIncreasing"
    assert reason.args_by_name["last"] == 4
    # The contract's checks run in the estimate: a doomed call is refused unsent.
    nonce = chain.nonce(block="pending")
    with pytest.raises(ContractRevertError, match="LogAnchorSizeNotIncreasing"):
        contract.anchor(log.log_id, 4, root(4), [])
    assert chain.nonce(block="pending") == nonce


def test_fees_and_nonces(chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor]) -> None:
    fees = chain.fees()
    base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
    assert fees.gas_price is None and fees.priority_fee > 0 and fees.max_fee >= 2 * base
    assert chain.nonce(block="pending") == chain.nonce(block="latest") == 3  # deploy, createLog, addAnchorer


def test_an_unreachable_node_is_reported_as_such() -> None:
    closed = ChainClient(f"http://127.0.0.1:{free_port()}/v2/secret-api-key")
    with pytest.raises(ChainUnavailableError) as down:
        closed.block_number()
    assert "unreachable" in str(down.value) and "secret-api-key" not in str(down.value)
    assert redact_url("https://user:pw@rpc.example:8443/v2/KEY?x=1") == "https://rpc.example:8443/..."
    assert "secret" not in repr(closed)


def test_attach_refuses_another_chain(chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor]) -> None:
    log, contract = deployed
    assert attach(chain, log.chain_id, log.contract, log.log_id).address == contract.address
    with pytest.raises(Exception, match="chain id 31337, but this database anchors to"):
        attach(chain, 1, log.contract, log.log_id)
    with pytest.raises(Exception, match="no contract at 0x"):
        attach(chain, log.chain_id, b"\x11" * 20, log.log_id)
    with pytest.raises(Exception, match="does not exist on contract"):
        attach(chain, log.chain_id, log.contract, log_id_for("other"))
