"""LicenceRegistry from Python on a real Anvil: the binding (grants and revocations
signed by the log key, sent by anyone), deployment checks, and the licence issuer's
state machine, with faults injected in pairs (failed and not persisted / persisted but
not sent, sent but unseen / landed but not recorded) and poisoned calls isolated."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import insert

from ledger.chain.anvil import Anvil
from ledger.chain.binding import Signature
from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeployedLog, DeploymentMismatchError
from ledger.chain.errors import ChainUnavailableError, ContractRevertError
from ledger.chain.keys import DEV_ANCHOR_KEY, AnchorKey
from ledger.chain.licence_registry import (
    GRANTED_TOPIC,
    GrantCall,
    LicenceRegistry,
    OnChainState,
    SignedGrant,
    attach_registry,
    deploy_registry,
)
from ledger.chain.log_anchor import LogAnchor
from ledger.core.records import now_ts
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.eip712 import grant_typed_data, revoke_typed_data
from ledger.service.licence_issuer import (
    LicenceCallFailedError,
    LicenceIssuer,
    LogKeyNotIssuerError,
)
from ledger.service.licences import REGISTRY_MAX_TIME, grant, revoke, window_problem
from ledger.service.outbox import Backoff
from ledger.service.signer import LogSigner, compact_signature
from ledger.store.licences import (
    CallAction,
    CallStatus,
    LicenceCall,
    LicenceRepository,
)
from ledger.store.repository import Store
from ledger.store.schema import chain_calls
from tests.chain.conftest import log_signer_for

NOW = int(time.time())
C1, C2, C3 = (keccak(text=f"commitment {i}") for i in range(3))
REVOCATION = keccak(text="the revoke record's leaf hash")


def body(
    licence_id: str, *, action: str = "grant", until: str = "2035-01-01T00:00:00.000Z"
) -> dict[str, Any]:
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


def signed(
    signer: LogSigner,
    registry: LicenceRegistry,
    commitment: bytes,
    valid_from: int,
    valid_until: int,
) -> SignedGrant:
    """`signer`'s grant of `commitment` for `registry`."""
    signature = signer.sign_grant(registry.address_bytes, commitment, valid_from, valid_until)
    return SignedGrant(GrantCall(commitment, valid_from, valid_until), compact_signature(signature))


def revocation(
    signer: LogSigner, registry: LicenceRegistry, commitment: bytes, record: bytes = REVOCATION
) -> Signature:
    """`signer`'s revocation of `commitment` (by the log record `record`) for `registry`."""
    return compact_signature(signer.sign_revoke(registry.address_bytes, commitment, record))


@pytest.fixture
def registry(chain: ChainClient, signer: LogSigner) -> LicenceRegistry:
    """A LicenceRegistry deployed by the dev (anchor) key with the log key as its issuer."""
    return deploy_registry(chain, signer.address)[1]


@dataclass
class Issuing:
    """A store, a LicenceRegistry on Anvil, and the repository of licence calls."""

    store: Store
    registry: LicenceRegistry
    signer: LogSigner
    repo: LicenceRepository
    chain: ChainClient
    anvil: Anvil

    def issuer(self) -> LicenceIssuer:
        """A fresh issuer (a new one models a restart) whose steps return once the node
        has mined what they sent: Anvil mines right after it answers the send, so on a
        busy machine the next step could otherwise find the transaction still pooled."""
        issuer = LicenceIssuer(self.store, self.registry, self.signer)
        step = issuer.step

        def mined_step() -> list[LicenceCall]:
            done = step()
            if not self.chain.request("anvil_getAutomine", []):
                return done  # the test holds transactions in the pool on purpose
            deadline = time.monotonic() + 10
            while self.chain.nonce(block="pending") != self.chain.nonce(block="latest"):
                if time.monotonic() > deadline:
                    raise AssertionError(
                        "the node did not mine the issuer's transaction within 10 s"
                    )
                time.sleep(0.02)
            return done

        issuer.step = mined_step  # type: ignore[method-assign]
        return issuer

    def grant(self, licence_id: str, **options: Any) -> bytes:
        """Append a grant (or amend) record; its commitment."""
        return grant(self.repo, body(licence_id, **options), now=now_ts()).entry.leaf_hash

    def calls(self, licence_id: str) -> list[tuple[str, str]]:
        return [(c.action.value, c.status.value) for c in self.repo.calls(licence_id)]

    def all_calls(self, *licence_ids: str) -> list[LicenceCall]:
        return [call for licence_id in licence_ids for call in self.repo.calls(licence_id)]

    def poison(self, licence_id: str, action: str, commitment: bytes, **values: Any) -> None:
        """A registry call written straight into the queue, as no check of ours would let
        through (a row from before a check existed, or written by hand)."""
        row = {
            "licence_id": licence_id,
            "licensee": "mallory",
            "kind": action,
            "commitment": commitment,
            "record_hash": keccak(text=f"record of {licence_id}"),
            "status": "pending",
            "attempts": 0,
            "created_at": now_ts(),
            "updated_at": now_ts(),
        }
        with self.store.transaction() as conn:
            conn.execute(insert(chain_calls).values(**(row | values)))


