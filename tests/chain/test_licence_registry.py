"""LicenceRegistry from Python on a real Anvil: the binding, deployment checks, and the
licence issuer's state machine, with faults injected in pairs (failed and not
persisted / persisted but not sent, sent but unseen / landed but not recorded)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from ledger.chain.anvil import Anvil
from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeploymentMismatchError
from ledger.chain.errors import ChainUnavailableError, ContractRevertError
from ledger.chain.keys import AnchorKey
from ledger.chain.licence_registry import (
    GrantCall,
    LicenceRegistry,
    OnChainState,
    attach_registry,
    deploy_registry,
)
from ledger.formats.abi import contract as shipped_contract
from ledger.licence_issuer import LicenceIssuer
from ledger.licences import grant, revoke
from ledger.records import now_ts
from ledger.store.licences import CallAction, CallStatus, LicenceCall, LicenceRepository
from ledger.store.repository import Store

NOW = int(time.time())
C1, C2, C3 = (keccak(text=f"commitment {i}") for i in range(3))
REVOCATION = keccak(text="the revoke record's leaf hash")


def body(licence_id: str, *, action: str = "grant", until: str = "2035-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "action": action,
        "licence_id": licence_id,
        "licensee": "acme",
        "models": ["frontier-large"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": "2025-01-01T00:00:00.000Z",
        "valid_until": until,
    }


@dataclass
class Issuing:
    """A store, a LicenceRegistry on Anvil, and the repository of licence calls."""

    store: Store
    registry: LicenceRegistry
    repo: LicenceRepository
    chain: ChainClient
    anvil: Anvil

    def issuer(self) -> LicenceIssuer:
        """A fresh issuer (a new one models a restart)."""
        return LicenceIssuer(self.store, self.registry)

    def grant(self, licence_id: str, **options: Any) -> bytes:
        """Append a grant (or amend) record; its commitment."""
        return grant(self.repo, body(licence_id, **options), now=now_ts()).entry.leaf_hash

    def calls(self, licence_id: str) -> list[tuple[str, str]]:
        return [(c.action.value, c.status.value) for c in self.repo.calls(licence_id)]

    def all_calls(self, *licence_ids: str) -> list[LicenceCall]:
        return [call for licence_id in licence_ids for call in self.repo.calls(licence_id)]


@pytest.fixture
def issuing(tmp_path: Path, chain: ChainClient, anvil: Anvil) -> Iterator[Issuing]:
    store = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    _deployed, registry = deploy_registry(chain)
    try:
        yield Issuing(store, registry, LicenceRepository(store), chain, anvil)
    finally:
        store.close()


# -- the binding -------------------------------------------------------------------------------


def test_grant_grant_many_revoke_and_status(chain: ChainClient) -> None:
    deployed, registry = deploy_registry(chain)
    assert deployed.chain_id == 31337 and registry.address_bytes == deployed.contract
    assert registry.is_issuer(chain.require_key().address)
    assert registry.status(C1).state is OnChainState.UNKNOWN

    one = registry.grant([GrantCall(C1, NOW - 10, NOW + 3600)])
    found = registry.status(C1)
    assert (found.state, found.valid_from, found.valid_until, found.granted_block, found.revoked_block) == (
        OnChainState.ACTIVE, NOW - 10, NOW + 3600, one.block_number, 0
    )
    many = registry.grant([GrantCall(C2, NOW + 3600, NOW + 7200), GrantCall(C3, NOW - 7200, NOW - 3600)])
    assert len(many.logs) == 2
    assert registry.status(C2).state is OnChainState.NOT_YET_VALID
    assert registry.status(C3).state is OnChainState.EXPIRED
    assert registry.issuer_of(C1) == chain.require_key().address and registry.issuer_of(keccak(text="never")) is None
    revoked = registry.revoke(C1, REVOCATION)
    assert registry.status(C1).state is OnChainState.REVOKED
    assert registry.status(C1).revoked_block == revoked.block_number
    (event,) = revoked.logs  # Revoked(commitment, by, revocation): the reason is the log's record
    assert bytes(event["topics"][1]) == C1 and bytes(event["topics"][2])[12:] == bytes.fromhex(chain.require_key().address[2:])
    assert bytes(event["data"]) == REVOCATION
    assert OnChainState.NOT_YET_VALID.label == "not_yet_valid"


def test_reverts_are_decoded_with_their_values(chain: ChainClient) -> None:
    _deployed, registry = deploy_registry(chain)
    block = registry.grant([GrantCall(C1, NOW, NOW + 10)]).block_number
    with pytest.raises(ContractRevertError) as again:
        registry.grant([GrantCall(C1, NOW, NOW + 10)])
    assert again.value.name == "LicenceRegistryAlreadyGranted"
    assert f"granted already, in block {block}" in str(again.value)
    with pytest.raises(ContractRevertError) as empty:
        registry.grant([GrantCall(C2, NOW, NOW)])
    assert empty.value.name == "LicenceRegistryBadValidity" and "window of commitment" in str(empty.value)
    with pytest.raises(ContractRevertError) as unknown:
        registry.revoke(C3, REVOCATION)
    assert unknown.value.name == "LicenceRegistryUnknownCommitment" and "never granted" in str(unknown.value)


def test_the_verifiers_status_call_matches_the_abi(chain: ChainClient) -> None:
    """The licensee's check (ledger.rpc, no web3) derives status() from the shipped ABI:
    the selector is keccak of the signature, the outputs the five words it decodes."""
    _deployed, registry = deploy_registry(chain)
    status_fn = shipped_contract("LicenceRegistry").function("status")
    assert status_fn.selector == keccak(text="status(bytes32)")[:4]
    assert status_fn.outputs == ("uint8", "uint64", "uint64", "uint64", "uint64")
    (status,) = [e for e in registry.artifact.entries("function") if e["name"] == "status"]
    assert [i["type"] for i in status["inputs"]] == ["bytes32"]
    assert [o["type"] for o in status["outputs"]] == ["uint8", "uint64", "uint64", "uint64", "uint64"]


def test_only_the_granting_issuer_or_the_owner_revokes(chain: ChainClient, anvil: Anvil, other_key: AnchorKey) -> None:
    """Issuers cannot revoke each other's licences; the owner can revoke any."""
    _deployed, registry = deploy_registry(chain)
    registry.add_issuer(other_key.address)
    second = LicenceRegistry(ChainClient(anvil.url, other_key), registry.address)
    registry.grant([GrantCall(C1, NOW - 10, NOW + 3600)])
    granted = second.grant([GrantCall(C2, NOW - 10, NOW + 3600), GrantCall(C3, NOW - 10, NOW + 3600)])
    (event, _) = granted.logs  # Granted(commitment, issuer, ...) names the issuer
    assert bytes(event["topics"][2])[12:] == bytes.fromhex(other_key.address[2:])
    assert registry.issuer_of(C2) == other_key.address
    with pytest.raises(ContractRevertError) as refused:
        second.revoke(C1, REVOCATION)
    assert refused.value.name == "LicenceRegistryNotGrantingIssuer"
    assert f"{other_key.address} may not revoke commitment 0x{C1.hex()}: only its issuer {chain.require_key().address}" in str(refused.value)
    assert registry.status(C1).state is OnChainState.ACTIVE
    assert second.revoke(C2, REVOCATION).status == 1  # its own
    assert registry.revoke(C3, REVOCATION).status == 1  # the owner: any
    assert {registry.status(c).state for c in (C2, C3)} == {OnChainState.REVOKED}


