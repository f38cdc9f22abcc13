"""Print RFC 9162 proofs made by `ledger.core.merkle` as JSON, for the Hardhat tests.

The contract tests (tests/contracts/) run this script and check that LogAnchor accepts
every proof printed here and rejects tampered copies, so the on-chain verifier is
proven against the Python implementation that issues the proofs.

    python scripts/contract_fixtures.py [--seed N] [--cases N] [--max-size N]
    python scripts/contract_fixtures.py --sign-for CHAIN_ID CONTRACT
    python scripts/contract_fixtures.py --sign-typed CHAIN_ID CONTRACT

Output (hashes are 0x-prefixed lowercase hex):
    {"generator": "ledger.core.merkle", "seed": ..., "maxSize": ...,
     "consistency": [{"size1", "size2", "root1", "root2", "proof": [...]}, ...],
     "inclusion": [{"size", "root", "index", "leafHash", "proof": [...]}, ...],
     "sequence": [{"size", "root", "proof": [...], "subtrees": [...],
                   "inclusion": {"index", "leafHash", "proof": [...]}}, ...],
     "forgery": {"size1", "size2", "root2", "proof": [...], "index", "leafHash",
                 "inclusion": [...]}}
`sequence` is one log growing step by step; each proof goes from the previous step
(the first step has an empty proof, as a first anchor). `subtrees` are the hashes of
the complete subtrees that make up the tree at that size (`range_nodes(0, size)`, left
to right): public data of the log, from which a holder of the log key can forge a
consistency proof to any larger size (tests/contracts/LogAnchor.retire.test.js);
`inclusion` proves the step's last leaf (index size - 1) in the tree of that size.
`forgery` is what a holder of the log key can anchor after the sequence step of
FORGED_FROM leaves: the log's first leaves and made-up entries after them, a real
tree, with its consistency proof from that step and the inclusion proof of one made-up
entry (null when --max-size is below FORGED_FROM).

With --sign-for, it prints instead checkpoints of one small log signed by
`ledger.service.signer.LogSigner` (the service's signer) with TEST_LOG_KEY, for the LogAnchor
CONTRACT on chain CHAIN_ID, some with a zero index root and some with made-up non-zero
ones, so the contract is proven to accept what the service signs:
    {"generator": "ledger.service.signer", "chainId", "contract", "signer", "logId",
     "checkpoints": [{"size", "root", "indexRoot", "proof": [...], "signature",
                      "r", "vs"}, ...]}
`signature` is the 65-byte signature, (`r`, `vs`) its EIP-2098 compact form
(`compact_signature`), as LogAnchor.anchor takes it; `proof` goes from the previous
checkpoint (empty for the first).

With --sign-typed, it prints the other EIP-712 messages the contracts check, signed
for CONTRACT on chain CHAIN_ID through eth-account's `encode_typed_data` (an
implementation independent of ethers and of the contracts; the service has no signer
of its own for them yet): LicenceRegistry grants and revocations signed with
TEST_LOG_KEY (the log key is the issuer key), and LogAnchor retirements signed with
TEST_ADMIN_KEY. Each message is signed for the one CONTRACT: the tests run it once for
the registry and once for the LogAnchor and use the part that fits.
    {"generator": "eth_account", "chainId", "contract", "issuer", "admin", "logId",
     "grants": [{"commitment", "validFrom", "validUntil", "signature", "r", "vs"}, ...],
     "revocations": [{"commitment", "revocation", "signature", "r", "vs"}, ...],
     "retirements": [{"logId", "trustedSize", "signature", "r", "vs"}, ...]}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.core.merkle import consistency_proof, hash_leaf, inclusion_proof, range_nodes, root_hash
from ledger.formats.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    GRANT_TYPE,
    NO_INDEX_ROOT,
    RETIRE_TYPE,
    REVOKE_TYPE,
    Domain,
)
from ledger.service.signer import LogSigner, compact_signature

EDGE_PAIRS = [
    (1, 2),
    (1, 3),
    (2, 3),
    (3, 4),
    (4, 5),
    (5, 8),
    (6, 7),
    (7, 8),
    (8, 9),
    (15, 16),
    (16, 17),
    (17, 31),
    (255, 256),
    (256, 257),
    (257, 511),
    (1023, 1025),
]
"""(size1, size2) pairs at the powers of two, where proofs change shape."""

FORGED_FROM = 100
"""The sequence step that `forgery` extends with made-up entries."""

FORGED_SIZE = 200
"""The size of the forged tree."""

TEST_LOG_KEY = hashlib.sha256(b"model-ledger test log key").digest()
"""The private key of the Hardhat tests' log key (tests/contracts/helpers.js)."""

SIGNED_LOG = "python/signed-checkpoints"
"""Name of the log of --sign-for: its id is the SHA-256 of it, as helpers.logIdOf."""

SIGNED_SIZES = (5, 8, 13, 21, 34)
"""Sizes of the checkpoints of --sign-for."""