@pytest.fixture
def issuing(
    tmp_path: Path, chain: ChainClient, anvil: Anvil, signer: LogSigner, registry: LicenceRegistry
) -> Iterator[Issuing]:
    store = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        yield Issuing(store, registry, signer, LicenceRepository(store), chain, anvil)
    finally:
        store.close()


# -- the binding -------------------------------------------------------------------------------


def test_grant_grant_many_revoke_and_status(chain: ChainClient, signer: LogSigner) -> None:
    deployed, registry = deploy_registry(chain, signer.address)
    assert deployed.chain_id == 31337 and registry.address_bytes == deployed.contract
    assert registry.issuer_key() == signer.address  # the anchor key pays; it gets no role
    assert registry.status(C1).state is OnChainState.UNKNOWN and registry.status(C1).issuer is None

    one = registry.grant([signed(signer, registry, C1, NOW - 10, NOW + 3600)])
    found = registry.status(C1)
    assert (
        found.state,
        found.valid_from,
        found.valid_until,
        found.granted_block,
        found.revoked_block,
        found.issuer,
    ) == (OnChainState.ACTIVE, NOW - 10, NOW + 3600, one.block_number, 0, signer.address)
    many = registry.grant(
        [
            signed(signer, registry, C2, NOW + 3600, NOW + 7200),
            signed(signer, registry, C3, NOW - 7200, NOW - 3600),
        ]
    )
    assert len(many.logs) == 2
    assert registry.status(C2).state is OnChainState.NOT_YET_VALID
    assert registry.status(C3).state is OnChainState.EXPIRED
    revoked = registry.revoke(C1, REVOCATION, revocation(signer, registry, C1))
    assert registry.status(C1).state is OnChainState.REVOKED
    assert registry.status(C1).revoked_block == revoked.block_number
    assert registry.status(C1).issuer == signer.address
    (event,) = (
        revoked.logs
    )  # Revoked(commitment, issuer, revocation): the reason is the log's record
    assert bytes(event["topics"][1]) == C1 and bytes(event["topics"][2])[12:] == bytes.fromhex(
        signer.address[2:]
    )
    assert bytes(event["data"]) == REVOCATION
    assert OnChainState.NOT_YET_VALID.label == "not_yet_valid"


def test_the_log_keys_digests_are_the_contracts_and_eip712s(
    registry: LicenceRegistry, signer: LogSigner, log_account: LocalAccount
) -> None:
    """sign_grant and sign_revoke compute the EIP-712 digest themselves (as
    sign_checkpoint does): it equals the contract's grantDigest / revokeDigest and
    eth-account's encode_typed_data, an independent implementation."""
    domain = signer.registry_domain(registry.address_bytes).as_json()
    assert domain == {
        "name": "model-ledger",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": registry.address.lower(),
    }
    for commitment, valid_from, valid_until in (
        (C1, 0, 1),
        (C2, NOW, NOW + 86400),
        (C3, 2**63, 2**64 - 1),
    ):
        signature = signer.sign_grant(registry.address_bytes, commitment, valid_from, valid_until)
        digest = registry.grant_digest(commitment, valid_from, valid_until)
        assert (
            Account._recover_hash(digest, signature=bytes.fromhex(signature[2:]))
            == log_account.address
        )
        typed = encode_typed_data(
            full_message=grant_typed_data(domain, commitment, valid_from, valid_until)
        )
        assert Account.recover_message(typed, signature=signature) == log_account.address
        assert keccak(b"\x19" + typed.version + typed.header + typed.body) == digest
    signature = signer.sign_revoke(registry.address_bytes, C1, REVOCATION)
    digest = registry.revoke_digest(C1, REVOCATION)
    assert (
        Account._recover_hash(digest, signature=bytes.fromhex(signature[2:])) == log_account.address
    )
    typed = encode_typed_data(full_message=revoke_typed_data(domain, C1, REVOCATION))
    assert keccak(b"\x19" + typed.version + typed.header + typed.body) == digest
    # A grant and a revocation are for one registry: the domain names it.
    assert signer.sign_grant(bytes(20), C1, 0, 1) != signer.sign_grant(
        registry.address_bytes, C1, 0, 1
    )
    # Values the contract cannot take are refused before anything is signed.
    for bad in ((-1, 1), (0, 2**64)):
        with pytest.raises(ValueError, match="must be a uint64"):
            signer.sign_grant(registry.address_bytes, C1, *bad)
    with pytest.raises(ValueError, match="32 bytes"):
        signer.sign_revoke(registry.address_bytes, C1[:31], REVOCATION)