def test_attach_refuses_another_chain_no_contract_and_a_non_issuer(chain: ChainClient, anvil: Anvil, other_key: AnchorKey) -> None:
    deployed, _registry = deploy_registry(chain)
    assert attach_registry(chain, 31337, deployed.contract).address_bytes == deployed.contract
    with pytest.raises(DeploymentMismatchError, match="has chain id 31337, but this database records"):
        attach_registry(chain, 1, deployed.contract)
    with pytest.raises(DeploymentMismatchError, match="no contract at"):
        attach_registry(chain, 31337, b"\x42" * 20)
    stranger = ChainClient(anvil.url, other_key)
    with pytest.raises(DeploymentMismatchError, match="is not an issuer"):
        attach_registry(stranger, 31337, deployed.contract)
    assert attach_registry(stranger, 31337, deployed.contract, signing=False).has_code()


# -- the issuer --------------------------------------------------------------------------------


def test_queued_grants_go_out_in_one_grant_many(issuing: Issuing) -> None:
    commitments = [issuing.grant(f"lic-{i}") for i in range(3)]
    issuer = issuing.issuer()
    assert issuer.step() == []  # sent (automine: already mined), confirmed next step
    sent = issuing.all_calls("lic-0", "lic-1", "lic-2")
    assert {c.status for c in sent} == {CallStatus.SUBMITTED} and len({c.tx_hash for c in sent}) == 1
    transaction = issuing.chain.transaction(sent[0].tx_hash or b"")
    assert transaction is not None
    assert bytes(transaction["input"])[:4] == keccak(text="grantMany((bytes32,uint64,uint64)[])")[:4]

    confirmed = issuer.step()
    assert sorted(c.commitment for c in confirmed) == sorted(commitments)
    assert {c.block_number for c in confirmed} == {issuing.chain.receipt(sent[0].tx_hash or b"").block_number}  # type: ignore[union-attr]
    for commitment in commitments:
        assert issuing.registry.status(commitment).state is OnChainState.ACTIVE
    assert issuer.step() == []  # nothing left to do