TEST_ADMIN_KEY = hashlib.sha256(b"model-ledger test log admin key").digest()
"""The private key of the log admin whose retirements --sign-typed signs."""

TYPED_LOG = "python/signed-retirements"
"""Name of the log of --sign-typed's retirements: its id is the SHA-256 of it."""

RETIRED_SIZES = (0, 5, 2**40 + 1)
"""Trusted sizes of --sign-typed's retirements (below 2^53: JSON numbers for node)."""

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _index_root(size: int) -> bytes:
    """A made-up index root for size `size` of the --sign-for log: zero (no index) for
    the first and the fourth checkpoint, so the log goes from zero to non-zero and back."""
    if size in (SIGNED_SIZES[0], SIGNED_SIZES[3]):
        return NO_INDEX_ROOT
    return hashlib.sha256(f"model-ledger fixture index root {size}".encode()).digest()


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def signed_checkpoints(chain_id: int, contract: str) -> dict[str, object]:
    """Checkpoints of the log SIGNED_LOG signed by LogSigner for (chain_id, contract)."""
    log_id = hashlib.sha256(SIGNED_LOG.encode()).digest()
    address = bytes.fromhex(contract.removeprefix("0x"))
    if len(address) != 20:
        raise SystemExit(f"--sign-for: {contract!r} is no contract address")
    signer = LogSigner(Account.from_key(TEST_LOG_KEY), Domain(log_id, chain_id, address))
    count = max(SIGNED_SIZES)
    leaves = [hash_leaf(f"model-ledger signed fixture {i}".encode()) for i in range(count)]
    checkpoints: list[dict[str, object]] = []
    previous = 0
    for size in SIGNED_SIZES:
        root, index_root = root_hash(leaves[:size]), _index_root(size)
        signature = signer.sign_checkpoint(size, root, index_root)
        r, vs = compact_signature(signature)
        proof = consistency_proof(previous, leaves[:size]) if previous else []
        checkpoints.append(
            {
                "size": size,
                "root": _hex(root),
                "indexRoot": _hex(index_root),
                "proof": [_hex(h) for h in proof],
                "signature": signature,
                "r": _hex(r),
                "vs": _hex(vs),
            }
        )
        previous = size
    return {
        "generator": "ledger.service.signer",
        "chainId": chain_id,
        "contract": contract,
        "signer": signer.address,
        "logId": _hex(log_id),
        "checkpoints": checkpoints,
    }


def _sign_typed(
    account: LocalAccount,
    domain: dict[str, Any],
    name: str,
    fields: list[dict[str, str]],
    message: dict[str, Any],
) -> dict[str, object]:
    """`message` of type `name` signed by `account` in `domain` with eth-account's
    encode_typed_data: the message's fields as printed (hex for bytes), the 65-byte
    signature and its compact form."""
    typed = {
        "types": {"EIP712Domain": DOMAIN_TYPE, name: fields},
        "primaryType": name,
        "domain": domain,
        "message": message,
    }
    signed = account.sign_message(encode_typed_data(full_message=typed))
    signature = "0x" + bytes(signed.signature).hex()
    r, vs = compact_signature(signature)
    printed = {key: _hex(v) if isinstance(v, bytes) else v for key, v in message.items()}
    return {**printed, "signature": signature, "r": _hex(r), "vs": _hex(vs)}


