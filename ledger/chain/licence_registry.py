"""The LicenceRegistry contract's functions, through a `ChainClient`.

Writes build, sign and send through the client (`build_grant` and `build_revoke` only
sign, so the issuer can record the transaction first); views are eth_calls whose
reverts come back decoded. `deploy_registry` and `attach_registry` set the contract up
and check it at every start, as `ledger.chain.deployment` does for LogAnchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from ledger.chain.binding import ContractBinding
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
    """What the registry holds for a commitment (all zero and UNKNOWN if never granted)."""

    state: OnChainState
    valid_from: int
    valid_until: int
    granted_block: int
    revoked_block: int


@dataclass(frozen=True)
class GrantCall:
    """One commitment to grant: the leaf hash of a licence record and its validity
    window in unix seconds (`valid_until` excluded)."""

    commitment: bytes
    valid_from: int
    valid_until: int


class LicenceRegistry(ContractBinding):
    """The LicenceRegistry contract at `address`, through `client`."""

    NAME = "LicenceRegistry"

    # -- writes ------------------------------------------------------------------------

    def _grant_data(self, grants: Sequence[GrantCall]) -> tuple[bytes, str]:
        if len(grants) == 1:
            (one,) = grants
            return self._data("grant", one.commitment, one.valid_from, one.valid_until), "grant(1 commitment)"
        tuples = [(g.commitment, g.valid_from, g.valid_until) for g in grants]
        return self._data("grantMany", tuples), f"grantMany({len(grants)} commitments)"

    def build_grant(self, grants: Sequence[GrantCall], *, nonce: int | None = None) -> SignedTx:
        """Sign grant (one commitment) or grantMany (several) with an explicit nonce;
        send nothing. The gas estimate runs the contract's checks: a doomed grant (not
        an issuer, granted already, bad window) raises ContractRevertError here."""
        if not grants:
            raise ValueError("nothing to grant")
        data, what = self._grant_data(grants)
        return self.client.build(self.address, data, self.decoder, what, nonce=nonce)

    def build_revoke(self, commitment: bytes, revocation: bytes, *, nonce: int | None = None) -> SignedTx:
        """Sign revoke(commitment, revocation) with an explicit nonce; send nothing.
        `revocation` is the leaf hash of the log record that revokes the commitment."""
        return self.client.build(
            self.address,
            self._data("revoke", commitment, revocation),
            self.decoder,
            f"revoke({hex0x(commitment)})",
            nonce=nonce,
        )

    def grant(self, grants: Sequence[GrantCall]) -> Receipt:
        """Grant and wait for the receipt (a convenience for tools and tests)."""
        data, what = self._grant_data(grants)
        return self.client.transact(self.address, data, self.decoder, what)

    def revoke(self, commitment: bytes, revocation: bytes) -> Receipt:
        """Revoke and wait for the receipt (a convenience for tools and tests)."""
        return self.client.transact(
            self.address, self._data("revoke", commitment, revocation), self.decoder, f"revoke({hex0x(commitment)})"
        )

    def add_issuer(self, account: str) -> Receipt:
        """addIssuer(account): only the contract owner."""
        return self.client.transact(
            self.address, self._data("addIssuer", to_checksum_address(account)), self.decoder, f"addIssuer({account})"
        )

    # -- views -------------------------------------------------------------------------

    def status(self, commitment: bytes) -> OnChainLicence:
        """What the registry says of `commitment` at the latest block."""
        state, valid_from, valid_until, granted, revoked = self._read("status", commitment)
        return OnChainLicence(OnChainState(int(state)), int(valid_from), int(valid_until), int(granted), int(revoked))

    def is_issuer(self, account: str) -> bool:
        """Whether `account` may grant (and revoke what it granted)."""
        return bool(self._read("isIssuer", to_checksum_address(account)))

    def issuer_of(self, commitment: bytes) -> str | None:
        """The issuer that granted `commitment` (None: never granted)."""
        issuer = to_checksum_address(self._read("issuerOf", commitment))
        return None if int(issuer, 16) == 0 else issuer

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


def deploy_registry(client: ChainClient) -> tuple[DeployedRegistry, LicenceRegistry]:
    """Deploy LicenceRegistry; the key's account is its owner and first issuer."""
    contract, receipt = LicenceRegistry.deploy(client)
    return DeployedRegistry(client.chain_id, contract.address_bytes, receipt.block_number), contract


def attach_registry(client: ChainClient, chain_id: int, contract: bytes, *, signing: bool = True) -> LicenceRegistry:
    """The recorded registry on the chain `client` reaches, after checking it is there
    (and, with `signing`, that the key may grant)."""
    address = hex0x(contract)
    if client.chain_id != chain_id:
        raise DeploymentMismatchError(
            f"the chain at {client.where} has chain id {client.chain_id}, but this database records"
            f" its LicenceRegistry {address} on chain id {chain_id}: point --rpc-url at that chain"
        )
    bound = LicenceRegistry(client, contract)
    if not bound.has_code():
        raise DeploymentMismatchError(
            f"no contract at {address} on chain id {chain_id} ({client.where}), where this database"
            " recorded its LicenceRegistry: the chain was reset or is another chain with the same id"
        )
    if signing:
        account = client.require_key().address
        if not bound.is_issuer(account):
            raise DeploymentMismatchError(
                f"{account} is not an issuer of the LicenceRegistry at {address}: its owner must call"
                " addIssuer for it, or use the key that deployed it"
            )
    return bound