def test_the_services_window_limit_is_the_registrys(registry: LicenceRegistry) -> None:
    assert registry.max_time() == REGISTRY_MAX_TIME == 2**40 - 1
    assert window_problem(0, REGISTRY_MAX_TIME) is None
    assert window_problem(-1, 10) == (
        "valid_from",
        "must not be before 1970-01-01T00:00:00Z: the registry counts seconds from then",
    )
    assert window_problem(0, REGISTRY_MAX_TIME + 1)[0] == "valid_until"  # type: ignore[index]
    assert window_problem(5, 5)[0] == "valid_until"  # type: ignore[index]


def test_reverts_are_decoded_with_their_values(
    registry: LicenceRegistry, signer: LogSigner
) -> None:
    block = registry.grant([signed(signer, registry, C1, NOW, NOW + 10)]).block_number
    with pytest.raises(ContractRevertError) as again:
        registry.grant([signed(signer, registry, C1, NOW, NOW + 10)])
    assert again.value.name == "LicenceRegistryAlreadyGranted"
    assert f"granted already, in block {block}" in str(again.value)
    with pytest.raises(ContractRevertError) as empty:
        registry.grant([signed(signer, registry, C2, NOW, NOW)])
    assert empty.value.name == "LicenceRegistryBadValidity" and "window of commitment" in str(
        empty.value
    )
    with pytest.raises(ContractRevertError) as late:
        registry.grant([signed(signer, registry, C2, NOW, REGISTRY_MAX_TIME + 1)])
    assert (
        late.value.name == "LicenceRegistryBadValidity"
        and late.value.args_by_name["commitment"] == C2
    )
    with pytest.raises(ContractRevertError) as unknown:
        registry.revoke(C3, REVOCATION, revocation(signer, registry, C3))
    assert unknown.value.name == "LicenceRegistryUnknownCommitment" and "never granted" in str(
        unknown.value
    )
    with pytest.raises(ContractRevertError) as no_record:
        registry.revoke(C1, bytes(32), revocation(signer, registry, C1, bytes(32)))
    assert no_record.value.name == "LicenceRegistryNoRevocationRecord"


def test_the_verifiers_status_call_matches_the_abi(registry: LicenceRegistry) -> None:
    """The licensee's check (ledger.verify.rpc, no web3) derives status() from the shipped ABI:
    the selector is keccak of the signature, the outputs the six words it decodes (the
    sixth is the issuer key that granted the commitment)."""
    status_fn = shipped_contract("LicenceRegistry").function("status")
    assert status_fn.selector == keccak(text="status(bytes32)")[:4]
    assert status_fn.outputs == ("uint8", "uint64", "uint64", "uint64", "uint64", "address")
    (status,) = [e for e in registry.artifact.entries("function") if e["name"] == "status"]
    assert [i["type"] for i in status["inputs"]] == ["bytes32"]
    assert [o["type"] for o in status["outputs"]] == [
        "uint8",
        "uint64",
        "uint64",
        "uint64",
        "uint64",
        "address",
    ]


