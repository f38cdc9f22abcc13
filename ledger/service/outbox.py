"""The chain outbox's sending side: what the anchorer and the licence issuer share.

A sender (`ledger.service.anchorer`, `ledger.service.licence_issuer`) decides what to
call and what a confirmed call means; the chain part is here, once:

- `Sender.send` records calls submitted with the transaction's hash and nonce BEFORE
  sending it (a crash after the record leaves a submitted row whose transaction the
  node may not know: `follow` finds it unknown and the call goes back to pending, or
  finds its receipt). So no transaction is ever sent that the database does not name.
  A refusal by the node (nonce too low, no funds) returns the calls to pending with
  the error; an unreachable node leaves them submitted.
- `Sender.follow` follows the transaction of submitted calls: no receipt but known to
  the node -> wait (in the pool); unknown to the node -> back to pending (dropped, or
  never sent); failed in a block -> back to pending with the decoded reason; mined ->
  once `confirmations` deep, and its block still the chain's at that height, the
  receipt and block for the sender to confirm the calls.
- `run` drives a sender until stopped, retrying errors with exponential `Backoff`;
  `wait_for` steps until a caller's goal is reached or a deadline passes.

The rows and their compare-and-swap moves are `ledger.store.outbox`'s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ledger import faults
from ledger.chain.client import Block, ChainClient, Receipt, SignedTx
from ledger.chain.errors import ChainError, TransactionRejectedError
from ledger.chain.reverts import RevertDecoder, hex0x
from ledger.errors import LedgerError
from ledger.store.outbox import ChainCall, Outbox, StaleCallError
from ledger.store.repository import StoreError

log = logging.getLogger("ledger.service.outbox")

POLL_INTERVAL = 0.1
"""Seconds between steps while a call is open (waiting for a receipt or blocks)."""

C = TypeVar("C", bound=ChainCall)
T = TypeVar("T")


@dataclass
class Backoff:
    """Exponential backoff: `base`, doubling per failure, capped at `cap` seconds."""

    base: float = 1.0
    cap: float = 60.0
    failures: int = 0

    def next_delay(self) -> float:
        """Count a failure; the delay before the next try."""
        self.failures += 1
        return float(min(self.cap, self.base * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        """A success: start again from `base`."""
        self.failures = 0


def reason(error: BaseException) -> str:
    """An error as kept on a call: its own words, with its type when it is not ours."""
    return str(error) if isinstance(error, LedgerError) else f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class Followed(Generic[C]):
    """Where `Sender.follow` left the calls of one transaction."""

    calls: list[C]
    """The calls as they are now."""
    failed: bool = False
    """The transaction failed in a block: the calls are back to pending."""
    receipt: Receipt | None = None
    """The successful receipt, deep enough to confirm (None: not yet, or not at all)."""
    block: Block | None = None
    """The receipt's block, as the chain holds it now (with `receipt`)."""


