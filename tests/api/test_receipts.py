"""Receipts: the fast signing path agrees with eth-account's EIP-712; batch paths are
RFC 9162 proofs; the log key is kept encrypted; `ledger verify-receipt`."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from ledger.core import merkle
from ledger.core.merkle.batch import all_inclusion_proofs as batch_paths
from ledger.formats.eip712 import Domain
from ledger.formats.identity import LogIdentity
from ledger.formats.receipt import ReceiptError, receipt_item
from ledger.service.signer import (
    LOG_KEY_FILE,
    LOG_KEY_PASSWORD_FILE,
    LogKeyError,
    LogSigner,
    load_log_key,
)
from ledger.verify.receipt import verify_receipt
from tests.api.conftest import ledger

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")


def identity_of(domain: Domain, signer: str = Account.from_key(KEY).address) -> LogIdentity:
    """The identity document of the log whose receipts `domain` and `signer` sign."""
    return LogIdentity(
        "receipts",
        domain.chain_id or 31337,
        domain.contract or CONTRACT,
        domain.log_id,
        None,
        bytes.fromhex(signer[2:]),
        1,
    )


@pytest.mark.parametrize("size", range(1, 20))
def test_batch_paths_are_rfc9162_inclusion_proofs(size: int) -> None:
    items = [receipt_item(bytes([i]) * 32, i) for i in range(size)]
    root, paths = batch_paths(items)
    assert root == merkle.root_hash(items)
    assert paths == [merkle.inclusion_proof(i, items) for i in range(size)]


@pytest.mark.parametrize(
    "domain",
    [
        Domain(b"\x01" * 32),
        Domain(b"\x02" * 32, 31337, bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")),
    ],
    ids=["no-chain", "chain"],
)
def test_fast_signature_verifies_through_eth_account(domain: Domain) -> None:
    signer = LogSigner(Account.from_key(KEY), domain, mmd=60)
    receipts = signer.receipts(
        [(bytes([i]) * 32, 100 + i) for i in range(5)], "2026-06-05T12:00:00.123Z"
    )
    pinned = identity_of(domain)
    for receipt in receipts:
        assert verify_receipt(receipt, pinned) == verify_receipt(receipt) == signer.address
        assert receipt["mmd"] == 60 and receipt["domain"] == domain.as_json()
    forged = dict(receipts[0], mmd=61)
    with pytest.raises(ReceiptError, match="not by the receipt's signer"):
        verify_receipt(forged)
    # Any key signs a self-consistent receipt: only the pinned log's key, log id (and,
    # when the receipt's domain names them, chain and contract) make it the log's.
    for other, field in (
        (dataclasses.replace(pinned, log_signer=b"\x22" * 20), "log_signer"),
        (dataclasses.replace(pinned, log_id=b"\x09" * 32), "log_id"),
    ):
        with pytest.raises(
            ReceiptError, match=f"not a receipt of the pinned log: {field}: the receipt names"
        ):
            verify_receipt(receipts[0], other)
    if domain.contract is not None:
        with pytest.raises(ReceiptError, match="log_anchor: the receipt names 0x5fbd"):
            verify_receipt(receipts[0], dataclasses.replace(pinned, log_anchor=b"\x33" * 20))
        with pytest.raises(ReceiptError, match="chain_id: the receipt names 31337"):
            verify_receipt(receipts[0], dataclasses.replace(pinned, chain_id=1))
    with pytest.raises(ReceiptError, match="missing or malformed field"):
        verify_receipt({"leaf_hash": receipts[0]["leaf_hash"]})
    assert KEY[2:] not in repr(signer)


def test_receipt_domains_and_numbers_are_read_strictly() -> None:
    """The review's receipts: another chain's receipt whose chainId is written as a string
    (eth-account encodes it alike) is refused against the pinned log; a seq past 2^64-1,
    a domain that is not an object and a path too long are refused with a reason, never a
    crash."""
    domain = Domain(b"\x02" * 32, 11155111, CONTRACT)
    receipt = LogSigner(Account.from_key(KEY), domain).receipts(
        [(b"\x01" * 32, 7)], "2026-06-05T12:00:00.123Z"
    )[0]
    pinned = identity_of(Domain(b"\x02" * 32, 31337, CONTRACT))
    with pytest.raises(
        ReceiptError, match="chain_id: the receipt names 11155111, the pinned log has 31337"
    ):
        verify_receipt(receipt, pinned)
    as_text = dict(receipt, domain=dict(receipt["domain"], chainId="11155111"))
    with pytest.raises(ReceiptError, match="domain.chainId must be an integer"):
        verify_receipt(as_text, pinned)
    upper = dict(
        receipt, domain=dict(receipt["domain"], verifyingContract="0x" + CONTRACT.hex().upper())
    )
    with pytest.raises(ReceiptError, match="lowercase"):
        verify_receipt(upper, pinned)
    for bad, words in (
        (dict(receipt, seq=2**64), "seq must be an integer from 0 to 18446744073709551615"),
        (dict(receipt, domain="ab"), "domain must be"),
        (dict(receipt, domain=dict(receipt["domain"], salt="0x00")), "domain must be"),
        (
            dict(receipt, batch=dict(receipt["batch"], path=["0x" + "00" * 32] * 65)),
            "at most 64 hashes",
        ),
        (dict(receipt, signer=["x"]), "signer must be an address"),
    ):
        with pytest.raises(ReceiptError, match=words):
            verify_receipt(bad, pinned)


def test_log_key_is_created_once_encrypted(tmp_path: Path) -> None:
    first = load_log_key(tmp_path, environ={})
    assert load_log_key(tmp_path, environ={}).address == first.address
    for name in (LOG_KEY_FILE, LOG_KEY_PASSWORD_FILE):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    keystore = json.loads((tmp_path / LOG_KEY_FILE).read_text())
    assert "crypto" in keystore and first.key.hex() not in json.dumps(keystore)
    with pytest.raises(LogKeyError, match="wrong password"):
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY_PASSWORD": "nope"})
    assert (
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY": KEY}).address
        == Account.from_key(KEY).address
    )
    with pytest.raises(LogKeyError, match="not a valid private key") as error:
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY": "12zz"})
    assert "12zz" not in str(error.value)


def test_verify_receipt_command(tmp_path: Path) -> None:
    domain = Domain(b"\x03" * 32, 31337, CONTRACT)
    signer = LogSigner(Account.from_key(KEY), domain)
    receipt = signer.receipts([(b"\x09" * 32, 7), (b"\x0a" * 32, 8)], "2026-06-05T12:00:00.123Z")[1]
    good = tmp_path / "receipt.json"
    good.write_text(
        json.dumps({"leaf_hash": receipt["leaf_hash"], "seq": 8, "receipt": receipt})
    )  # a whole 202 body
    log = tmp_path / "log.json"
    log.write_text(json.dumps(identity_of(domain).as_json()))
    (out,) = [
        json.loads(line)
        for line in ledger("verify-receipt", str(good), "--log", str(log)).stdout.splitlines()
    ]
    # Pinned but without a node: the log key signed it; whether the log still vouches for
    # that key (not retired) is unchecked, so it is no VALID.
    assert out["valid"] is False and out["verdict"] == "SIGNATURE ONLY"
    assert out["seq"] == 8 and out["signer"] == signer.address
    assert out["log"] == identity_of(domain).as_json()

    other = tmp_path / "other.json"
    other.write_text(json.dumps(identity_of(domain, "0x" + "22" * 20).as_json()))
    wrong = ledger("verify-receipt", str(good), "--log", str(other), check=False)
    assert (
        wrong.returncode == 1
        and "not a receipt of the pinned log: log_signer" in wrong.stderr
        and wrong.stdout == ""
    )
    unpinned = ledger("verify-receipt", str(good), check=False)
    assert (
        unpinned.returncode == 2
        and "no log identity pinned: pass --log FILE" in unpinned.stderr
        and unpinned.stdout == ""
    )
    offline = ledger("verify-receipt", str(good), "--offline")
    assert (
        json.loads(offline.stdout)["valid"] is False and json.loads(offline.stdout)["log"] is None
    )
    assert offline.stderr.startswith(
        f"MATHEMATICS ONLY: the receipt is consistent and signed by {signer.address}"
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(receipt, leaf_hash="0x" + "0b" * 32)))
    refused = ledger("verify-receipt", str(bad), "--offline", check=False)
    assert refused.returncode == 1 and "do not lead to the signed batch root" in refused.stderr
