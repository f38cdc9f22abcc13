"""The licence issuer: queued registry calls -> LicenceRegistry, a state machine in crash order.

Licence records enter the log with their registry calls queued as pending rows
(`ledger.store.licences`). Each `step` moves them on; the chain, not the database, is
the authority on what is granted or revoked, so every send starts from the contract's
own `status` of each commitment. The log key signs every grant and revocation (EIP-712,
in the registry's domain: the registry takes them from its issuer keys only); the
anchor key only sends them and pays the gas:

submitted calls
  1. Receipt present and successful: once the block is `confirmations` deep, record
     every call of the transaction confirmed with its block number.
  2. Receipt present, failed: back to pending with the reason (the transaction is
     replayed to decode it). Step 4 reads the chain before any resend.
  3. No receipt, but the node knows the transaction: still in the pool, wait.
  4. No receipt and unknown to the node: dropped (or never sent): back to pending.

pending grants, when no grant transaction of ours is in flight (so grants queued
meanwhile wait and go together: one `grantMany` for up to `max_batch` commitments)
  5. Read `status(commitment)` of each. A commitment the chain holds already (an earlier
     send landed after all) is settled from the chain: confirmed by the transaction of
     its `Granted` event, once deep enough.
  6. Sign each grant with the log key; build grant (one commitment) or grantMany
     (several) with the account's pending nonce. The gas estimate runs the contract's
     checks: a revert here sends nothing.
  7. Record the calls submitted, with the tx hash and nonce, BEFORE sending. A crash
     after this leaves submitted rows whose transaction the node may not know: step 4
     finds it unknown and resends, or step 1 finds its receipt.
  8. Send. A refusal by the node (nonce too low, no funds) returns the calls to pending
     with the error; an unreachable node leaves them submitted (case 7).

pending revokes whose grant is confirmed, one at a time, when no revoke is in flight
  9. Read `status(commitment)`: revoked already -> settled from the chain (its `Revoked`
     event). Otherwise sign revoke(commitment, the revoking record's leaf hash) with
     the log key, build, record submitted, send: as 6 to 8.

While the chain is unreachable every RPC raises ChainUnavailableError; `run` retries
with exponential backoff and records the error on the open calls. Licence records keep
entering the log meanwhile; their calls wait.

NOTE: a confirmed call is not re-checked for reorganisations deeper than
`confirmations` blocks (the anchorer re-checks anchors; licences rely on the depth).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection

from ledger.anchorer import POLL_INTERVAL, Backoff
from ledger.chain.client import ChainClient, SignedTx
from ledger.chain.errors import ChainError, ChainTimeoutError, TransactionRejectedError
from ledger.chain.licence_registry import (
    GRANTED_TOPIC,
    REVOKED_TOPIC,
    GrantCall,
    LicenceRegistry,
    OnChainState,
    SignedGrant,
)
from ledger.chain.reverts import hex0x
from ledger.receipts import LogSigner, compact_signature
from ledger.records import now_ts
from ledger.store.licences import (
    CallAction,
    CallStatus,
    LicenceCall,
    LicenceRepository,
    StaleLicenceCallError,
)
from ledger.store.repository import Store, StoreError

log = logging.getLogger("ledger.licences")

MAX_BATCH = 100
"""Most commitments granted by one grantMany transaction (about 2.6 M gas)."""


class LicenceIssuer:
    """Moves queued licence calls onto the LicenceRegistry `registry`, each signed by
    `signer` (the log key, an issuer of the registry); the registry's client sends them."""

    def __init__(
        self,
        store: Store,
        registry: LicenceRegistry,
        signer: LogSigner,
        *,
        confirmations: int = 1,
        max_batch: int = MAX_BATCH,
        clock: Callable[[], str] = now_ts,
    ) -> None:
        if confirmations < 1:
            raise ValueError(f"confirmations must be at least 1, got {confirmations}")
        self.repo = LicenceRepository(store)
        self.registry = registry
        self.signer = signer
        self.client: ChainClient = registry.client
        self.confirmations = confirmations
        self.max_batch = max_batch
        self.clock = clock
        self._confirmed: list[LicenceCall] = []

    # -- one step ----------------------------------------------------------------------

    def step(self) -> list[LicenceCall]:
        """Follow submitted transactions, then send pending grants and one pending
        revoke. Returns the calls that became confirmed during this step."""
        self._confirmed = []
        by_tx: dict[bytes | None, list[LicenceCall]] = {}
        for call in self.repo.submitted():
            by_tx.setdefault(call.tx_hash, []).append(call)
        for calls in by_tx.values():
            self._follow(calls)
        in_flight = {call.action for call in self.repo.submitted()}
        if CallAction.GRANT not in in_flight:
            self._send_grants()
        if CallAction.REVOKE not in in_flight:
            self._send_revoke()
        return self._confirmed

    def _deep_enough(self, block_number: int) -> bool:
        return self.client.block_number() - block_number + 1 >= self.confirmations

    def _follow(self, calls: list[LicenceCall]) -> None:
        """1-4. Follow the transaction of submitted `calls` (all of one tx hash)."""
        tx_hash = calls[0].tx_hash
        assert tx_hash is not None
        receipt = self.client.receipt(tx_hash)
        if receipt is None:
            if self.client.transaction(tx_hash) is not None:
                return  # 3. in the pool
            self.repo.reopen(calls, f"transaction {hex0x(tx_hash)} is unknown to the node: dropped; resending", self.clock())
            return  # 4.
        if receipt.status != 1:  # 2.
            what = f"{calls[0].action.value} of {len(calls)} commitment(s)"
            reason = self.client.failure_reason(receipt, self.registry.decoder, what)
            text = f"transaction {hex0x(tx_hash)} failed in block {receipt.block_number}"
            self.repo.reopen(calls, text + (f": {reason}" if reason else ""), self.clock())
            return
        if self._deep_enough(receipt.block_number):  # 1.
            self._confirmed += self.repo.confirm(calls, tx_hash, receipt.block_number, self.clock())
            log.info("%s of %d commitment(s) confirmed in block %d", calls[0].action.value, len(calls), receipt.block_number)

    def _settle(self, call: LicenceCall, block_number: int, topic: bytes) -> None:
        """5, 9. The chain holds the call's effect from `block_number`: confirm it by the
        transaction that emitted the event, once deep enough."""
        tx_hash = self.registry.event_tx(topic, call.commitment, block_number)
        if tx_hash is None:
            raise ChainError(
                f"commitment {hex0x(call.commitment)} changed in block {block_number}, but that block has"
                " no event for it (the node's logs are incomplete)"
            )
        if self._deep_enough(block_number):
            self._confirmed += self.repo.confirm([call], tx_hash, block_number, self.clock())

    def _send_grants(self) -> None:
        """5-8. Grant up to `max_batch` pending commitments in one transaction."""
        to_send: list[LicenceCall] = []
        for call in self.repo.pending_grants(self.max_batch):
            onchain = self.registry.status(call.commitment)
            if onchain.state is not OnChainState.UNKNOWN:
                self._settle(call, onchain.granted_block, GRANTED_TOPIC)
            else:
                to_send.append(call)
        if not to_send:
            return
        grants = []
        for call in to_send:
            assert call.valid_from is not None and call.valid_until is not None
            signature = self.signer.sign_grant(self.registry.address_bytes, call.commitment, call.valid_from, call.valid_until)
            grant = GrantCall(call.commitment, call.valid_from, call.valid_until)
            grants.append(SignedGrant(grant, compact_signature(signature)))
        nonce = self.client.nonce(block="pending")
        signed = self.registry.build_grant(grants, nonce=nonce)
        self._submit_and_send(to_send, signed)

    def _send_revoke(self) -> None:
        """9. Revoke the oldest pending commitment whose grant is confirmed."""
        ready = self.repo.ready_revokes(1)
        if not ready:
            return
        call = ready[0]
        onchain = self.registry.status(call.commitment)
        if onchain.state is OnChainState.REVOKED:
            self._settle(call, onchain.revoked_block, REVOKED_TOPIC)
            return
        if onchain.state is OnChainState.UNKNOWN:
            raise ChainError(
                f"commitment {hex0x(call.commitment)} is recorded as granted, but the registry does not"
                " know it: was the grant reorganised out of the chain?"
            )
        signature = compact_signature(self.signer.sign_revoke(self.registry.address_bytes, call.commitment, call.record_hash))
        signed = self.registry.build_revoke(call.commitment, call.record_hash, signature, nonce=self.client.nonce(block="pending"))
        self._submit_and_send([call], signed)

    def _submit_and_send(self, calls: list[LicenceCall], signed: SignedTx) -> None:
        """7-8. Record the calls submitted, then send."""
        submitted = self.repo.submit(calls, signed.tx_hash, signed.nonce, self.clock())
        log.info("%s of %d commitment(s): sending %s (nonce %d)", calls[0].action.value, len(calls),
                 hex0x(signed.tx_hash), signed.nonce)
        try:
            self.client.send(signed)
        except TransactionRejectedError as error:
            self.repo.reopen(submitted, str(error), self.clock())

    # -- driving it --------------------------------------------------------------------

    def note_error(self, error: Exception) -> None:
        """Keep `error` on the open calls (best effort)."""
        try:
            open_calls = self.repo.submitted() + self.repo.pending_grants(self.max_batch)
            for call in open_calls:
                self.repo.note_error([call], str(error), self.clock())
        except StoreError:
            pass

    def wait_confirmed(self, ids: Collection[int], licence_id: str, timeout: float = 120.0) -> list[LicenceCall]:
        """Step until the calls `ids` of licence `licence_id` are confirmed; their rows.

        An unreachable chain is retried until `timeout`; a contract refusal is raised.
        """
        retry = Backoff(base=0.2, cap=5.0)
        deadline = time.monotonic() + timeout
        while True:
            wait = POLL_INTERVAL / 2
            try:
                self.step()
                retry.reset()
            except StaleLicenceCallError:
                pass  # another issuer moved a row: read again
            except ChainError as error:
                self.note_error(error)
                wait = retry.next_delay()
                if time.monotonic() + wait > deadline:
                    raise
            calls = [call for call in self.repo.calls(licence_id) if call.id in ids]
            if all(call.status is CallStatus.CONFIRMED for call in calls):
                return calls
            if time.monotonic() >= deadline:
                states = ", ".join(f"{c.action.value} {c.status.value}" + (f" ({c.last_error})" if c.last_error else "")
                                   for c in calls)
                raise ChainTimeoutError(f"licence {licence_id!r} was not confirmed on chain within {timeout:g} s: {states}")
            time.sleep(wait)

    def run(
        self,
        stop: threading.Event,
        interval: float,
        *,
        on_confirmed: Callable[[LicenceCall], None] = lambda _call: None,
        on_error: Callable[[str], None] = lambda _text: None,
        retry: Backoff | None = None,
    ) -> None:
        """Until `stop` is set: a step every `interval` seconds (every POLL_INTERVAL
        while a transaction is in flight), so grants queued within an interval go out
        in one transaction. Chain and storage errors are retried with backoff and
        reported via `on_error`."""
        retry = retry or Backoff()
        while not stop.is_set():
            try:
                for call in self.step():
                    on_confirmed(call)
                retry.reset()
                wait = POLL_INTERVAL if self.repo.submitted() else interval
            except StaleLicenceCallError:
                wait = POLL_INTERVAL
            except (ChainError, StoreError) as error:
                self.note_error(error)
                wait = retry.next_delay()
                on_error(f"{error}; retrying in {wait:g} s")
            stop.wait(wait)