def signed_typed(chain_id: int, contract: str) -> dict[str, object]:
    """Grants, revocations and retirements signed for (chain_id, contract)."""
    address = bytes.fromhex(contract.removeprefix("0x"))
    if len(address) != 20:
        raise SystemExit(f"--sign-typed: {contract!r} is no contract address")
    domain: dict[str, Any] = {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(address),
    }
    issuer, admin = Account.from_key(TEST_LOG_KEY), Account.from_key(TEST_ADMIN_KEY)
    max_time = 2**40 - 1
    commitments = [hash_leaf(f"model-ledger signed licence {i}".encode()) for i in range(4)]
    # Windows: around now; the last second the registry takes (MAX_TIME = 2^40 - 1);
    # from time 0; and the upper half of the uint40 range the registry stores.
    windows = [
        (1_700_000_000, 4_000_000_000),
        (max_time - 1, max_time),
        (0, 1),
        (2**39 + 1, max_time),
    ]
    grants = [
        _sign_typed(
            issuer,
            domain,
            "Grant",
            GRANT_TYPE,
            {"commitment": c, "validFrom": f, "validUntil": u},
        )
        for c, (f, u) in zip(commitments, windows)
    ]
    revocations = [
        _sign_typed(
            issuer,
            domain,
            "Revoke",
            REVOKE_TYPE,
            {"commitment": c, "revocation": hash_leaf(f"model-ledger revoke record {i}".encode())},
        )
        for i, c in enumerate(commitments[:2])
    ]
    log_id = hashlib.sha256(TYPED_LOG.encode()).digest()
    retirements = [
        _sign_typed(admin, domain, "Retire", RETIRE_TYPE, {"logId": log_id, "trustedSize": size})
        for size in RETIRED_SIZES
    ]
    return {
        "generator": "eth_account",
        "chainId": chain_id,
        "contract": contract,
        "issuer": issuer.address,
        "admin": admin.address,
        "logId": _hex(log_id),
        "grants": grants,
        "revocations": revocations,
        "retirements": retirements,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print RFC 9162 proofs made by ledger.core.merkle."
    )
    parser.add_argument("--seed", type=int, default=9162)
    parser.add_argument("--cases", type=int, default=24, help="random pairs and indices")
    parser.add_argument("--max-size", type=int, default=70_000)
    parser.add_argument(
        "--sign-for",
        nargs=2,
        metavar=("CHAIN_ID", "CONTRACT"),
        help="print checkpoints signed by LogSigner for this LogAnchor instead",
    )
    parser.add_argument(
        "--sign-typed",
        nargs=2,
        metavar=("CHAIN_ID", "CONTRACT"),
        help="print grants, revocations and retirements signed for this contract instead",
    )
    args = parser.parse_args(argv)
    if args.sign_typed:
        chain_id, contract = args.sign_typed
        json.dump(signed_typed(int(chain_id), contract), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if args.sign_for:
        chain_id, contract = args.sign_for
        json.dump(signed_checkpoints(int(chain_id), contract), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0

    rng = random.Random(args.seed)
    leaves = [hash_leaf(f"model-ledger fixture {i}".encode()) for i in range(args.max_size)]
    roots: dict[int, bytes] = {}

    def root_of(size: int) -> bytes:
        if size not in roots:
            roots[size] = root_hash(leaves[:size])
        return roots[size]

    pairs = [p for p in EDGE_PAIRS if p[1] <= args.max_size]
    for _ in range(args.cases):
        size2 = rng.randint(2, args.max_size)
        pairs.append((rng.randint(1, size2 - 1), size2))
    # A few pairs near the top, where proofs are longest.
    for _ in range(max(1, args.cases // 8)):
        size2 = rng.randint(args.max_size // 2 + 1, args.max_size)
        pairs.append((rng.randint(args.max_size // 4, size2 - 1), size2))
    consistency = [
        {
            "size1": size1,
            "size2": size2,
            "root1": _hex(root_of(size1)),
            "root2": _hex(root_of(size2)),
            "proof": [_hex(h) for h in consistency_proof(size1, leaves[:size2])],
        }
        for size1, size2 in pairs
    ]

    inclusion: list[dict[str, object]] = []
    sizes = [1, 2, 3, 8, 9] + [rng.randint(1, args.max_size) for _ in range(args.cases // 4)]
    for size in sizes:
        indices = {0, size - 1} | {rng.randrange(size) for _ in range(4)}
        for index in sorted(indices):
            inclusion.append(
                {
                    "size": size,
                    "root": _hex(root_of(size)),
                    "index": index,
                    "leafHash": _hex(leaves[index]),
                    "proof": [_hex(h) for h in inclusion_proof(index, leaves[:size])],
                }
            )

    sequence: list[dict[str, object]] = []
    previous = 0
    steps = {1, 2, 5, 8, 64, 65, 100, 1000, args.max_size}
    steps |= set(rng.sample(range(1, args.max_size), 6))
    for size in sorted(step for step in steps if step <= args.max_size):
        proof = consistency_proof(previous, leaves[:size]) if previous else []
        subtrees = [
            root_hash(leaves[index << level : (index + 1) << level])
            for level, index in range_nodes(0, size)
        ]
        sequence.append(
            {
                "size": size,
                "root": _hex(root_of(size)),
                "proof": [_hex(h) for h in proof],
                "subtrees": [_hex(h) for h in subtrees],
                "inclusion": {
                    "index": size - 1,
                    "leafHash": _hex(leaves[size - 1]),
                    "proof": [_hex(h) for h in inclusion_proof(size - 1, leaves[:size])],
                },
            }
        )
        previous = size

    forgery: dict[str, object] | None = None
    if FORGED_FROM <= args.max_size:
        made_up = [hash_leaf(f"forged entry {i}".encode()) for i in range(FORGED_FROM, FORGED_SIZE)]
        forged = leaves[:FORGED_FROM] + made_up
        index = (FORGED_FROM + FORGED_SIZE) // 2
        forgery = {
            "size1": FORGED_FROM,
            "size2": FORGED_SIZE,
            "root2": _hex(root_hash(forged)),
            "proof": [_hex(h) for h in consistency_proof(FORGED_FROM, forged)],
            "index": index,
            "leafHash": _hex(forged[index]),
            "inclusion": [_hex(h) for h in inclusion_proof(index, forged)],
        }

    json.dump(
        {
            "generator": "ledger.core.merkle",
            "seed": args.seed,
            "maxSize": args.max_size,
            "consistency": consistency,
            "inclusion": inclusion,
            "sequence": sequence,
            "forgery": forgery,
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
