"""What the chain parity tests do on chain by themselves, through `ChainClient` and the
shipped ABI, without the service: deploy a LicenceRegistry whose issuer is a log
key, grant and revoke with EIP-712 signatures made here with eth-account (the registry
takes them from anyone), and deploy a forwarder that relays any call (a stranger's own
contract, through which anyone may relay a signed checkpoint).

The service's licence side (ledger/chain/licence_registry.py, ledger/licence_issuer.py)
is not used: these tests pin down what the verifiers read on chain, whoever wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from ledger.chain.artifacts import load_artifact
from ledger.chain.binding import ContractBinding
from ledger.chain.client import ChainClient, Receipt
from ledger.chain.reverts import RevertDecoder
from ledger.service.signer import compact_signature


class Registry(ContractBinding):
    """The shipped LicenceRegistry, its signed grant and revoke sent by whoever holds the client."""

    NAME = "LicenceRegistry"

    def domain(self) -> dict[str, object]:
        return {
            "name": "model-ledger",
            "version": "1",
            "chainId": self.client.chain_id,
            "verifyingContract": self.address,
        }

    def grant(
        self, issuer: LocalAccount, commitment: bytes, valid_from: int, valid_until: int
    ) -> Receipt:
        """grant(commitment, validFrom, validUntil, r, vs), signed by `issuer` (EIP-712 `Grant`)."""
        message = {"commitment": commitment, "validFrom": valid_from, "validUntil": valid_until}
        typed = encode_typed_data(
            domain_data=self.domain(),
            message_types={
                "Grant": [
                    {"name": "commitment", "type": "bytes32"},
                    {"name": "validFrom", "type": "uint64"},
                    {"name": "validUntil", "type": "uint64"},
                ]
            },
            message_data=message,
        )
        signed = issuer.sign_message(typed)
        # The digest signed here is the one the contract checks.
        assert bytes(self._read("grantDigest", commitment, valid_from, valid_until)) == bytes(
            signed.message_hash
        )
        r, vs = compact_signature(bytes(signed.signature))
        data = self._data("grant", commitment, valid_from, valid_until, r, vs)
        return self.client.transact(self.address, data, self.decoder, "grant")

    def revoke(self, issuer: LocalAccount, commitment: bytes, revocation: bytes) -> Receipt:
        """revoke(commitment, revocation, r, vs), signed by `issuer` (EIP-712 `Revoke`)."""
        typed = encode_typed_data(
            domain_data=self.domain(),
            message_types={
                "Revoke": [
                    {"name": "commitment", "type": "bytes32"},
                    {"name": "revocation", "type": "bytes32"},
                ]
            },
            message_data={"commitment": commitment, "revocation": revocation},
        )
        signed = issuer.sign_message(typed)
        r, vs = compact_signature(bytes(signed.signature))
        return self.client.transact(
            self.address,
            self._data("revoke", commitment, revocation, r, vs),
            self.decoder,
            "revoke",
        )


@dataclass(frozen=True)
class DeployedRegistry:
    registry: Registry
    block_number: int

    @property
    def address(self) -> bytes:
        return self.registry.address_bytes


def deploy_registry(client: ChainClient, issuer: str) -> DeployedRegistry:
    """Deploy LicenceRegistry(issuer): `issuer` (a log key's address) signs its grants."""
    artifact = load_artifact("LicenceRegistry")
    creation = artifact.bytecode + abi_encode(["address"], [to_checksum_address(issuer)])
    receipt = client.transact(None, creation, RevertDecoder(artifact), "deploying LicenceRegistry")
    assert receipt.contract_address is not None
    return DeployedRegistry(
        Registry(client, receipt.contract_address, artifact), receipt.block_number
    )


FORWARDER_RUNTIME = bytes.fromhex(
    "36601490038060145f37"  # CALLDATACOPY(0, 20, CALLDATASIZE - 20): the call, without its target
    "5f5f825f5f"  # CALL's retSize 0, retOffset 0, argsSize, argsOffset 0, value 0
    "5f3560601c"  # the target: the first 20 bytes of the calldata
    "5af1"  # GAS, CALL
    "601c575f5ffd"  # on failure REVERT(0, 0), else jump to the end
    "5b00"  # JUMPDEST, STOP
)
"""A forwarder's runtime code: calldata = target address (20 bytes) || the call to make.
Anyone can deploy one and relay through it; the target sees the forwarder as its caller."""


def deploy_forwarder(client: ChainClient) -> str:
    """Deploy the forwarder (raw init code: copy the runtime code and return it); its address."""
    runtime = FORWARDER_RUNTIME
    assert runtime[0x1C] == 0x5B and len(runtime) < 256  # the jump lands on the JUMPDEST
    init = bytes([0x60, len(runtime), 0x80, 0x60, 0x09, 0x5F, 0x39, 0x5F, 0xF3]) + runtime
    receipt = client.transact(
        None, init, RevertDecoder(load_artifact("LogAnchor")), "deploying a forwarder"
    )
    assert receipt.contract_address is not None
    assert client.code(receipt.contract_address) == runtime
    return receipt.contract_address


def forward(client: ChainClient, forwarder: str, target: str, call: bytes) -> Receipt:
    """Send `call` to `target` through `forwarder`."""
    data = bytes.fromhex(to_checksum_address(target)[2:]) + call
    return client.transact(
        forwarder, data, RevertDecoder(load_artifact("LogAnchor")), "relaying through a forwarder"
    )


def account(key: str) -> LocalAccount:
    found: LocalAccount = Account.from_key(key)
    return found