def test_only_the_log_key_grants_and_revokes_and_nobody_can_add_an_issuer(
    chain: ChainClient,
    anvil: Anvil,
    other_key: AnchorKey,
    registry: LicenceRegistry,
    signer: LogSigner,
    deployed: tuple[DeployedLog, LogAnchor],
) -> None:
    """The registry takes grants and revocations signed by its one issuer key, the log
    key, from anyone; nobody (the deploying anchor key included) can add another issuer:
    the registry has no such function, nor an owner to call it."""
    thief = log_signer_for(Account.create(), deployed[0])  # a key that is no issuer
    # Anyone sends: here a stranger relays the log key's grants.
    stranger = LicenceRegistry(ChainClient(anvil.url, other_key), registry.address)
    granted = stranger.grant(
        [
            signed(signer, registry, C1, NOW - 10, NOW + 3600),
            signed(signer, registry, C2, NOW - 10, NOW + 3600),
        ]
    )
    (event, _) = granted.logs  # Granted(commitment, issuer, ...) names the issuer, not the sender
    assert bytes(event["topics"][2])[12:] == bytes.fromhex(signer.address[2:])
    assert registry.status(C2).issuer == signer.address
    # The deployer (the anchor key, once the owner) calls what an owner could: each reverts.
    selectors = [
        keccak(text=f"{name}(address)")[:4] + bytes(12) + bytes.fromhex(thief.address[2:])
        for name in ("addIssuer", "removeIssuer", "transferOwnership")
    ] + [keccak(text=f"{name}()")[:4] for name in ("acceptOwnership", "renounceOwnership", "owner")]
    for data in selectors:
        with pytest.raises(ContractRevertError):
            chain.transact(registry.address, data, registry.decoder, "an owner's call")
    assert registry.issuer_key() == signer.address
    with pytest.raises(ContractRevertError) as refused:
        stranger.grant([signed(thief, registry, C3, NOW - 10, NOW + 3600)])
    assert refused.value.name == "LicenceRegistryNotIssuer"
    assert f"recovers to {thief.address}" in str(refused.value)
    with pytest.raises(ContractRevertError) as not_revoked:
        stranger.revoke(C1, REVOCATION, revocation(thief, registry, C1))
    assert not_revoked.value.name == "LicenceRegistryNotIssuer"
    assert registry.status(C1).state is OnChainState.ACTIVE
    assert stranger.revoke(C1, REVOCATION, revocation(signer, registry, C1)).status == 1
    assert (
        registry.status(C1).state is OnChainState.REVOKED
        and registry.status(C2).state is OnChainState.ACTIVE
        and registry.status(C3).state is OnChainState.UNKNOWN
    )


def test_attach_refuses_another_chain_other_code_and_a_log_key_that_is_no_issuer(
    chain: ChainClient, signer: LogSigner, other_key: AnchorKey
) -> None:
    deployed, _registry = deploy_registry(chain, signer.address)
    assert (
        attach_registry(chain, 31337, deployed.contract, issuer=signer.address).address_bytes
        == deployed.contract
    )
    with pytest.raises(
        DeploymentMismatchError, match="has chain id 31337, but this database records"
    ):
        attach_registry(chain, 1, deployed.contract)
    with pytest.raises(DeploymentMismatchError, match="no contract at"):
        attach_registry(chain, 31337, b"\x42" * 20)
    elsewhere, _receipt = LogAnchor.deploy(chain)  # code, but not the registry shipped
    with pytest.raises(
        DeploymentMismatchError,
        match="is not the LicenceRegistry this version of model-ledger ships",
    ):
        attach_registry(chain, 31337, elsewhere.address_bytes)
    with pytest.raises(
        DeploymentMismatchError,
        match=f"takes grants from issuer key {signer.address} only, not from this service's log key"
        f" {other_key.address}",
    ):
        attach_registry(chain, 31337, deployed.contract, issuer=other_key.address)
    assert attach_registry(
        chain, 31337, deployed.contract
    ).has_code()  # no issuer to check: read only
    with pytest.raises(ContractRevertError) as zero:
        deploy_registry(chain, "0x" + "00" * 20)
    assert zero.value.name == "LicenceRegistryInvalidIssuer"


# -- the issuer --------------------------------------------------------------------------------


def test_queued_grants_go_out_in_one_grant_many(issuing: Issuing) -> None:
    commitments = [issuing.grant(f"lic-{i}") for i in range(3)]
    issuer = issuing.issuer()
    assert issuer.step() == []  # sent (automine: already mined), confirmed next step
    sent = issuing.all_calls("lic-0", "lic-1", "lic-2")
    assert {c.status for c in sent} == {CallStatus.SUBMITTED} and len(
        {c.tx_hash for c in sent}
    ) == 1
    transaction = issuing.chain.transaction(sent[0].tx_hash or b"")
    assert transaction is not None
    assert (
        bytes(transaction["input"])[:4]
        == keccak(text="grantMany((bytes32,uint64,uint64,bytes32,bytes32)[])")[:4]
    )
    assert (
        transaction["from"] == issuing.chain.require_key().address
    )  # the anchor key sends; the log key signed

    confirmed = issuer.step()
    assert sorted(c.commitment for c in confirmed) == sorted(commitments)
    assert {c.block_number for c in confirmed} == {
        issuing.chain.receipt(sent[0].tx_hash or b"").block_number
    }  # type: ignore[union-attr]
    for commitment in commitments:
        assert issuing.registry.status(commitment).state is OnChainState.ACTIVE
        assert issuing.registry.status(commitment).issuer == issuing.signer.address
    assert issuer.step() == []  # nothing left to do


