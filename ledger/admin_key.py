"""The log's admin key: the one key that can retire the log when its log key leaks.

LogAnchor names each log's admin at `createLog`. The admin signs
``Retire(bytes32 logId, uint64 trustedSize)`` (`ledger.service.signer.sign_retirement`) and
anyone sends it, so the admin key needs no gas and lives offline: it is neither the
anchor (gas) key, which a service holds hot, nor the log key, whose leak is what
retiring answers.

WARNING: whoever holds both the admin key and the log key controls the log's history
after its last honest anchor: with the log key it anchors forgeries, with the admin key
it hands the admin role to itself (transferLogAdmin, acceptLogAdmin) or retires the log
first, trusting its own forgeries (retirement is first come), and the operator can no
longer retire it. So the admin key never lives beside the log key.

At deployment (`mledger deploy`, the first `mledger up`) the admin is ``--admin ADDRESS``
(LEDGER_ADMIN_ADDRESS), a key the operator keeps offline: `mledger admin-key create --out
PATH` makes one (`write_admin_keystore`: an encrypted V3 keystore wherever the operator
says, outside the data dir, no password file), on another machine. On any chain but the
dev chain (chain id 31337) deploying without --admin is refused, and so is starting `up`
or `serve` while the data dir holds an ``admin-key.json``. On the dev chain only, for
development, a new key is created in the data dir without --admin, ``admin-key.json``
(an Ethereum V3 keystore) with its password in ``admin-key.password`` (0600) or
LEDGER_ADMIN_KEYSTORE_PASSWORD, as the log key is (`ledger.service.signer.load_log_key`).

To retire (`mledger retire`), the admin key comes from ``--admin-keystore FILE``
(password in LEDGER_ADMIN_KEYSTORE_PASSWORD), else LEDGER_ADMIN_KEY (64 hex digits),
else the data dir's ``admin-key.json``. It is never printed, logged or returned: only
its address.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.formats.eip712 import Domain
from ledger.keystore import (
    KEYSTORE_ITERATIONS,
    KeystoreError,
    account_from_hex,
    create_keystore,
    open_keystore,
    write_private,
)
from ledger.service.signer import compact_signature, sign_retirement

ADMIN_KEY_ENV = "LEDGER_ADMIN_KEY"
ADMIN_KEYSTORE_PASSWORD_ENV = "LEDGER_ADMIN_KEYSTORE_PASSWORD"
ADMIN_KEY_FILE = "admin-key.json"
ADMIN_KEY_PASSWORD_FILE = "admin-key.password"


class AdminKeyError(KeystoreError):
    """The admin key cannot be loaded or created; the message never quotes key material."""


def create_admin_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The address of the data dir's admin key, and whether it was created now (False:
    ``admin-key.json`` was there already, e.g. from a deployment that did not finish).
    For the dev chain only (`ledger.cli.common.log_admin` refuses it elsewhere)."""
    from ledger.config import current_environ

    env = current_environ() if environ is None else environ
    keystore, password_file = data_dir / ADMIN_KEY_FILE, data_dir / ADMIN_KEY_PASSWORD_FILE
    password = env.get(ADMIN_KEYSTORE_PASSWORD_ENV)
    try:
        if keystore.exists():
            found = open_keystore(
                keystore, password_file, password, password_env=ADMIN_KEYSTORE_PASSWORD_ENV
            )
            return str(found.address), False
        created = create_keystore(
            keystore, password_file, password, password_env=ADMIN_KEYSTORE_PASSWORD_ENV
        )
        return str(created.address), True
    except KeystoreError as error:
        raise AdminKeyError(str(error)) from None


def admin_key_files(data_dir: Path) -> list[Path]:
    """The admin key's files present in the data dir (``admin-key.json``, its password)."""
    return [
        path
        for path in (data_dir / ADMIN_KEY_FILE, data_dir / ADMIN_KEY_PASSWORD_FILE)
        if path.exists()
    ]


def write_admin_keystore(out: Path, password: str) -> str:
    """A new admin key, written to `out` (which must not exist) as a V3 keystore encrypted
    with `password` (not empty); no password file. Its address: the key is never
    returned. The file is re-opened with `password` before this returns."""
    if not password:
        raise AdminKeyError("the admin keystore's password is empty: refusing an empty password")
    document = Account.encrypt(
        Account.create().key, password, kdf="pbkdf2", iterations=KEYSTORE_ITERATIONS
    )
    try:
        write_private(out, json.dumps(document))
    except FileExistsError:
        raise AdminKeyError(f"{out} exists already: choose another path") from None
    except OSError as error:
        raise AdminKeyError(f"cannot write {out}: {error.strerror or error}") from None
    try:
        return str(open_keystore(out, None, password).address)
    except KeystoreError as error:
        raise AdminKeyError(str(error)) from None


def load_admin_key(
    data_dir: Path, keystore: Path | None = None, environ: Mapping[str, str] | None = None
) -> LocalAccount:
    """The admin key: `keystore`, else LEDGER_ADMIN_KEY, else the data dir's
    ``admin-key.json`` (never created here)."""
    from ledger.config import current_environ

    env = current_environ() if environ is None else environ
    password = env.get(ADMIN_KEYSTORE_PASSWORD_ENV)
    try:
        if keystore is not None:
            return open_keystore(keystore, None, password, password_env=ADMIN_KEYSTORE_PASSWORD_ENV)
        configured = env.get(ADMIN_KEY_ENV)
        if configured:
            return account_from_hex(configured, ADMIN_KEY_ENV)
        found = data_dir / ADMIN_KEY_FILE
        if not found.exists():
            raise AdminKeyError(
                "no admin key: pass --admin-keystore FILE (password in"
                f" {ADMIN_KEYSTORE_PASSWORD_ENV}) or set"
                f" {ADMIN_KEY_ENV}; the data dir has no {ADMIN_KEY_FILE}"
            )
        return open_keystore(
            found,
            data_dir / ADMIN_KEY_PASSWORD_FILE,
            password,
            password_env=ADMIN_KEYSTORE_PASSWORD_ENV,
        )
    except AdminKeyError:
        raise
    except KeystoreError as error:
        raise AdminKeyError(str(error)) from None


@dataclass(frozen=True)
class SignedRetirement:
    """A log retirement signed by its admin: what LogAnchor.retireLog takes from anyone."""

    chain_id: int
    contract: bytes
    log_id: bytes
    trusted_size: int
    admin: str
    r: bytes
    vs: bytes

    def as_json(self) -> dict[str, Any]:
        """The retirement as `mledger retire --sign-only` prints it."""
        return {
            "chain_id": self.chain_id,
            "contract": "0x" + self.contract.hex(),
            "log_id": "0x" + self.log_id.hex(),
            "trusted_size": self.trusted_size,
            "admin": self.admin,
            "r": "0x" + self.r.hex(),
            "vs": "0x" + self.vs.hex(),
        }


def sign_retire(
    admin: LocalAccount, chain_id: int, contract: bytes, log_id: bytes, trusted_size: int
) -> SignedRetirement:
    """The admin key's signature retiring log `log_id` of the LogAnchor `contract` on
    chain `chain_id`, trusting its anchors up to `trusted_size`."""
    r, vs = compact_signature(
        sign_retirement(admin, Domain(log_id, chain_id, contract), trusted_size)
    )
    return SignedRetirement(chain_id, contract, log_id, trusted_size, str(admin.address), r, vs)
