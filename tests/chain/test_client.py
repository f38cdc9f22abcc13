"""The web3 client and the LogAnchor bindings against a real Anvil node."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.admin_key import sign_retire
from ledger.chain.anvil import free_port
from ledger.chain.artifacts import load_artifact
from ledger.chain.client import ChainClient, redact_url
from ledger.chain.deployment import DeployedLog, DeploymentMismatchError, attach, log_id_for
from ledger.chain.errors import ChainUnavailableError, ContractRevertError
from ledger.chain.keys import DEV_ANCHOR_KEY, AnchorKey
from ledger.chain.log_anchor import LogAnchor
from ledger.chain.reverts import RevertDecoder
from ledger.core import merkle
from ledger.formats.abi import CONTRACTS
from ledger.service.signer import LogSigner
from tests.chain.conftest import LOG_KEY, log_signer_for, sign_retirement_as

LEAVES = [merkle.hash_leaf(f"leaf {i}".encode()) for i in range(16)]


def root(size: int) -> bytes:
    return merkle.root_hash(LEAVES[:size])


def test_deploy_create_log_anchor_and_read_back(
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
    log_account: LocalAccount,
    admin_account: LocalAccount,
) -> None:
    log, contract = deployed
    assert log.log_id == log_id_for("model-ledger") and log.chain_id == 31337
    assert contract.log_admin(log.log_id) == admin_account.address != chain.require_key().address
    assert log.admin == bytes.fromhex(admin_account.address[2:])
    info = contract.log_info(log.log_id)
    assert info is not None
    assert (info.signer, info.admin, info.latest_size, info.retired, info.trusted_size) == (
        log_account.address,
        admin_account.address,
        0,
        False,
        0,
    )
    assert contract.log_info(log_id_for("other")) is None
    assert contract.latest(log.log_id).size == 0

    # The contract's EIP-712 digest is the one the log key signs (ledger.service.signer).
    signature = signer.sign_checkpoint(5, root(5))
    digest = contract.checkpoint_digest(log.log_id, 5, root(5))
    assert (
        Account._recover_hash(digest, signature=bytes.fromhex(signature[2:])) == log_account.address
    )

    first = contract.anchor(log.log_id, 5, root(5), [], signer.anchor_signature(5, root(5)))
    proof = merkle.consistency_proof(5, LEAVES[:13])
    second = contract.anchor(log.log_id, 13, root(13), proof, signer.anchor_signature(13, root(13)))
    assert first.status == second.status == 1 and second.gas_used > 0

    latest = contract.latest(log.log_id)
    assert (latest.size, latest.root) == (13, root(13))
    assert contract.root_at(log.log_id, 5) == root(5)
    assert contract.root_at(log.log_id, 6) is None
    at = contract.anchored_at(log.log_id, 13)
    assert at is not None and (at.root, at.prev_size, at.tx_hash) == (root(13), 5, second.tx_hash)
    assert (at.block_number, at.block_hash) == (
        second.block_number,
        chain.block(second.block_number).hash,
    )  # type: ignore[union-attr]
    assert contract.anchored_at(log.log_id, 6) is None
    assert contract.verify_inclusion(
        log.log_id, 13, 7, LEAVES[7], merkle.inclusion_proof(7, LEAVES[:13])
    )
    assert not contract.verify_inclusion(
        log.log_id, 13, 7, LEAVES[8], merkle.inclusion_proof(7, LEAVES[:13])
    )
    events = contract.anchored_events(log.log_id, 0, chain.block_number())
    assert [(e.size, e.prev_size, e.tx_hash) for e in events] == [
        (5, 0, first.tx_hash),
        (13, 5, second.tx_hash),
    ]
    assert contract.log_info(log.log_id).latest_size == 13  # type: ignore[union-attr]

    # A second, independent client: plain web3, raw eth_call, no code of ours.
    w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    selector = Web3.keccak(text="latest(bytes32)")[:4]
    raw = w3.eth.call({"to": contract.address, "data": selector + log.log_id})
    assert int.from_bytes(raw[:32], "big") == 13 and bytes(raw[32:64]) == root(13)
    plain = w3.eth.contract(address=contract.address, abi=load_artifact().abi)
    assert bytes(plain.functions.rootAt(log.log_id, 5).call()) == root(5)


def test_anyone_relays_a_signed_checkpoint_and_nobody_anchors_an_unsigned_one(
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
    other_key: AnchorKey,
) -> None:
    """There is no anchorer role: the log key's signature is what counts, whoever sends it."""
    log, contract = deployed
    stranger = LogAnchor(ChainClient(chain.rpc_url, other_key), contract.address)
    impostor = log_signer_for(Account.create(), log)  # another key, the same log's domain
    with pytest.raises(ContractRevertError) as refused:
        stranger.build_anchor(log.log_id, 4, root(4), [], impostor.anchor_signature(4, root(4)))
    assert refused.value.name == "LogAnchorBadSignature"
    assert refused.value.args_by_name["recovered"] == impostor.address
    assert f"the checkpoint is not signed by the log key of log 0x{log.log_id.hex()}" in str(
        refused.value
    )
    # The log key's signature binds the size and the root: neither can be changed.
    with pytest.raises(ContractRevertError, match="LogAnchorBadSignature"):
        stranger.build_anchor(log.log_id, 5, root(4), [], signer.anchor_signature(4, root(4)))
    with pytest.raises(ContractRevertError, match="LogAnchorBadSignature"):
        stranger.build_anchor(log.log_id, 4, root(5), [], signer.anchor_signature(4, root(4)))
    with pytest.raises(ContractRevertError) as not_admin:
        stranger.retire_log(log.log_id, 0, sign_retirement_as(Account.create(), log))
    assert not_admin.value.name == "LogAnchorNotAdminSignature"
    with pytest.raises(ContractRevertError) as not_owner:
        stranger.create_log(log_id_for("mine"), other_key.address, other_key.address)
    assert not_owner.value.name == "OwnableUnauthorizedAccount"
    assert contract.latest(log.log_id).size == 0

    relayed = stranger.anchor(log.log_id, 4, root(4), [], signer.anchor_signature(4, root(4)))
    assert relayed.status == 1 and contract.latest(log.log_id).root == root(4)
    assert contract.anchored_at(log.log_id, 4).tx_hash == relayed.tx_hash  # type: ignore[union-attr]