def test_grants_queued_while_a_batch_is_in_flight_wait_for_the_next(issuing: Issuing) -> None:
    issuing.chain.request("evm_setAutomine", [False])
    issuing.grant("lic-a")
    issuer = issuing.issuer()
    issuer.step()
    issuing.grant("lic-b")
    issuing.grant("lic-c")
    issuer.step()  # lic-a still in the pool: nothing new is sent
    assert issuing.calls("lic-b") == [("grant", "pending")] and issuing.calls("lic-a") == [("grant", "submitted")]
    issuing.chain.request("evm_mine", [])
    issuer.step()  # lic-a confirmed; lic-b and lic-c go together
    issuing.chain.request("evm_mine", [])
    issuer.step()
    calls = issuing.all_calls("lic-a", "lic-b", "lic-c")
    assert [c.status for c in calls] == [CallStatus.CONFIRMED] * 3
    assert calls[1].tx_hash == calls[2].tx_hash != calls[0].tx_hash


def test_revoke_waits_for_its_grant_and_an_amendment_revokes_what_it_supersedes(issuing: Issuing) -> None:
    first = issuing.grant("lic-1")
    second = issuing.grant("lic-1", action="amend", until="2036-01-01T00:00:00.000Z")
    revoke(issuing.repo, "lic-1", "end", now=now_ts())
    assert issuing.calls("lic-1") == [("grant", "pending"), ("grant", "pending"), ("revoke", "pending"), ("revoke", "pending")]
    issuer = issuing.issuer()
    issuer.step()  # both grants in one transaction; the revokes wait for them
    assert issuing.calls("lic-1") == [("grant", "submitted"), ("grant", "submitted"), ("revoke", "pending"), ("revoke", "pending")]
    for _ in range(4):
        issuer.step()
    assert [status for _action, status in issuing.calls("lic-1")] == ["confirmed"] * 4
    assert issuing.registry.status(first).state is OnChainState.REVOKED
    assert issuing.registry.status(second).state is OnChainState.REVOKED
    assert issuing.registry.status(second).valid_until == 2082758400  # 2036-01-01


def test_a_step_while_the_node_is_down_changes_nothing(issuing: Issuing) -> None:
    """Failed and not persisted: the chain is unreachable before anything is recorded."""
    issuing.grant("lic-1")
    issuing.anvil.stop()
    with pytest.raises(ChainUnavailableError):
        issuing.issuer().step()
    (call,) = issuing.repo.calls("lic-1")
    assert (call.status, call.attempts, call.tx_hash) == (CallStatus.PENDING, 0, None)


def test_recorded_but_never_sent_is_resent(issuing: Issuing) -> None:
    """Persisted but not sent: a crash between recording submitted and sending."""
    commitment = issuing.grant("lic-1")
    pending = issuing.repo.pending_grants(10)
    signed = issuing.registry.build_grant([GrantCall(commitment, NOW, NOW + 60)], nonce=issuing.chain.nonce())
    issuing.repo.submit(pending, signed.tx_hash, signed.nonce, now_ts())  # ... and the process dies
    issuer = issuing.issuer()
    issuer.step()
    (call,) = issuing.repo.calls("lic-1")
    # found unknown to the node, back to pending and sent again in the same step
    assert call.status is CallStatus.SUBMITTED and call.attempts == 2 and call.tx_hash != signed.tx_hash
    issuer.step()
    assert issuing.calls("lic-1") == [("grant", "confirmed")]
    assert issuing.registry.status(commitment).state is OnChainState.ACTIVE


def test_sent_then_restarted_is_followed_to_its_receipt(issuing: Issuing) -> None:
    """Sent, unseen: the process dies with the transaction in the node's pool."""
    issuing.chain.request("evm_setAutomine", [False])
    issuing.grant("lic-1")
    issuing.issuer().step()
    (sent,) = issuing.repo.calls("lic-1")
    restarted = issuing.issuer()
    restarted.step()
    assert issuing.repo.calls("lic-1") == [sent]  # in the pool: wait, send nothing new
    issuing.chain.request("evm_mine", [])
    (confirmed,) = restarted.step()
    assert (confirmed.tx_hash, confirmed.attempts) == (sent.tx_hash, 1)


def test_landed_but_not_recorded_is_settled_from_the_chain(issuing: Issuing) -> None:
    """Landed, not recorded: an earlier send got the grant on chain, the row says pending."""
    commitment = issuing.grant("lic-1")
    landed = issuing.registry.grant([GrantCall(commitment, 1735689600, 2051222400)])
    nonce = issuing.chain.nonce()
    (settled,) = issuing.issuer().step()
    assert (settled.action, settled.status, settled.tx_hash, settled.block_number) == (
        CallAction.GRANT, CallStatus.CONFIRMED, landed.tx_hash, landed.block_number
    )
    assert issuing.chain.nonce() == nonce  # nothing was sent