class Sender(Generic[C]):
    """Sends the calls of `outbox` with `client` and follows them to `confirmations`
    blocks deep."""

    def __init__(
        self,
        outbox: Outbox[C],
        client: ChainClient,
        confirmations: int,
        clock: Callable[[], str],
    ) -> None:
        if confirmations < 1:
            raise ValueError(f"confirmations must be at least 1, got {confirmations}")
        self.outbox = outbox
        self.client = client
        self.confirmations = confirmations
        self.clock = clock

    def deep_enough(self, block_number: int) -> bool:
        """Whether block `block_number` has `confirmations` blocks on it (itself included)."""
        return self.client.block_number() - block_number + 1 >= self.confirmations

    def send(
        self,
        calls: Sequence[C],
        signed: SignedTx,
        what: str,
        *,
        fault: str | None = None,
        **values: Any,
    ) -> list[C]:
        """Record `calls` submitted in `signed` (with `values`, the kind's own columns),
        then send it; the calls as they are afterwards. With `fault`, the crash points
        `<fault>.after_record` and `<fault>.after_send`."""
        submitted = self.outbox.submit(calls, signed.tx_hash, signed.nonce, self.clock(), **values)
        if fault is not None:
            faults.point(f"{fault}.after_record")
        log.info("%s: sending %s (nonce %d)", what, hex0x(signed.tx_hash), signed.nonce)
        try:
            self.client.send(signed)
        except TransactionRejectedError as error:
            return self.outbox.reopen(submitted, str(error), self.clock())
        if fault is not None:
            faults.point(f"{fault}.after_send")
        return submitted

    def follow(self, calls: list[C], decoder: RevertDecoder, what: str) -> Followed[C]:
        """Follow the transaction of the submitted `calls` (all of one tx hash); `what`
        names the call in a decoded failure."""
        tx_hash, nonce = calls[0].tx_hash, calls[0].nonce
        assert tx_hash is not None
        receipt = self.client.receipt(tx_hash)
        if receipt is None:
            if self.client.transaction(tx_hash) is not None:
                return Followed(calls)  # in the pool
            lost = f"transaction {hex0x(tx_hash)} (nonce {nonce}) is unknown to the node"
            return Followed(self.outbox.reopen(calls, f"{lost}: dropped; resending", self.clock()))
        if receipt.status != 1:
            found = self.client.failure_reason(receipt, decoder, what)
            text = f"transaction {hex0x(tx_hash)} failed in block {receipt.block_number}"
            text += f": {found}" if found else ""
            return Followed(self.outbox.reopen(calls, text, self.clock()), failed=True)
        if not self.deep_enough(receipt.block_number):
            return Followed(calls)
        block = self.client.block(receipt.block_number)
        if block is None or block.hash != receipt.block_hash:
            return Followed(calls)  # the chain is reorganising under us: look again later
        return Followed(calls, receipt=receipt, block=block)


def run(
    stop: threading.Event,
    tick: Callable[[], float],
    note_error: Callable[[Exception], None],
    on_error: Callable[[str], None],
    retry: Backoff,
    *,
    retried: tuple[type[Exception], ...],
) -> None:
    """Until `stop` is set: `tick` (one round of a sender's work, returning the seconds
    to wait before the next), then wait.

    A stale row (another sender moved it) is read again soon. An error of `retried` is
    kept on the open calls by `note_error`, reported via `on_error` and retried with
    exponential backoff; any other is raised.
    """
    while not stop.is_set():
        try:
            wait = tick()
            retry.reset()
        except StaleCallError:
            wait = POLL_INTERVAL
        except retried as error:
            note_error(error)
            wait = retry.next_delay()
            if not isinstance(error, (ChainError, StoreError)):
                log.exception("unexpected error, retried")
            try:
                on_error(f"{reason(error)}; retrying in {wait:g} s")
            except Exception:  # a failing reporter must not stop the sender
                log.debug("on_error failed", exc_info=True)
        stop.wait(wait)


def wait_for(
    step: Callable[[], object],
    done: Callable[[], T | None],
    timed_out: Callable[[], Exception],
    note_error: Callable[[Exception], None],
    *,
    timeout: float,
    retried: type[ChainError],
    retry: Backoff | None = None,
) -> T:
    """Step until `done` returns something (which is returned) or `timeout` seconds
    pass (then `timed_out()` is raised). A chain error of `retried` is kept by
    `note_error` and retried with backoff until the deadline; any other chain error is
    kept and raised. `done` may raise to give up early."""
    retry = retry or Backoff(base=0.2, cap=5.0)
    deadline = time.monotonic() + timeout
    while True:
        wait = POLL_INTERVAL / 2
        try:
            step()
            retry.reset()
        except StaleCallError:
            pass  # another sender moved a row: read again
        except retried as error:
            note_error(error)
            wait = retry.next_delay()
            if time.monotonic() + wait > deadline:
                raise
        except ChainError as error:
            note_error(error)
            raise
        found = done()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise timed_out()
        time.sleep(wait)