def test_a_signature_is_for_one_contract_and_chain(
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    log_account: LocalAccount,
    admin_account: LocalAccount,
) -> None:
    """The EIP-712 domain names the contract: a checkpoint signed for one LogAnchor cannot
    be replayed on another, even one whose log has the same id and log key."""
    log, contract = deployed
    from ledger.chain.deployment import deploy_log

    other_log, other = deploy_log(chain, log_account.address, admin=admin_account.address)
    assert other_log.log_id == log.log_id and other.address != contract.address
    for_first = log_signer_for(log_account, log).anchor_signature(4, root(4))
    with pytest.raises(ContractRevertError, match="LogAnchorBadSignature"):
        other.build_anchor(log.log_id, 4, root(4), [], for_first)
    assert (
        other.anchor(
            log.log_id,
            4,
            root(4),
            [],
            log_signer_for(log_account, other_log).anchor_signature(4, root(4)),
        ).status
        == 1
    )


def test_an_inconsistent_root_is_refused(
    deployed: tuple[DeployedLog, LogAnchor], signer: LogSigner
) -> None:
    log, contract = deployed
    contract.anchor(log.log_id, 4, root(4), [], signer.anchor_signature(4, root(4)))
    proof = merkle.consistency_proof(4, LEAVES[:9])
    with pytest.raises(ContractRevertError) as refused:
        contract.build_anchor(log.log_id, 9, root(10), proof, signer.anchor_signature(9, root(10)))
    assert refused.value.name == "LogAnchorInconsistent"
    assert (
        refused.value.args_by_name["prevSize"] == 4 and refused.value.args_by_name["newSize"] == 9
    )
    assert "does not verify" in str(refused.value)
    with pytest.raises(ContractRevertError, match="LogAnchorSizeNotIncreasing"):
        contract.build_anchor(log.log_id, 4, root(4), [], signer.anchor_signature(4, root(4)))
    assert contract.latest(log.log_id).size == 4


def test_a_failed_transaction_is_decoded_from_its_block(
    chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor], signer: LogSigner
) -> None:
    log, contract = deployed
    signature = signer.anchor_signature(4, root(4))
    contract.anchor(log.log_id, 4, root(4), [], signature)
    # Skip the estimate: the duplicate reaches a block and fails there.
    signed = contract.build_anchor(log.log_id, 4, root(4), [], signature, gas=100_000)
    chain.send(signed)
    receipt = chain.wait_for_receipt(signed.tx_hash)
    assert receipt.status == 0
    reason = chain.failure_reason(receipt, contract.decoder, "anchor")
    assert reason is not None and reason.name == "LogAnchorSizeNotIncreasing"
    assert reason.args_by_name["last"] == 4
    # The contract's checks run in the estimate: a doomed call is refused unsent.
    nonce = chain.nonce(block="pending")
    with pytest.raises(ContractRevertError, match="LogAnchorSizeNotIncreasing"):
        contract.anchor(log.log_id, 4, root(4), [], signature)
    assert chain.nonce(block="pending") == nonce


