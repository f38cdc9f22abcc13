"""The anchor key: where it comes from, and that it never shows."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
from eth_account import Account

from ledger.chain.errors import AnchorKeyError
from ledger.chain.keys import DEV_ANCHOR_KEY, dev_key, key_from_hex, load_anchor_key

SECRET = "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"
ADDRESS = Account.from_key(SECRET).address


def test_key_from_the_environment_shows_only_its_address() -> None:
    key = load_anchor_key(environ={"LEDGER_ANCHOR_KEY": "0x" + SECRET})
    assert key.address == ADDRESS and not key.is_dev
    for text in (repr(key), str(key), f"{key}", repr([key]), repr(copy.deepcopy(key))):
        assert SECRET not in text and SECRET.upper() not in text and ADDRESS in text
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert not hasattr(key, "__dict__")


def test_keystore_with_password(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(
        json.dumps(
            Account.encrypt(bytes.fromhex(SECRET), "correct horse", kdf="pbkdf2", iterations=2)
        )
    )
    key = load_anchor_key(
        path,
        environ={"LEDGER_KEYSTORE_PASSWORD": "correct horse", "LEDGER_ANCHOR_KEY": DEV_ANCHOR_KEY},
    )
    assert key.address == ADDRESS and key.source == str(path)

    with pytest.raises(AnchorKeyError, match="wrong password") as wrong:
        load_anchor_key(path, environ={"LEDGER_KEYSTORE_PASSWORD": "battery staple"})
    assert "battery" not in str(wrong.value)
    with pytest.raises(AnchorKeyError, match="LEDGER_KEYSTORE_PASSWORD is not set"):
        load_anchor_key(path, environ={})
    with pytest.raises(AnchorKeyError, match="does not exist"):
        load_anchor_key(tmp_path / "missing.json", environ={"LEDGER_KEYSTORE_PASSWORD": "x"})


def test_bad_keys_are_refused_without_echoing_them() -> None:
    for bad in (SECRET[:-2], "zz" * 32, "0" * 64):
        with pytest.raises(AnchorKeyError) as refused:
            key_from_hex(bad, "LEDGER_ANCHOR_KEY")
        assert bad not in str(refused.value) and "LEDGER_ANCHOR_KEY" in str(refused.value)


def test_the_dev_key_is_only_for_the_dev_chain() -> None:
    assert load_anchor_key(chain_id=31337, environ={}).address == dev_key().address
    assert load_anchor_key(chain_id=31337, environ={}).is_dev
    with pytest.raises(AnchorKeyError, match="no anchor key.*chain id 1 is not a local dev chain"):
        load_anchor_key(chain_id=1, environ={})
    configured = load_anchor_key(chain_id=31337, environ={"LEDGER_ANCHOR_KEY": SECRET})
    assert configured.address == ADDRESS
