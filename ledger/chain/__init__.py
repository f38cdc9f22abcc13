"""The chain side of anchoring: the LogAnchor contract's shipped ABI and bytecode, a thin
web3 client with a local signer, the anchor key, and the embedded Anvil dev chain.

Nothing here touches the log's storage; `ledger.service.anchorer` joins the two.
"""

from ledger.chain.artifacts import ContractArtifact, load_artifact
from ledger.chain.client import ChainClient, Receipt, SignedTx
from ledger.chain.errors import (
    AnchorKeyError,
    AnvilError,
    ArtifactError,
    ChainError,
    ChainTimeoutError,
    ChainUnavailableError,
    ContractRevertError,
    TransactionFailedError,
    TransactionRejectedError,
)
from ledger.chain.keys import AnchorKey, load_anchor_key
from ledger.chain.log_anchor import LogAnchor, OnChainAnchor

__all__ = [
    "AnchorKey",
    "AnchorKeyError",
    "AnvilError",
    "ArtifactError",
    "ChainClient",
    "ChainError",
    "ChainTimeoutError",
    "ChainUnavailableError",
    "ContractArtifact",
    "ContractRevertError",
    "LogAnchor",
    "OnChainAnchor",
    "Receipt",
    "SignedTx",
    "TransactionFailedError",
    "TransactionRejectedError",
    "load_anchor_key",
    "load_artifact",
]