def test_grants_queued_while_a_batch_is_in_flight_wait_for_the_next(issuing: Issuing) -> None:
    issuing.chain.request("evm_setAutomine", [False])
    issuing.grant("lic-a")
    issuer = issuing.issuer()
    issuer.step()
    issuing.grant("lic-b")
    issuing.grant("lic-c")
    issuer.step()  # lic-a still in the pool: nothing new is sent
    assert issuing.calls("lic-b") == [("grant", "pending")] and issuing.calls("lic-a") == [
        ("grant", "submitted")
    ]
    issuing.chain.request("evm_mine", [])
    issuer.step()  # lic-a confirmed; lic-b and lic-c go together
    issuing.chain.request("evm_mine", [])
    issuer.step()
    calls = issuing.all_calls("lic-a", "lic-b", "lic-c")
    assert [c.status for c in calls] == [CallStatus.CONFIRMED] * 3
    assert calls[1].tx_hash == calls[2].tx_hash != calls[0].tx_hash


def test_revoke_waits_for_its_grant_and_an_amendment_revokes_what_it_supersedes(
    issuing: Issuing,
) -> None:
    first = issuing.grant("lic-1")
    second = issuing.grant("lic-1", action="amend", until="2036-01-01T00:00:00.000Z")
    revoke(issuing.repo, "lic-1", "end", now=now_ts())
    assert issuing.calls("lic-1") == [
        ("grant", "pending"),
        ("grant", "pending"),
        ("revoke", "pending"),
        ("revoke", "pending"),
    ]
    issuer = issuing.issuer()
    issuer.step()  # both grants in one transaction; the revokes wait for them
    assert issuing.calls("lic-1") == [
        ("grant", "submitted"),
        ("grant", "submitted"),
        ("revoke", "pending"),
        ("revoke", "pending"),
    ]
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
    built = issuing.registry.build_grant(
        [signed(issuing.signer, issuing.registry, commitment, NOW, NOW + 60)],
        nonce=issuing.chain.nonce(),
    )
    issuing.repo.submit(pending, built.tx_hash, built.nonce, now_ts())  # ... and the process dies
    issuer = issuing.issuer()
    issuer.step()
    (call,) = issuing.repo.calls("lic-1")
    # found unknown to the node, back to pending and sent again in the same step
    assert (
        call.status is CallStatus.SUBMITTED and call.attempts == 2 and call.tx_hash != built.tx_hash
    )
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
    landed = issuing.registry.grant(
        [signed(issuing.signer, issuing.registry, commitment, 1735689600, 2051222400)]
    )
    nonce = issuing.chain.nonce()
    (settled,) = issuing.issuer().step()
    assert (settled.action, settled.status, settled.tx_hash, settled.block_number) == (
        CallAction.GRANT,
        CallStatus.CONFIRMED,
        landed.tx_hash,
        landed.block_number,
    )
    assert issuing.chain.nonce() == nonce  # nothing was sent


