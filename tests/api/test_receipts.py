"""Receipts: the fast signing path agrees with eth-account's EIP-712; batch paths are
RFC 9162 proofs; the log key is kept encrypted; `ledger verify-receipt`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from ledger import merkle
from ledger.receipts import (
    LOG_KEY_FILE,
    LOG_KEY_PASSWORD_FILE,
    Domain,
    LogKeyError,
    LogSigner,
    ReceiptError,
    batch_paths,
    load_log_key,
    receipt_item,
    verify_receipt,
)
from tests.api.conftest import ledger

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.mark.parametrize("size", range(1, 20))
def test_batch_paths_are_rfc9162_inclusion_proofs(size: int) -> None:
    items = [receipt_item(bytes([i]) * 32, i) for i in range(size)]
    root, paths = batch_paths(items)
    assert root == merkle.root_hash(items)
    assert paths == [merkle.inclusion_proof(i, items) for i in range(size)]


@pytest.mark.parametrize(
    "domain", [Domain(b"\x01" * 32), Domain(b"\x02" * 32, 31337, bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))], ids=["no-chain", "chain"]
)
def test_fast_signature_verifies_through_eth_account(domain: Domain) -> None:
    signer = LogSigner(Account.from_key(KEY), domain, mmd=60)
    receipts = signer.receipts([(bytes([i]) * 32, 100 + i) for i in range(5)], "2026-06-05T12:00:00.123Z")
    for receipt in receipts:
        assert verify_receipt(receipt, Account.from_key(KEY).address) == signer.address
        assert receipt["mmd"] == 60 and receipt["domain"] == domain.as_json()
    forged = dict(receipts[0], mmd=61)
    with pytest.raises(ReceiptError, match="not by the receipt's signer"):
        verify_receipt(forged)
    with pytest.raises(ReceiptError, match="missing or malformed field"):
        verify_receipt({"leaf_hash": receipts[0]["leaf_hash"]})
    assert KEY[2:] not in repr(signer)


def test_log_key_is_created_once_encrypted(tmp_path: Path) -> None:
    first = load_log_key(tmp_path, environ={})
    assert load_log_key(tmp_path, environ={}).address == first.address
    for name in (LOG_KEY_FILE, LOG_KEY_PASSWORD_FILE):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    keystore = json.loads((tmp_path / LOG_KEY_FILE).read_text())
    assert "crypto" in keystore and first.key.hex() not in json.dumps(keystore)
    with pytest.raises(LogKeyError, match="wrong password"):
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY_PASSWORD": "nope"})
    assert load_log_key(tmp_path, environ={"LEDGER_LOG_KEY": KEY}).address == Account.from_key(KEY).address
    with pytest.raises(LogKeyError, match="not a valid private key") as error:
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY": "12zz"})
    assert "12zz" not in str(error.value)


def test_verify_receipt_command(tmp_path: Path) -> None:
    signer = LogSigner(Account.from_key(KEY), Domain(b"\x03" * 32))
    receipt = signer.receipts([(b"\x09" * 32, 7), (b"\x0a" * 32, 8)], "2026-06-05T12:00:00.123Z")[1]
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps({"leaf_hash": receipt["leaf_hash"], "seq": 8, "receipt": receipt}))  # a whole 202 body
    (out,) = [json.loads(line) for line in ledger("verify-receipt", str(good), "--signer", signer.address).stdout.splitlines()]
    assert out["valid"] is True and out["seq"] == 8 and out["signer"] == signer.address

    wrong = ledger("verify-receipt", str(good), "--signer", "0x" + "22" * 20, check=False)
    assert wrong.returncode != 0 and "not by the expected signer" in wrong.stderr and wrong.stdout == ""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(receipt, leaf_hash="0x" + "0b" * 32)))
    refused = ledger("verify-receipt", str(bad), check=False)
    assert refused.returncode != 0 and "do not lead to the signed batch root" in refused.stderr
