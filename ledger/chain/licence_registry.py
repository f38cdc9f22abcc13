"""The LicenceRegistry contract's functions, through a `ChainClient`.

A registry has one issuer, fixed at deployment: the log key. It is a signing key, not a
sender: every grant and revocation carries its EIP-712 signature
(`ledger.service.signer.LogSigner.sign_grant` and `sign_revoke`), and the client's key
only pays the gas. The registry has no owner and no other write: nobody can add an
issuer or remove the log key. So writes take signed calls: `build_grant` and
`build_revoke` only sign the transaction (the issuer records it first), `grant` and
`revoke` also send it and wait. Views are eth_calls whose reverts come back decoded.
`deploy_registry` and `attach_registry` set the contract up, with the log key as its
issuer, and check it at every start, as `ledger.chain.deployment` does for LogAnchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from ledger.chain.binding import ContractBinding, Signature
from ledger.chain.client import ChainClient, Receipt, SignedTx
from ledger.chain.deployment import DeploymentMismatchError
from ledger.chain.reverts import hex0x
from ledger.formats.abi import contract as shipped_contract

GRANTED_TOPIC = shipped_contract("LicenceRegistry").event_topic("Granted")
REVOKED_TOPIC = shipped_contract("LicenceRegistry").event_topic("Revoked")


class OnChainState(IntEnum):
    """The contract's `Status` enum: what `status(commitment)` says at a block's time."""

    UNKNOWN = 0
    NOT_YET_VALID = 1
    ACTIVE = 2
    EXPIRED = 3
    REVOKED = 4

    @property
    def label(self) -> str:
        """The state as the API and the CLI spell it: ``not_yet_valid``, ``active``..."""
        return self.name.lower()


@dataclass(frozen=True)
class OnChainLicence:
    """What the registry holds for a commitment (all zero, UNKNOWN and no issuer if never
    granted). `issuer` is the key that signed the grant, the registry's issuer key: a
    verifier that pins the log key checks it is that key."""

    state: OnChainState
    valid_from: int
    valid_until: int
    granted_block: int
    revoked_block: int
    issuer: str | None


@dataclass(frozen=True)
class GrantCall:
    """One commitment to grant: the leaf hash of a licence record and its validity
    window in unix seconds (`valid_until` excluded)."""

    commitment: bytes
    valid_from: int
    valid_until: int


@dataclass(frozen=True)
class SignedGrant:
    """A grant with the issuer key's signature over it (EIP-2098 compact form)."""

    call: GrantCall
    signature: Signature


def _address(value: str) -> str | None:
    checksummed = to_checksum_address(value)
    return None if int(checksummed, 16) == 0 else checksummed


