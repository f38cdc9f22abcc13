"""Private keys kept in files: an Ethereum V3 keystore and its password file.

The log key (``log-key.json``, `ledger.service.signer.load_log_key`) and, on a dev chain,
the log's admin key (``admin-key.json``, `ledger.admin_key`) are kept this way in the data
dir: the keystore encrypted with PBKDF2 (KEYSTORE_ITERATIONS rounds), the password beside
it in a 0600 file unless the operator supplies it from the environment. `mledger admin-key
create --out PATH` writes one wherever the operator says.

Several processes may create the same keystore at once (serve workers, `up` and a CLI
command): each file is written whole to a temporary file beside it, then linked into
place, which fails if the name exists (`write_private`). So no reader sees a file empty
or half written, the first process's file wins, and the others use it: every process
re-opens the keystore that won with the password file that won before using the key. An
empty password is refused, and an empty password file (one an older version was still
writing) is read again for READY_TIMEOUT before it is refused. No message here quotes key
material or a password.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.core.errors import LedgerError

KEYSTORE_ITERATIONS = 200_000
"""PBKDF2 rounds of a new keystore: slow for a guesser, a tenth of a second to open."""

READY_TIMEOUT = 5.0
"""Seconds an empty password file is read again before it is refused (an older version
created it first and wrote it a moment later)."""


class KeystoreError(LedgerError, RuntimeError):
    """A keystore that cannot be opened; the message never quotes key material."""


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, holding `text`, atomically: written and
    flushed to a temporary file in the same folder, then hard-linked to `path`, so that
    `path` appears whole or not at all. FileExistsError if it exists (it is left as it
    is); the temporary file is removed either way."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a data dir beside a database URL
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)


def read_password(password_file: Path, timeout: float = READY_TIMEOUT) -> str:
    """The text of `password_file`, read again while it is empty for up to `timeout`
    seconds; KeystoreError if it stays empty (an empty password is refused)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = password_file.read_text(encoding="utf-8")
        except OSError as error:
            raise KeystoreError(
                f"cannot read {password_file}: {error.strerror or type(error).__name__}"
            ) from None
        if text:
            return text
        if time.monotonic() >= deadline:
            raise KeystoreError(f"{password_file} is empty: refusing an empty password")
        time.sleep(0.05)


def _not_empty(password: str, password_env: str) -> str:
    if not password:
        raise KeystoreError(
            f"{password_env or 'the password'} is empty: refusing an empty password"
        )
    return password


def create_keystore(
    keystore: Path, password_file: Path, password: str | None, *, password_env: str = ""
) -> LocalAccount:
    """A new key in `keystore`, encrypted with `password` (None: the text of
    `password_file`, a random one written there first if it does not exist). If another
    process made the keystore (or the password file) first, theirs is used. Either way
    the key returned is the one `keystore` holds, opened with the password it was
    encrypted with. `password_env` names where `password` came from, for messages."""
    keystore.parent.mkdir(parents=True, exist_ok=True)
    if password is None:
        if not password_file.exists():
            try:
                write_private(password_file, secrets.token_urlsafe(32))
            except FileExistsError:  # another process made it first: use theirs
                pass
        secret = read_password(password_file)
    else:
        secret = _not_empty(password, password_env)
    document = Account.encrypt(
        Account.create().key, secret, kdf="pbkdf2", iterations=KEYSTORE_ITERATIONS
    )
    try:
        write_private(keystore, json.dumps(document))
    except FileExistsError:  # another process created it first: use theirs
        pass
    return open_keystore(keystore, password_file, password, password_env=password_env)


def open_keystore(
    keystore: Path, password_file: Path | None, password: str | None, *, password_env: str = ""
) -> LocalAccount:
    """The key in `keystore`, decrypted with `password`, else with the text of
    `password_file`. KeystoreError when neither is there, the password is empty or wrong
    or the file is no V3 keystore (`password_env` names the variable to set)."""
    if password is None:
        if password_file is None or not password_file.exists():
            beside = f" (no {password_file})" if password_file is not None else ""
            raise KeystoreError(
                f"{keystore} is locked: set {password_env or 'its password'}{beside}"
            )
        password = read_password(password_file)
    password = _not_empty(password, password_env)
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
