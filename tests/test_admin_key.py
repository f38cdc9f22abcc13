"""The log's admin key: made in the data dir like the log key, loaded from a keystore,
the environment or the data dir, never quoted in an error; its retirement signature is
EIP-712 as eth-account computes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from ledger.admin_key import (
    ADMIN_KEY_FILE,
    ADMIN_KEY_PASSWORD_FILE,
    AdminKeyError,
    admin_key_files,
    create_admin_key,
    load_admin_key,
    sign_retire,
    write_admin_keystore,
)
from ledger.formats.eip712 import Domain, retire_typed_data
from ledger.service.signer import LogKeyError, sign_retirement

LOG_ID = bytes.fromhex("ab" * 32)
CONTRACT = bytes.fromhex("cd" * 20)


def test_created_once_in_the_data_dir_and_loaded_from_it(tmp_path: Path) -> None:
    address, created = create_admin_key(tmp_path, environ={})
    assert created
    for name in (ADMIN_KEY_FILE, ADMIN_KEY_PASSWORD_FILE):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert create_admin_key(tmp_path, environ={}) == (address, False)  # a second deploy reuses it
    assert load_admin_key(tmp_path, environ={}).address == address


def test_the_environment_and_a_keystore_come_first(tmp_path: Path) -> None:
    create_admin_key(tmp_path, environ={})
    other = Account.create()
    assert (
        load_admin_key(tmp_path, environ={"LEDGER_ADMIN_KEY": other.key.hex()}).address
        == other.address
    )
    keystore = tmp_path / "cold.json"
    keystore.write_text(
        json.dumps(Account.encrypt(other.key, "cold-pass", kdf="pbkdf2", iterations=2))
    )
    env = {
        "LEDGER_ADMIN_KEYSTORE_PASSWORD": "cold-pass",
        "LEDGER_ADMIN_KEY": Account.create().key.hex(),
    }
    assert load_admin_key(tmp_path, keystore, environ=env).address == other.address
    with pytest.raises(AdminKeyError, match="wrong password"):
        load_admin_key(tmp_path, keystore, environ={"LEDGER_ADMIN_KEYSTORE_PASSWORD": "nope"})
    with pytest.raises(AdminKeyError, match="is locked: set LEDGER_ADMIN_KEYSTORE_PASSWORD"):
        load_admin_key(tmp_path, keystore, environ={})


def test_a_password_from_the_environment_writes_no_password_file(tmp_path: Path) -> None:
    address, _created = create_admin_key(
        tmp_path, environ={"LEDGER_ADMIN_KEYSTORE_PASSWORD": "from-env"}
    )
    assert not (tmp_path / ADMIN_KEY_PASSWORD_FILE).exists()
    with pytest.raises(AdminKeyError, match="is locked"):
        load_admin_key(tmp_path, environ={})
    assert (
        load_admin_key(tmp_path, environ={"LEDGER_ADMIN_KEYSTORE_PASSWORD": "from-env"}).address
        == address
    )


def test_errors_name_no_secret(tmp_path: Path) -> None:
    with pytest.raises(AdminKeyError, match="no admin key: pass --admin-keystore FILE") as missing:
        load_admin_key(tmp_path, environ={})
    assert "admin-key.json" in str(missing.value)
    secret = "zz" + "11" * 31
    with pytest.raises(AdminKeyError, match="LEDGER_ADMIN_KEY is not a valid private key") as bad:
        load_admin_key(tmp_path, environ={"LEDGER_ADMIN_KEY": secret})
    assert secret not in str(bad.value)


def test_the_retirement_signature_is_eip712(tmp_path: Path) -> None:
    admin = Account.create()
    signed = sign_retire(admin, 31337, CONTRACT, LOG_ID, 8)
    domain = Domain(LOG_ID, 31337, CONTRACT)
    typed = encode_typed_data(full_message=retire_typed_data(domain.as_json(), LOG_ID, 8))
    assert (
        Account.recover_message(typed, signature=sign_retirement(admin, domain, 8))
        == admin.address
        == signed.admin
    )
    assert signed.as_json() == {
        "chain_id": 31337,
        "contract": "0x" + "cd" * 20,
        "log_id": "0x" + "ab" * 32,
        "trusted_size": 8,
        "admin": admin.address,
        "r": "0x" + signed.r.hex(),
        "vs": "0x" + signed.vs.hex(),
    }
    with pytest.raises(LogKeyError, match="names no chain or contract"):
        sign_retirement(admin, Domain(LOG_ID), 8)
    with pytest.raises(ValueError, match="must be a uint64"):
        sign_retire(admin, 31337, CONTRACT, LOG_ID, -1)


def test_an_admin_keystore_written_elsewhere_holds_a_new_key_and_no_password(
    tmp_path: Path,
) -> None:
    """`ledger admin-key create` writes one file, encrypted with the operator's password,
    and no password beside it; it never overwrites, and refuses an empty password."""
    out = tmp_path / "cold" / "admin.json"
    out.parent.mkdir()
    address = write_admin_keystore(out, "cold-pass")
    assert sorted(p.name for p in out.parent.iterdir()) == ["admin.json"]
    assert out.stat().st_mode & 0o777 == 0o600
    assert Account.from_key(Account.decrypt(json.loads(out.read_text()), "cold-pass")).address == (
        address
    )
    env = {"LEDGER_ADMIN_KEYSTORE_PASSWORD": "cold-pass"}
    assert load_admin_key(tmp_path, out, environ=env).address == address
    with pytest.raises(AdminKeyError, match="exists already"):
        write_admin_keystore(out, "other")
    with pytest.raises(AdminKeyError, match="empty password"):
        write_admin_keystore(tmp_path / "cold" / "empty.json", "")
    assert not (tmp_path / "cold" / "empty.json").exists()


def test_admin_key_files_lists_what_the_data_dir_holds(tmp_path: Path) -> None:
    assert admin_key_files(tmp_path) == []
    create_admin_key(tmp_path, environ={})
    assert admin_key_files(tmp_path) == [
        tmp_path / ADMIN_KEY_FILE,
        tmp_path / ADMIN_KEY_PASSWORD_FILE,
    ]