def test_grants_a_relayer_sent_first_are_confirmed_by_the_relayers_transaction(
    issuing: Issuing, anvil: Anvil, other_key: AnchorKey
) -> None:
    """Review 2 (LOW): a relayer reads the service's grantMany in the pool and sends one of
    its signed grants alone, with a higher tip, so it lands first in the same block. The
    batch succeeds (grantMany skips the commitment granted already) but emits no Granted
    for it: that call is confirmed by the relayer's transaction, where its event is, and
    only the others by the service's."""
    issuing.chain.request("evm_setAutomine", [False])
    commitments = [issuing.grant(f"lic-{i}") for i in range(3)]
    issuer = issuing.issuer()
    issuer.step()  # the grantMany of the three waits in the pool
    batch_hash = issuing.repo.calls("lic-0")[0].tx_hash
    assert batch_hash is not None
    pooled = issuing.chain.transaction(batch_hash)
    assert pooled is not None and {
        c.tx_hash for c in issuing.all_calls("lic-0", "lic-1", "lic-2")
    } == {batch_hash}
    _function, arguments = issuing.registry.contract.decode_function_input(pooled["input"])
    taken = arguments["grants"][1]  # the second grant of the batch, signed by the log key
    assert taken["commitment"] == commitments[1]
    relayer = LicenceRegistry(ChainClient(anvil.url, other_key), issuing.registry.address)
    data = relayer.contract.encode_abi(
        "grant",
        args=[taken[k] for k in ("commitment", "validFrom", "validUntil", "r", "vs")],
    )
    tip = int(pooled["maxPriorityFeePerGas"]) * 10 + 10**9
    front = other_key.sign_transaction(
        {
            "chainId": 31337,
            "to": issuing.registry.address,
            "data": data,
            "value": 0,
            "gas": 200_000,
            "nonce": relayer.client.nonce(other_key.address),
            "type": 2,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": int(pooled["maxFeePerGas"]) + tip,
        }
    )
    relayer.client.w3.eth.send_raw_transaction(front.raw_transaction)
    issuing.chain.request("evm_mine", [])
    front_receipt = issuing.chain.receipt(bytes(front.hash))
    batch_receipt = issuing.chain.receipt(batch_hash)
    assert front_receipt is not None and batch_receipt is not None
    assert front_receipt.status == batch_receipt.status == 1
    assert front_receipt.block_number == batch_receipt.block_number  # the relayer's came first
    assert issuing.registry.emitted(batch_receipt, GRANTED_TOPIC) == {
        commitments[0],
        commitments[2],
    }
    assert issuing.registry.emitted(front_receipt, GRANTED_TOPIC) == {commitments[1]}

    confirmed = issuer.step()
    assert sorted(c.commitment for c in confirmed) == sorted(commitments)
    by_commitment = {c.commitment: c for c in issuing.all_calls("lic-0", "lic-1", "lic-2")}
    assert {c.status for c in by_commitment.values()} == {CallStatus.CONFIRMED}
    assert by_commitment[commitments[0]].tx_hash == batch_hash
    assert by_commitment[commitments[2]].tx_hash == batch_hash
    assert by_commitment[commitments[1]].tx_hash == bytes(front.hash)
    assert {c.block_number for c in by_commitment.values()} == {batch_receipt.block_number}
    assert issuer.step() == []  # nothing left, nothing sent again
    assert issuing.chain.transaction(batch_hash) is not None


# -- one bad call never blocks the others ---------------------------------------------------------


def test_a_poisoned_grant_fails_alone_and_its_batch_goes_on(issuing: Issuing) -> None:
    """The review's reproduction, queued: a grant whose window starts in 1969 (stored
    before the check existed) used to kill the issuer thread with an encoding error.
    It fails alone, with its reason; the grants queued with it go out together."""
    poison = keccak(text="poison")
    issuing.grant("lic-1")
    issuing.poison("lic-poison", "grant", poison, valid_from=-31536000, valid_until=86400)
    issuing.grant("lic-2")
    issuer = issuing.issuer()
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-1") == issuing.calls("lic-2") == [("grant", "confirmed")]
    (failed,) = issuing.repo.calls("lic-poison")
    assert failed.status is CallStatus.FAILED and failed.tx_hash is None
    assert failed.last_error == (
        "cannot be granted: the registry cannot hold this window (-31536000..86400): valid_from"
        " must not be before 1970-01-01T00:00:00Z: the registry counts seconds from then"
    )
    assert issuing.registry.status(poison).state is OnChainState.UNKNOWN
    state = issuing.repo.issuer_state()
    assert (state.pending, state.submitted, state.failed, state.last_error) == (
        0,
        0,
        1,
        failed.last_error,
    )
    assert issuer.step() == [] and issuing.repo.calls("lic-poison")[0] == failed  # never sent again


