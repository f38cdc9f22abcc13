"""Private keys kept in the data dir: an Ethereum V3 keystore and its password file.

The log key (``log-key.json``, `ledger.service.signer.load_log_key`) and the log's admin key
(``admin-key.json``, `ledger.admin_key`) are kept this way: the keystore encrypted with
PBKDF2 (KEYSTORE_ITERATIONS rounds), the password beside it in a 0600 file unless the
operator supplies it from the environment. Both files are created with O_EXCL, so two
processes starting at once end up with the same key, never two. No message here quotes
key material or a password.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

KEYSTORE_ITERATIONS = 200_000
"""PBKDF2 rounds of a new keystore: slow for a guesser, a tenth of a second to open."""


class KeystoreError(RuntimeError):
    """A keystore that cannot be opened; the message never quotes key material."""


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, holding `text`; FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_keystore(keystore: Path, password_file: Path, password: str | None) -> LocalAccount:
    """A new key in `keystore`, encrypted with `password` (None: the text of
    `password_file`, a random one written there first if it does not exist). If another
    process made the keystore first, theirs is opened and returned instead."""
    keystore.parent.mkdir(parents=True, exist_ok=True)
    if password is None and not password_file.exists():
        try:
            write_private(password_file, secrets.token_urlsafe(32))
        except FileExistsError:  # another process made it first: use theirs
            pass
    secret = password if password is not None else password_file.read_text(encoding="utf-8")
    created: LocalAccount = Account.create()
    document = Account.encrypt(created.key, secret, kdf="pbkdf2", iterations=KEYSTORE_ITERATIONS)
    try:
        write_private(keystore, json.dumps(document))
    except FileExistsError:  # another process created it first: use theirs
        return open_keystore(keystore, password_file, password)
    return created


def open_keystore(
    keystore: Path, password_file: Path | None, password: str | None, *, password_env: str = ""
) -> LocalAccount:
    """The key in `keystore`, decrypted with `password`, else with the text of
    `password_file`. KeystoreError when neither is there, the password is wrong or the
    file is no V3 keystore (`password_env` names the variable to set)."""
    if password is None:
        if password_file is None or not password_file.exists():
            beside = f" (no {password_file})" if password_file is not None else ""
            raise KeystoreError(
                f"{keystore} is locked: set {password_env or 'its password'}{beside}"
            )
        password = password_file.read_text(encoding="utf-8")
    try:
        document = json.loads(keystore.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"keystore {keystore} does not exist") from None
    except (OSError, ValueError) as error:
        raise KeystoreError(
            f"keystore {keystore} is not readable JSON: {type(error).__name__}"
        ) from None
    try:
        loaded: LocalAccount = Account.from_key(Account.decrypt(document, password))
    except ValueError:
        raise KeystoreError(f"cannot decrypt {keystore}: wrong password or damaged file") from None
    except Exception as error:  # noqa: BLE001 - any other failure means a malformed file
        raise KeystoreError(f"{keystore} is not a V3 keystore ({type(error).__name__})") from None
    return loaded


def account_from_hex(text: str, source: str) -> LocalAccount:
    """A key given as 64 hex digits (0x optional); KeystoreError naming `source` (never
    the text) if it is not one."""
    digits = text.strip().removeprefix("0x")
    try:
        account: LocalAccount = Account.from_key(bytes.fromhex(digits))
    except Exception:  # noqa: BLE001 - the library's message may quote the key
        raise KeystoreError(f"{source} is not a valid private key (64 hex digits)") from None
    return account
