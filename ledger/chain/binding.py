"""What every contract binding shares: its address and ABI, deployment, calldata and
decoded view calls through a `ChainClient`."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address

from ledger.chain.artifacts import ContractArtifact, load_artifact
from ledger.chain.client import ChainClient, Receipt
from ledger.chain.errors import ChainError
from ledger.chain.reverts import RevertDecoder, abi_type, hex0x, show

Signature = tuple[bytes, bytes]
"""An EIP-712 signature in EIP-2098 compact form, (r, vs), as the contracts take it."""


def as_bytes(value: Any) -> bytes:
    """Bytes from what web3 and eth-abi hand back (bytes, HexBytes or 0x text)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def constructor_data(artifact: ContractArtifact, args: tuple[Any, ...]) -> bytes:
    """The ABI encoding of `args` for the contract's constructor (empty for none), which
    a deployment appends to the creation code. A wrong count raises ValueError."""
    inputs: list[dict[str, Any]] = next(
        (entry.get("inputs", []) for entry in artifact.entries("constructor")), []
    )
    if len(args) != len(inputs):
        names = ", ".join(f"{i['type']} {i.get('name', '')}".strip() for i in inputs) or "nothing"
        raise ValueError(
            f"the {artifact.name} constructor takes ({names}), got {len(args)} argument(s)"
        )
    if not inputs:
        return b""
    return abi_encode([abi_type(i) for i in inputs], list(args))


class ContractBinding:
    """The contract `NAME` (its shipped artifact) at `address`, through `client`."""

    NAME: ClassVar[str]

    def __init__(
        self, client: ChainClient, address: str | bytes, artifact: ContractArtifact | None = None
    ) -> None:
        self.client = client
        self.artifact = artifact or load_artifact(self.NAME)
        self.address = to_checksum_address(address)
        self.contract = client.w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self.decoder = RevertDecoder(self.artifact)

    def __repr__(self) -> str:
        return f"{self.NAME}({self.address} via {self.client.where})"

    @property
    def address_bytes(self) -> bytes:
        """The contract address as 20 bytes."""
        return bytes.fromhex(self.address[2:])

    @classmethod
    def deploy(
        cls, client: ChainClient, *constructor_args: Any, artifact: ContractArtifact | None = None
    ) -> tuple[Self, Receipt]:
        """Deploy a new instance (the key's account becomes its owner), passing
        `constructor_args` to its constructor: ABI-encoded after the creation code."""
        artifact = artifact or load_artifact(cls.NAME)
        code = artifact.bytecode + constructor_data(artifact, constructor_args)
        receipt = client.transact(None, code, RevertDecoder(artifact), f"deploying {cls.NAME}")
        if receipt.contract_address is None:
            raise ChainError(f"deployment {hex0x(receipt.tx_hash)} created no contract")
        return cls(client, receipt.contract_address, artifact), receipt

    def has_code(self) -> bool:
        """Whether a contract exists at the address on this chain."""
        return bool(self.client.code(self.address))

    def _data(self, function: str, *args: Any) -> bytes:
        return as_bytes(self.contract.encode_abi(function, args=list(args)))

    def _read(self, function: str, *args: Any) -> Any:
        what = f"{function}({', '.join(show(a) for a in args)})"
        data = self.client.call(
            {"to": self.address, "data": self._data(function, *args)}, self.decoder, what
        )
        fn_abi = next(e for e in self.artifact.entries("function") if e["name"] == function)
        values = abi_decode([abi_type(o) for o in fn_abi["outputs"]], data)
        return values[0] if len(values) == 1 else values
