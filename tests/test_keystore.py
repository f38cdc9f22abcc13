"""Keystores in the data dir: several processes creating the same one at once all end up
with one key, encrypted with the password in the password file (never an empty one);
files appear whole or not at all; an empty password is refused."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger import keystore as keystore_module
from ledger.keystore import KeystoreError, create_keystore, open_keystore, write_private
from ledger.service.signer import LOG_KEY_FILE, LOG_KEY_PASSWORD_FILE, LogKeyError, load_log_key

TRIALS = 60
"""Races run; the review saw 26 bad keystores in 150 trials of three processes."""

RACERS = 3
"""Processes per race."""


def _race(data_dir: str, start: Any, results: Any) -> None:
    """One racer: wait for the start, then load (so create) the data dir's log key."""
    start.wait()
    try:
        results.put(("ok", load_log_key(Path(data_dir), environ={}).address))
    except Exception as error:  # noqa: BLE001 - reported to the test
        results.put(("error", f"{type(error).__name__}: {error}"))


def _bad(data_dir: Path, outcomes: list[tuple[str, str]]) -> str | None:
    """Why a race's outcome is bad, or None."""
    if any(kind == "error" for kind, _ in outcomes):
        return f"a racer failed: {outcomes}"
    addresses = {address for _kind, address in outcomes}
    if len(addresses) != 1:
        return f"racers got different keys: {addresses}"
    password = (data_dir / LOG_KEY_PASSWORD_FILE).read_text(encoding="utf-8")
    if not password:
        return "the password file is empty"
    document = json.loads((data_dir / LOG_KEY_FILE).read_text(encoding="utf-8"))
    try:
        key = Account.from_key(Account.decrypt(document, password))
    except ValueError:
        return "the keystore does not open with the password file's password"
    if key.address not in addresses:
        return "the keystore holds another key than the racers use"
    leftovers = sorted(p.name for p in data_dir.iterdir() if p.name.endswith(".tmp"))
    return f"temporary files left: {leftovers}" if leftovers else None


def test_processes_creating_the_log_key_at_once_agree_on_one_well_encrypted_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's reproduction: three processes start on a fresh data dir together.
    Each trial must leave one key that every racer uses, in a keystore the password file
    opens, the password not empty, and no temporary file behind."""
    monkeypatch.setattr(keystore_module, "KEYSTORE_ITERATIONS", 2)  # forked racers inherit it
    context = multiprocessing.get_context("fork")
    bad: list[str] = []
    for trial in range(TRIALS):
        data_dir = tmp_path / f"trial-{trial}"
        start = context.Event()
        results = context.Queue()
        racers = [
            context.Process(target=_race, args=(str(data_dir), start, results))
            for _ in range(RACERS)
        ]
        for racer in racers:
            racer.start()
        time.sleep(0.05)  # all waiting on the start
        start.set()
        outcomes = [results.get(timeout=60) for _ in racers]
        for racer in racers:
            racer.join(timeout=60)
        why = _bad(data_dir, outcomes)
        if why is not None:
            bad.append(f"trial {trial}: {why}")
    assert bad == [], f"{len(bad)} bad of {TRIALS}: {bad[:5]}"


def test_write_private_is_whole_or_absent_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    write_private(target, "first")
    assert target.read_text() == "first" and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_private(target, "second")
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]  # no temporary file left


def test_an_empty_password_is_refused(tmp_path: Path) -> None:
    """Nothing is encrypted with an empty password, whether given or read from a file,
    and no keystore is opened with one."""
    keystore, password_file = tmp_path / "key.json", tmp_path / "key.password"
    with pytest.raises(KeystoreError, match="empty password"):
        create_keystore(keystore, password_file, "")
    assert not keystore.exists()
    with pytest.raises(LogKeyError, match="LEDGER_LOG_KEY_PASSWORD is empty"):
        load_log_key(tmp_path, environ={"LEDGER_LOG_KEY_PASSWORD": ""})
    password_file.write_text("")
    with pytest.raises(KeystoreError, match=f"{password_file} is empty"):
        create_keystore(keystore, password_file, None)
    assert not keystore.exists()
    keystore.write_text(json.dumps(Account.encrypt(Account.create().key, "", iterations=2)))
    with pytest.raises(KeystoreError, match=f"{password_file} is empty"):
        open_keystore(keystore, password_file, None)
    with pytest.raises(KeystoreError, match="empty password"):
        open_keystore(keystore, None, "")


def test_a_password_file_being_written_is_waited_for(tmp_path: Path) -> None:
    """A password file that is still empty (written by an older version, non-atomically)
    is read again until it holds the password."""
    keystore, password_file = tmp_path / "key.json", tmp_path / "key.password"
    password_file.write_text("")
    created = Account.create()
    keystore.write_text(json.dumps(Account.encrypt(created.key, "late", iterations=2)))
    writer = multiprocessing.get_context("fork").Process(
        target=_write_later, args=(str(password_file), "late", 0.3)
    )
    writer.start()
    try:
        assert open_keystore(keystore, password_file, None).address == created.address
    finally:
        writer.join(timeout=10)


def _write_later(path: str, text: str, delay: float) -> None:
    time.sleep(delay)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os._exit(0)