def test_a_grant_the_registry_refuses_is_taken_out_of_its_batch(
    issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revert names the first commitment it refuses (here one signed by a key that is no
    issuer): that one fails with the decoded reason, the rest go in one grantMany."""
    commitments = [issuing.grant(f"lic-{i}") for i in range(3)]
    impostor = LogSigner(Account.create(), issuing.signer.domain)
    issuer = issuing.issuer()
    genuine = issuer._signed_grant

    def sign(call: LicenceCall) -> SignedGrant:
        if call.commitment != commitments[1]:
            return genuine(call)
        assert call.valid_from is not None and call.valid_until is not None
        return signed(
            impostor, issuing.registry, call.commitment, call.valid_from, call.valid_until
        )

    monkeypatch.setattr(issuer, "_signed_grant", sign)
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-0") == issuing.calls("lic-2") == [("grant", "confirmed")]
    (refused,) = issuing.repo.calls("lic-1")
    assert refused.status is CallStatus.FAILED
    assert refused.last_error is not None and "LicenceRegistryNotIssuer" in refused.last_error
    assert f"recovers to {impostor.address}" in refused.last_error
    sent = {c.tx_hash for c in issuing.all_calls("lic-0", "lic-2")}
    assert len(sent) == 1


def test_an_unexpected_error_is_pinned_on_its_call_by_trying_each_alone(
    issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error building a batch (not only a revert): each grant is tried alone, the one
    that fails alone fails, the others go."""
    commitments = [issuing.grant(f"lic-{i}") for i in range(3)]
    issuer = issuing.issuer()
    build = issuing.registry.build_grant

    def broken(grants: list[SignedGrant], *, nonce: int | None = None) -> Any:
        if any(g.call.commitment == commitments[0] for g in grants):
            raise TypeError("something nobody expected")
        return build(grants, nonce=nonce)

    monkeypatch.setattr(issuing.registry, "build_grant", broken)
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-1") == issuing.calls("lic-2") == [("grant", "confirmed")]
    (failed,) = issuing.repo.calls("lic-0")
    assert (failed.status, failed.last_error) == (
        CallStatus.FAILED,
        "cannot be granted: TypeError: something nobody expected",
    )


def test_a_poisoned_revoke_does_not_stop_a_later_revocation(issuing: Issuing) -> None:
    """A revoke the registry refuses (here naming no revoking record) fails, and the next
    revoke in the queue reaches the chain in the same step; a revoke whose grant failed
    fails too, instead of waiting for ever."""
    victim = issuing.grant("lic-1")
    target = issuing.grant("lic-2")
    issuer = issuing.issuer()
    issuer.step()
    issuer.step()
    issuing.poison("lic-1", "revoke", victim, record_hash=bytes(32))
    issuing.poison("lic-poison", "grant", keccak(text="poison"), valid_from=None, valid_until=None)
    issuing.poison("lic-poison", "revoke", keccak(text="poison"))
    revoke(issuing.repo, "lic-2", "ended", now=now_ts())
    issuer.step()  # the poisoned revoke fails; lic-2's is sent
    issuer.step()
    assert issuing.calls("lic-2") == [("grant", "confirmed"), ("revoke", "confirmed")]
    assert issuing.registry.status(target).state is OnChainState.REVOKED
    assert issuing.registry.status(victim).state is OnChainState.ACTIVE
    poisoned = issuing.repo.calls("lic-1")[1]
    assert poisoned.status is CallStatus.FAILED and "LicenceRegistryNoRevocationRecord" in (
        poisoned.last_error or ""
    )
    grant_call, revoke_call = issuing.repo.calls("lic-poison")
    assert grant_call.status is revoke_call.status is CallStatus.FAILED
    assert grant_call.last_error == "cannot be granted: a grant call has no validity window"
    assert (revoke_call.last_error or "").startswith(
        f"the grant of commitment 0x{keccak(text='poison').hex()} failed"
    )
    assert issuing.repo.issuer_state().failed == 3


def test_a_leaked_anchor_key_cannot_grant_a_queued_commitment_first(
    issuing: Issuing, deployed: tuple[DeployedLog, LogAnchor]
) -> None:
    """The second review's attack: the anchor key deployed the registry, so it was its
    owner; leaked, it added an issuer key of its own, granted a queued commitment (seen
    in the mempool) first with a window of its choosing so that the log key's grant
    failed, then removed the log key. Now it has no owner's call to make, its grant is
    refused, and the service's grant goes through with the record's window."""
    commitment = issuing.grant("lic-1")
    thief = log_signer_for(Account.from_key(DEV_ANCHOR_KEY), deployed[0])
    assert thief.address == issuing.chain.require_key().address  # it deployed the registry
    for call in (
        keccak(text="addIssuer(address)")[:4] + bytes(12) + bytes.fromhex(thief.address[2:]),
        keccak(text="removeIssuer(address)")[:4]
        + bytes(12)
        + bytes.fromhex(issuing.signer.address[2:]),
    ):
        with pytest.raises(ContractRevertError):
            issuing.chain.transact(
                issuing.registry.address, call, issuing.registry.decoder, "owner"
            )
    with pytest.raises(ContractRevertError) as refused:
        issuing.registry.grant([signed(thief, issuing.registry, commitment, 0, 1)])
    assert refused.value.name == "LicenceRegistryNotIssuer"
    issuer = issuing.issuer()
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-1") == [("grant", "confirmed")]
    found = issuing.registry.status(commitment)
    assert (found.state, found.valid_from, found.valid_until, found.issuer) == (
        OnChainState.ACTIVE,
        1735689600,
        2051222400,
        issuing.signer.address,
    )


def test_a_commitment_granted_first_with_another_window_fails_and_is_never_confirmed(
    issuing: Issuing,
) -> None:
    """Only the log key grants, so another window on chain means the log key signed it
    (a leaked log key: retire the log). The registry refuses a second grant of the
    commitment for good, and the issuer says so rather than taking that grant as the
    record's."""
    commitment = issuing.grant("lic-1")
    issuing.registry.grant([signed(issuing.signer, issuing.registry, commitment, 0, 1)])
    issuing.issuer().step()
    (call,) = issuing.repo.calls("lic-1")
    assert call.status is CallStatus.FAILED and call.tx_hash is None
    assert "is granted on chain for 0..1, not for the record's 1735689600..2051222400" in (
        call.last_error or ""
    )
    with pytest.raises(LicenceCallFailedError, match="not for the record's"):
        issuing.issuer().wait_confirmed([call.id], "lic-1", timeout=5)


def test_a_confirmed_grant_the_chain_lost_is_granted_again(issuing: Issuing) -> None:
    """A revoke finds its commitment unknown to the registry (the grant was reorganised
    out): the grant goes back to pending, is sent again, and the revoke follows."""
    snapshot = issuing.chain.request("evm_snapshot", [])
    commitment = issuing.grant("lic-1")
    issuer = issuing.issuer()
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-1") == [("grant", "confirmed")]
    issuing.chain.request("evm_revert", [snapshot])  # the chain forgets the grant
    revoke(issuing.repo, "lic-1", now=now_ts())
    issuer.step()
    grant_call, _revoke_call = issuing.repo.calls("lic-1")
    assert grant_call.status is CallStatus.PENDING and "but the registry does not know it" in (
        grant_call.last_error or ""
    )
    for _ in range(4):
        issuer.step()
    assert issuing.calls("lic-1") == [("grant", "confirmed"), ("revoke", "confirmed")]
    assert issuing.registry.status(commitment).state is OnChainState.REVOKED


def test_the_issuer_thread_survives_anything(
    issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in a step is reported and retried with backoff: the issuer
    goes on and grants what is queued once the fault is gone."""
    issuing.grant("lic-1")
    issuer = issuing.issuer()
    step = issuer.step
    faults = [ZeroDivisionError("a bug"), KeyError("another")]

    def flaky() -> list[LicenceCall]:
        if faults:
            raise faults.pop(0)
        return step()

    monkeypatch.setattr(issuer, "step", flaky)
    errors: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(
        target=issuer.run,
        args=(stop, 0.05),
        kwargs={"on_error": errors.append, "retry": Backoff(base=0.01, cap=0.05)},
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while issuing.calls("lic-1") != [("grant", "confirmed")]:
            assert worker.is_alive() and time.monotonic() < deadline, errors
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert errors[:2] == [
        "ZeroDivisionError: a bug; retrying in 0.01 s",
        "KeyError: 'another'; retrying in 0.02 s",
    ]


def test_grants_wait_while_the_log_key_is_not_the_registrys_issuer(
    issuing: Issuing, chain: ChainClient
) -> None:
    """A registry deployed for another key (the service runs with the wrong log key):
    that is no grant's fault, so none fails; they wait, the reason is kept and reported,
    and they go out once the issuer works with the registry of its log key."""
    issuing.grant("lic-1")
    issuing.grant("lic-2")
    _deployed, elsewhere = deploy_registry(chain, Account.create().address)
    wrong = LicenceIssuer(issuing.store, elsewhere, issuing.signer)
    with pytest.raises(
        LogKeyNotIssuerError,
        match=f"the log key {issuing.signer.address} is not the issuer key of the LicenceRegistry",
    ):
        wrong.step()
    wrong.note_error(LogKeyNotIssuerError("the log key is not the issuer key"))
    assert issuing.calls("lic-1") == issuing.calls("lic-2") == [("grant", "pending")]
    assert issuing.repo.issuer_state().last_error == "the log key is not the issuer key"
    issuer = issuing.issuer()
    issuer.step()
    issuer.step()
    assert issuing.calls("lic-1") == issuing.calls("lic-2") == [("grant", "confirmed")]
