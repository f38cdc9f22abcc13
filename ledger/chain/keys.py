"""The anchor key: the account that signs anchor transactions.

Where it comes from, in order:

1. ``--keystore FILE`` (an Ethereum V3 keystore, scrypt or pbkdf2), decrypted with the
   password in ``LEDGER_KEYSTORE_PASSWORD``;
2. ``LEDGER_ANCHOR_KEY``: the private key as 64 hex digits (``0x`` optional);
3. on a local development chain only (chain id 31337, Anvil and Hardhat), Anvil's first
   default account, whose key is public.

A key is never printed or logged: `AnchorKey` shows only its address in repr and str,
refuses to be pickled, and no error message here quotes key material or passwords.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount

from ledger.chain.errors import AnchorKeyError

ANCHOR_KEY_ENV = "LEDGER_ANCHOR_KEY"
KEYSTORE_PASSWORD_ENV = "LEDGER_KEYSTORE_PASSWORD"

DEV_CHAIN_ID = 31337
"""Chain id of Anvil and Hardhat's local networks: the only chains the dev key is used on."""

DEV_ANCHOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""Anvil's first default account (mnemonic "test test ... junk"). Public knowledge:
anything it signs on a real chain can be taken by anyone. Used on chain id 31337 only."""


class AnchorKey:
    """A private key that signs transactions; shows nothing but its address."""

    __slots__ = ("_account", "source")

    def __init__(self, account: LocalAccount, source: str) -> None:
        self._account = account
        self.source = source  # where it came from: LEDGER_ANCHOR_KEY, a keystore path, "dev"

    @property
    def address(self) -> str:
        """The account's checksummed address."""
        return str(self._account.address)

    @property
    def is_dev(self) -> bool:
        """Whether this is Anvil's public dev key."""
        return self.source == "dev"

    def sign_transaction(self, transaction: Mapping[str, Any]) -> SignedTransaction:
        """Sign a transaction dict (EIP-1559 or legacy)."""
        return self._account.sign_transaction(dict(transaction))

    def __repr__(self) -> str:
        return f"AnchorKey(address={self.address}, source={self.source})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("an AnchorKey cannot be pickled")

    def __copy__(self) -> AnchorKey:
        return self

    def __deepcopy__(self, _memo: object) -> AnchorKey:
        return self


def key_from_hex(text: str, source: str) -> AnchorKey:
    """An AnchorKey from 64 hex digits; the error never repeats the text."""
    value = text.strip()
    digits = value[2:] if value[:2].lower() == "0x" else value
    if len(digits) != 64:
        raise AnchorKeyError(
            f"{source} must be 64 hex digits (32 bytes), got {len(digits)} characters"
        )
    try:
        account = Account.from_key(bytes.fromhex(digits))
    except Exception:  # noqa: BLE001 - the library's message may quote the key: never show it
        raise AnchorKeyError(f"{source} is not a valid secp256k1 private key") from None
    return AnchorKey(account, source)


def key_from_keystore(path: Path, password: str | None) -> AnchorKey:
    """An AnchorKey decrypted from an Ethereum V3 keystore file."""
    if password is None:
        raise AnchorKeyError(
            f"{KEYSTORE_PASSWORD_ENV} is not set: it must hold the password of {path}"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnchorKeyError(f"keystore {path} does not exist") from None
    except (OSError, ValueError) as error:
        raise AnchorKeyError(
            f"keystore {path} is not readable JSON: {type(error).__name__}"
        ) from None
    try:
        secret = Account.decrypt(document, password)
    except ValueError:
        raise AnchorKeyError(
            f"cannot decrypt keystore {path}: wrong password or damaged file"
        ) from None
    except Exception as error:  # noqa: BLE001 - any other failure means a malformed file
        raise AnchorKeyError(
            f"keystore {path} is not a V3 keystore ({type(error).__name__})"
        ) from None
    return AnchorKey(Account.from_key(secret), str(path))


def dev_key() -> AnchorKey:
    """Anvil's first default account, for chain id 31337 only."""
    return AnchorKey(Account.from_key(DEV_ANCHOR_KEY), "dev")


def load_anchor_key(
    keystore: Path | None = None,
    *,
    chain_id: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> AnchorKey:
    """The configured anchor key (see the module docstring for the order).

    `chain_id` is the chain the key will sign for: the dev key is offered only when it
    is 31337. Raises AnchorKeyError when nothing usable is configured.
    """
    from ledger.config import current_environ

    env = current_environ() if environ is None else environ
    if keystore is not None:
        return key_from_keystore(keystore, env.get(KEYSTORE_PASSWORD_ENV))
    configured = env.get(ANCHOR_KEY_ENV)
    if configured:
        return key_from_hex(configured, ANCHOR_KEY_ENV)
    if chain_id == DEV_CHAIN_ID:
        return dev_key()
    raise AnchorKeyError(
        f"no anchor key: set {ANCHOR_KEY_ENV} or pass --keystore FILE with {KEYSTORE_PASSWORD_ENV}"
        + (f" (chain id {chain_id} is not a local dev chain)" if chain_id is not None else "")
    )