class LicenceRegistry(ContractBinding):
    """The LicenceRegistry contract at `address`, through `client`."""

    NAME = "LicenceRegistry"

    # -- writes ------------------------------------------------------------------------

    def _grant_data(self, grants: Sequence[SignedGrant]) -> tuple[bytes, str]:
        if not grants:
            raise ValueError("nothing to grant")
        if len(grants) == 1:
            (one,) = grants
            r, vs = one.signature
            call = one.call
            return self._data(
                "grant", call.commitment, call.valid_from, call.valid_until, r, vs
            ), "grant(1 commitment)"
        tuples = [
            (g.call.commitment, g.call.valid_from, g.call.valid_until, *g.signature) for g in grants
        ]
        return self._data("grantMany", tuples), f"grantMany({len(grants)} commitments)"

    def _revoke_data(self, commitment: bytes, revocation: bytes, signature: Signature) -> bytes:
        r, vs = signature
        return self._data("revoke", commitment, revocation, r, vs)

    def build_grant(self, grants: Sequence[SignedGrant], *, nonce: int | None = None) -> SignedTx:
        """Sign grant (one commitment) or grantMany (several) with an explicit nonce;
        send nothing. The gas estimate runs the contract's checks: a doomed grant (not
        signed by the issuer key, granted already, bad window) raises
        ContractRevertError here, naming the first commitment that fails."""
        data, what = self._grant_data(grants)
        return self.client.build(self.address, data, self.decoder, what, nonce=nonce)

    def build_revoke(
        self,
        commitment: bytes,
        revocation: bytes,
        signature: Signature,
        *,
        nonce: int | None = None,
    ) -> SignedTx:
        """Sign revoke(commitment, revocation, r, vs) with an explicit nonce; send
        nothing. `revocation` is the leaf hash of the log record that revokes the
        commitment; `signature` the issuer key's over both."""
        return self.client.build(
            self.address,
            self._revoke_data(commitment, revocation, signature),
            self.decoder,
            f"revoke({hex0x(commitment)})",
            nonce=nonce,
        )

    def grant(self, grants: Sequence[SignedGrant]) -> Receipt:
        """Grant and wait for the receipt (a convenience for tools and tests)."""
        data, what = self._grant_data(grants)
        return self.client.transact(self.address, data, self.decoder, what)

    def revoke(self, commitment: bytes, revocation: bytes, signature: Signature) -> Receipt:
        """Revoke and wait for the receipt (a convenience for tools and tests)."""
        return self.client.transact(
            self.address,
            self._revoke_data(commitment, revocation, signature),
            self.decoder,
            f"revoke({hex0x(commitment)})",
        )

    # -- views -------------------------------------------------------------------------

    def status(self, commitment: bytes) -> OnChainLicence:
        """What the registry says of `commitment` at the latest block."""
        state, valid_from, valid_until, granted, revoked, issuer = self._read("status", commitment)
        return OnChainLicence(
            OnChainState(int(state)),
            int(valid_from),
            int(valid_until),
            int(granted),
            int(revoked),
            _address(issuer),
        )

    def issuer_key(self) -> str:
        """The one key whose signatures grant and revoke, fixed when it was deployed."""
        return to_checksum_address(self._read("issuerKey"))

    def max_time(self) -> int:
        """MAX_TIME: the latest `valid_until` a grant may name (2^40 - 1)."""
        return int(self._read("MAX_TIME"))

    def grant_digest(self, commitment: bytes, valid_from: int, valid_until: int) -> bytes:
        """The EIP-712 digest the issuer key signs to grant `commitment`."""
        return bytes(self._read("grantDigest", commitment, valid_from, valid_until))

    def revoke_digest(self, commitment: bytes, revocation: bytes) -> bytes:
        """The EIP-712 digest the issuer key signs to revoke `commitment`."""
        return bytes(self._read("revokeDigest", commitment, revocation))

    def emitted(self, receipt: Receipt, topic: bytes) -> set[bytes]:
        """The commitments for which this registry emitted the event `topic`
        (GRANTED_TOPIC or REVOKED_TOPIC) in the transaction of `receipt`. A grantMany
        emits no Granted for a commitment it skipped (granted already, by someone else's
        transaction)."""
        found: set[bytes] = set()
        for entry in receipt.logs:
            topics = [bytes(t) for t in entry["topics"]]
            if (
                to_checksum_address(entry["address"]) == self.address
                and len(topics) >= 2
                and topics[0] == topic
            ):
                found.add(topics[1])
        return found

    def event_tx(self, topic: bytes, commitment: bytes, block_number: int) -> bytes | None:
        """The transaction that emitted the event `topic` (GRANTED_TOPIC or REVOKED_TOPIC)
        for `commitment` in block `block_number`, if the node has it."""
        logs = self.client.rpc(
            "eth_getLogs",
            lambda: self.client.w3.eth.get_logs(
                {
                    "address": self.address,
                    "fromBlock": block_number,
                    "toBlock": block_number,
                    "topics": [HexBytes(topic), HexBytes(commitment)],
                }
            ),
        )
        return bytes(logs[0]["transactionHash"]) if logs else None


@dataclass(frozen=True)
class DeployedRegistry:
    """A LicenceRegistry contract and the block it was deployed in."""

    chain_id: int
    contract: bytes
    block_number: int


def deploy_registry(client: ChainClient, issuer: str) -> tuple[DeployedRegistry, LicenceRegistry]:
    """Deploy LicenceRegistry with `issuer` (the log key's address) as its issuer key, for
    good; the client's key only pays the gas and gets no role."""
    contract, receipt = LicenceRegistry.deploy(client, to_checksum_address(issuer))
    return DeployedRegistry(client.chain_id, contract.address_bytes, receipt.block_number), contract


def attach_registry(
    client: ChainClient, chain_id: int, contract: bytes, *, issuer: str | None = None
) -> LicenceRegistry:
    """The recorded registry on the chain `client` reaches, after checking it is there,
    with the runtime code shipped (what verifiers compare), and, with `issuer`, the log
    key's address, that it is the registry's issuer key."""
    address = hex0x(contract)
    if client.chain_id != chain_id:
        raise DeploymentMismatchError(
            f"the chain at {client.where} has chain id {client.chain_id}, but this database records"
            f" its LicenceRegistry {address} on chain id {chain_id}: point --rpc-url at that chain"
        )
    bound = LicenceRegistry(client, contract)
    code = client.code(bound.address)
    if not code:
        raise DeploymentMismatchError(
            f"no contract at {address} on chain id {chain_id} ({client.where}),"
            " where this database recorded its LicenceRegistry: the chain was"
            " reset or is another chain with the same id"
        )
    if code != shipped_contract("LicenceRegistry").runtime_code:
        raise DeploymentMismatchError(
            f"the contract at {address} is not the LicenceRegistry this version of"
            " model-ledger ships (an older version, whose owner could add issuer keys,"
            " or another contract): verifiers refuse its licences. Start a new data dir"
            " for a successor log; its `mledger deploy` deploys the current registry"
        )
    if issuer is not None:
        found = bound.issuer_key()
        if found.lower() != issuer.lower():
            raise DeploymentMismatchError(
                f"the LicenceRegistry at {address} takes grants from issuer key {found}"
                f" only, not from this service's log key {to_checksum_address(issuer)}:"
                " set LEDGER_LOG_KEY (or the data dir's log-key.json) to the log's key"
            )
    return bound