def test_fees_and_nonces(chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor]) -> None:
    fees = chain.fees()
    base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
    assert fees.gas_price is None and fees.priority_fee > 0 and fees.max_fee >= 2 * base
    assert chain.nonce(block="pending") == chain.nonce(block="latest") == 2  # deploy, createLog


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_custom_error_is_explained(name: str) -> None:
    """A revert names its error and says what it means: every custom error the shipped
    contracts can raise decodes to a sentence, not only to its name and arguments."""
    artifact = load_artifact(name)
    decoder = RevertDecoder(artifact)
    zero = {"address": "0x" + "00" * 20, "bytes32": bytes(32)}
    library = {
        "OwnableInvalidOwner",
        "SafeCastOverflowedUintDowncast",
    }  # unreachable: constructor, uint64 block numbers
    for entry in artifact.entries("error"):
        if entry["name"] in library:
            continue
        types = [i["type"] for i in entry["inputs"]]
        selector = Web3.keccak(text=f"{entry['name']}({','.join(types)})")[:4]
        error = decoder.decode(
            selector + abi_encode(types, [zero.get(t, 0) for t in types]), "call"
        )
        assert error.name == entry["name"]
        assert str(error).split(")", 1)[1].startswith(": "), (
            f"{entry['name']} is not explained: {error}"
        )


def test_an_unreachable_node_is_reported_as_such() -> None:
    closed = ChainClient(f"http://127.0.0.1:{free_port()}/v2/secret-api-key")
    with pytest.raises(ChainUnavailableError) as down:
        closed.block_number()
    assert "unreachable" in str(down.value) and "secret-api-key" not in str(down.value)
    assert (
        redact_url("https://user:pw@rpc.example:8443/v2/KEY?x=1") == "https://rpc.example:8443/..."
    )
    assert "secret" not in repr(closed)


def test_attach_refuses_another_chain(
    chain: ChainClient, deployed: tuple[DeployedLog, LogAnchor], log_account: LocalAccount
) -> None:
    log, contract = deployed
    assert attach(chain, log.chain_id, log.contract, log.log_id).address == contract.address
    assert (
        attach(
            chain, log.chain_id, log.contract, log.log_id, log_signer=log_account.address
        ).address
        == contract.address
    )
    stranger = Account.create().address
    with pytest.raises(
        DeploymentMismatchError,
        match=(
            f"is anchored with log key {log_account.address}, but"
            f" this service's log key is {stranger}"
        ),
    ):
        attach(chain, log.chain_id, log.contract, log.log_id, log_signer=stranger)
    with pytest.raises(Exception, match="chain id 31337, but this database anchors to"):
        attach(chain, 1, log.contract, log.log_id)
    with pytest.raises(Exception, match="no contract at 0x"):
        attach(chain, log.chain_id, b"\x11" * 20, log.log_id)
    with pytest.raises(Exception, match="does not exist on contract"):
        attach(chain, log.chain_id, log.contract, log_id_for("other"))


def test_the_admin_retires_by_signature_sent_by_anyone(
    chain: ChainClient,
    deployed: tuple[DeployedLog, LogAnchor],
    signer: LogSigner,
    admin_account: LocalAccount,
    other_key: AnchorKey,
) -> None:
    """retireLog takes the admin key's signature (the digest sign_retire computes is the
    contract's retireDigest) from any sender; the anchor key's or the log key's is refused."""
    log, contract = deployed
    contract.anchor(log.log_id, 4, root(4), [], signer.anchor_signature(4, root(4)))
    signed = sign_retire(admin_account, log.chain_id, log.contract, log.log_id, 4)
    digest = contract.retire_digest(log.log_id, 4)
    y_parity, s = (
        signed.vs[0] >> 7,
        int.from_bytes(signed.vs, "big") & ((1 << 255) - 1),
    )  # EIP-2098, undone
    full = signed.r + s.to_bytes(32, "big") + bytes([27 + y_parity])
    assert Account._recover_hash(digest, signature=full) == admin_account.address
    for wrong in (Account.from_key(DEV_ANCHOR_KEY), Account.from_key(LOG_KEY)):
        attempt = sign_retire(wrong, log.chain_id, log.contract, log.log_id, 4)
        with pytest.raises(ContractRevertError) as refused:
            contract.retire_log(log.log_id, 4, (attempt.r, attempt.vs))
        assert (
            refused.value.name == "LogAnchorNotAdminSignature"
            and refused.value.args_by_name["recovered"] == wrong.address
        )
        assert "is not signed by its admin" in str(refused.value)
    with pytest.raises(
        ContractRevertError, match="LogAnchorNotAdminSignature"
    ):  # bound to the trusted size
        contract.retire_log(log.log_id, 0, (signed.r, signed.vs))
    stranger = LogAnchor(ChainClient(chain.rpc_url, other_key), contract.address)
    assert stranger.retire_log(log.log_id, 4, (signed.r, signed.vs)).status == 1
    info = contract.log_info(log.log_id)
    assert info is not None and (info.retired, info.trusted_size) == (True, 4)
