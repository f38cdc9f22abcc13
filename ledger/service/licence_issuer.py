"""The licence issuer: queued registry calls -> LicenceRegistry, a state machine in crash order.

Licence records enter the log with their registry calls queued as pending rows of the
chain outbox (`ledger.store.licences`, `ledger.store.outbox`). Each `step` moves them
on, recording each transaction before sending it and following it by the outbox's
sending side (`ledger.service.outbox`, shared with the anchorer); the chain, not the
database, is the authority on what is granted or revoked, so every send starts from
the contract's own `status` of each commitment. The log key signs every grant and
revocation (EIP-712, in the registry's domain: the registry takes them from its issuer
key only, the log key fixed at its deployment); the anchor key only sends them and
pays the gas.

submitted calls
  1. Receipt present and successful: once the block is `confirmations` deep (and still
     the chain's at that height), record confirmed, with its block number and hash,
     each call whose event (Granted or Revoked) for its commitment the transaction
     emitted. A call it has no event for was done by another transaction (a relayer
     sent that grant first, and grantMany skipped it): it is settled from the chain as
     in 5 (status, then the event's transaction), or goes back to pending should the
     chain not hold it.
  2. Receipt present, failed: back to pending with the reason (the transaction is
     replayed to decode it). Step 5 reads the chain before any resend.
  3. No receipt, but the node knows the transaction: still in the pool, wait.
  4. No receipt and unknown to the node: dropped (or never sent): back to pending.

pending grants, when no grant transaction of ours is in flight (so grants queued
meanwhile wait and go together: one `grantMany` for up to `max_batch` commitments)
  5. Sign each with the log key and read its `status(commitment)`. A commitment the
     chain holds already (an earlier send landed after all) is settled from the chain:
     confirmed by the transaction of its `Granted` event, once deep enough, if the log
     key granted it with the record's window (else it fails: see below).
  6. Build grant (one commitment) or grantMany (several) with the account's pending
     nonce. The gas estimate runs the contract's checks: a revert here sends nothing,
     and names the first commitment it refuses; that one fails and the others are
     built again without it.
  7. Record the calls submitted, with the tx hash and nonce, BEFORE sending. A crash
     after this leaves submitted rows whose transaction the node may not know: step 4
     finds it unknown and resends, or step 1 finds its receipt.
  8. Send. A refusal by the node (nonce too low, no funds) returns the calls to pending
     with the error; an unreachable node leaves them submitted (case 7).

pending revokes whose grant failed
  9. Fail too: a commitment never granted is never revoked.

pending revokes whose grant is confirmed, oldest first, one transaction at a time,
when no revoke is in flight
  10. Read `status(commitment)`: revoked already -> settled from the chain (its
      `Revoked` event); unknown to the chain (the grant was reorganised out) -> the
      grant goes back to pending and the revoke waits for it. Otherwise sign
      revoke(commitment, the revoking record's leaf hash) with the log key, build,
      record submitted, send: as 6 to 8. A revoke that fails goes on to the next one.

Isolation: one call never blocks the others. A call that the registry refuses whatever
the chain's state (a window it cannot hold, a commitment granted with another window,
a revoke the contract reverts), or that cannot even be signed or encoded (a row written
before the window check existed, or by hand), is marked failed with the reason, for
good; grants batched with it are built again without it. One refusal is no call's
fault: the log key not being the registry's issuer (a service started with another log
key than the one the registry was deployed for) fails nothing, and is reported. Only an
unreachable chain
(ChainError) or the store stops a step: `run` retries those, and anything unexpected,
with exponential backoff, keeps the error on the open calls, and never stops.

While the chain is unreachable every RPC raises ChainUnavailableError; licence records
keep entering the log meanwhile; their calls wait.

NOTE: a confirmed call is not re-checked for reorganisations deeper than
`confirmations` blocks, except a confirmed grant whose revoke finds the commitment
unknown to the chain (step 10).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from ledger.chain.client import ChainClient, SignedTx
from ledger.chain.errors import ChainError, ChainTimeoutError, ContractRevertError
from ledger.chain.licence_registry import (
    GRANTED_TOPIC,
    REVOKED_TOPIC,
    GrantCall,
    LicenceRegistry,
    OnChainLicence,
    OnChainState,
    SignedGrant,
)
from ledger.chain.reverts import hex0x
from ledger.core.records import now_ts
from ledger.errors import LedgerError
from ledger.service import outbox
from ledger.service.licences import window_problem
from ledger.service.outbox import POLL_INTERVAL, Backoff, Sender, reason
from ledger.service.signer import LogSigner, compact_signature
from ledger.store.licences import CallAction, CallStatus, LicenceCall, LicenceRepository
from ledger.store.repository import Store, StoreError

log = logging.getLogger("ledger.service.licences")

MAX_BATCH = 100
"""Most commitments granted by one grantMany transaction (about 2.6 M gas)."""


class LicenceCallFailedError(LedgerError):
    """A registry call was refused for good; the message says why."""


class LogKeyNotIssuerError(ChainError):
    """The registry does not take the log key's grants (its issuer key is another: the
    service runs with the wrong log key). No grant is the cause, so none fails; they
    wait, and the error is reported until the service runs with the log's key."""


class LicenceIssuer:
    """Moves queued licence calls onto the LicenceRegistry `registry`, each signed by
    `signer` (the log key, the registry's issuer); the registry's client sends them."""

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
        self.repo = LicenceRepository(store)
        self.registry = registry
        self.signer = signer
        self.client: ChainClient = registry.client
        self.sender = Sender(self.repo.outbox, self.client, confirmations, clock)
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
        self._fail_stranded_revokes()
        if CallAction.REVOKE not in in_flight:
            self._send_revoke()
        return self._confirmed

    def _fail(self, call: LicenceCall, reason: str) -> None:
        """Mark `call` failed for good: the registry will never take it."""
        self.repo.fail([call], reason, self.clock())
        log.warning(
            "%s of %s (licence %r) failed: %s",
            call.action.value,
            hex0x(call.commitment),
            call.licence_id,
            reason,
        )

    def _follow(self, calls: list[LicenceCall]) -> None:
        """1-4. Follow the transaction of submitted `calls` (all of one tx hash)."""
        what = f"{calls[0].action.value} of {len(calls)} commitment(s)"
        receipt = self.sender.follow(calls, self.registry.decoder, what).receipt
        if receipt is None:
            return  # 3. in the pool, 4. dropped, 2. failed, or 1. not deep enough yet
        topic = GRANTED_TOPIC if calls[0].action is CallAction.GRANT else REVOKED_TOPIC  # 1.
        emitted = self.registry.emitted(receipt, topic)
        ours = [call for call in calls if call.commitment in emitted]
        if ours:
            self._confirmed += self.repo.outbox.confirm(
                ours,
                receipt.tx_hash,
                receipt.block_number,
                self.clock(),
                block_hash=receipt.block_hash,
            )
            log.info(
                "%s of %d commitment(s) confirmed in block %d",
                calls[0].action.value,
                len(ours),
                receipt.block_number,
            )
        for call in calls:
            if call.commitment not in emitted:
                self._settle_elsewhere(call, receipt.tx_hash, receipt.block_number)

    def _settle_elsewhere(self, call: LicenceCall, tx_hash: bytes, block_number: int) -> None:
        """1. Our transaction `tx_hash` succeeded in `block_number` without an event for
        `call`: another transaction did it (settled from the chain), or nothing did (back
        to pending)."""
        onchain = self.registry.status(call.commitment)
        done = (
            onchain.state is not OnChainState.UNKNOWN
            if call.action is CallAction.GRANT
            else onchain.state is OnChainState.REVOKED
        )
        if not done:
            self.repo.reopen(
                [call],
                f"transaction {hex0x(tx_hash)} succeeded in block {block_number}"
                f" without a {call.action.value} of {hex0x(call.commitment)},"
                " and the registry does not hold one: sending it again",
                self.clock(),
            )
        elif (problem := self._not_ours(call, onchain)) is not None:
            self._fail(call, problem)
        elif call.action is CallAction.GRANT:
            self._settle(call, onchain.granted_block, GRANTED_TOPIC)
        else:
            self._settle(call, onchain.revoked_block, REVOKED_TOPIC)

    def _settle(self, call: LicenceCall, block_number: int, topic: bytes) -> None:
        """5, 10. The chain holds the call's effect from `block_number`: confirm it by the
        transaction that emitted the event, once deep enough."""
        tx_hash = self.registry.event_tx(topic, call.commitment, block_number)
        if tx_hash is None:
            raise ChainError(
                f"commitment {hex0x(call.commitment)} changed in block {block_number},"
                " but that block has no event for it (the node's logs are incomplete)"
            )
        if self.sender.deep_enough(block_number):
            self._confirmed += self.repo.confirm([call], tx_hash, block_number, self.clock())

    def _is_ours(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() == self.signer.address.lower()

    def _not_ours(self, call: LicenceCall, onchain: OnChainLicence) -> str | None:
        """Why the chain's grant of `call`'s commitment is not the log key's grant of
        the record's window (None: it is)."""
        if not self._is_ours(onchain.issuer):
            return (
                f"commitment {hex0x(call.commitment)} was granted on chain by issuer key"
                f" {onchain.issuer}, not by the log key {self.signer.address}: verifiers"
                " that pin the log refuse it, and the registry takes no second grant of"
                " a commitment; amend the licence (a new record is a new commitment)"
            )
        if call.action is CallAction.GRANT and (onchain.valid_from, onchain.valid_until) != (
            call.valid_from,
            call.valid_until,
        ):
            return (
                f"commitment {hex0x(call.commitment)} is granted on chain"
                f" for {onchain.valid_from}..{onchain.valid_until}, not"
                f" for the record's {call.valid_from}..{call.valid_until}"
            )
        return None

    def _signed_grant(self, call: LicenceCall) -> SignedGrant:
        """The log key's grant of `call`; LicenceCallFailedError (or any error) for one it
        cannot sign."""
        if call.valid_from is None or call.valid_until is None:
            raise LicenceCallFailedError("a grant call has no validity window")
        problem = window_problem(call.valid_from, call.valid_until)
        if problem is not None:
            field, message = problem
            raise LicenceCallFailedError(
                "the registry cannot hold this window"
                f" ({call.valid_from}..{call.valid_until}): {field} {message}"
            )
        grant = GrantCall(call.commitment, call.valid_from, call.valid_until)
        signature = self.signer.sign_grant(
            self.registry.address_bytes, grant.commitment, grant.valid_from, grant.valid_until
        )
        return SignedGrant(grant, compact_signature(signature))

    def _send_grants(self) -> None:
        """5-8. Grant up to `max_batch` pending commitments in one transaction."""
        to_send: list[tuple[LicenceCall, SignedGrant]] = []
        for call in self.repo.pending_grants(self.max_batch):
            try:
                signed_grant = self._signed_grant(call)
                onchain = self.registry.status(call.commitment)
            except ChainError:
                raise
            except Exception as error:  # noqa: BLE001 - this call's own failure: isolate it
                self._fail(call, f"cannot be granted: {reason(error)}")
                continue
            if onchain.state is OnChainState.UNKNOWN:
                to_send.append((call, signed_grant))
            elif (problem := self._not_ours(call, onchain)) is not None:
                self._fail(call, problem)
            else:
                self._settle(call, onchain.granted_block, GRANTED_TOPIC)
        if not to_send:
            return
        nonce = self.client.nonce(block="pending")
        while to_send:
            try:
                signed = self.registry.build_grant([grant for _call, grant in to_send], nonce=nonce)
            except ContractRevertError as error:
                to_send = self._without_refused(to_send, error)
                continue
            except ChainError:
                raise
            except Exception:  # noqa: BLE001 - which call? each is tried alone
                to_send = self._without_refused(to_send, None)
                continue
            self._submit_and_send([call for call, _grant in to_send], signed)
            return

    def _without_refused(
        self, batch: list[tuple[LicenceCall, SignedGrant]], error: ContractRevertError | None
    ) -> list[tuple[LicenceCall, SignedGrant]]:
        """6. The grants of `batch` left once those the registry refuses are settled or
        failed. A revert names the first commitment it refuses; for any other failure
        each grant is tried alone. When none fails alone, the first goes alone and the
        others wait for the next step."""
        if error is not None:
            self._check_log_key(error)
        named = None if error is None else error.args_by_name.get("commitment")
        for call, _grant in batch:
            if error is not None and call.commitment == named:
                self._refused(call, error)
                return [pair for pair in batch if pair[0].id != call.id]
        refused: set[int] = set()
        for call, grant in batch:
            try:
                self.registry.build_grant([grant], nonce=0)
            except ContractRevertError as alone:
                self._check_log_key(alone)
                self._refused(call, alone)
            except ChainError:
                raise
            except Exception as alone:  # noqa: BLE001 - this call's own failure: isolate it
                self._fail(call, f"cannot be granted: {reason(alone)}")
            else:
                continue
            refused.add(call.id)
        if refused:
            return [pair for pair in batch if pair[0].id not in refused]
        if len(batch) > 1:
            return batch[:1]
        raise error or ChainError(
            f"grant of {hex0x(batch[0][0].commitment)} could not be"
            " built, but builds alone: retrying"
        )

    def _check_log_key(self, error: ContractRevertError) -> None:
        """Raise LogKeyNotIssuerError when `error` says the log key itself may not grant."""
        if error.name == "LicenceRegistryNotIssuer" and self._is_ours(
            error.args_by_name.get("recovered")
        ):
            raise LogKeyNotIssuerError(
                f"the log key {self.signer.address} is not the issuer key of the"
                f" LicenceRegistry {self.registry.address}: grants wait until the service"
                " runs with the log's key (LEDGER_LOG_KEY or the data dir's log-key.json)"
            )

    def _refused(self, call: LicenceCall, error: ContractRevertError) -> None:
        """The registry reverts `call`: settle it if the chain now holds it (another
        send landed meanwhile), else fail it with the decoded reason."""
        onchain = self.registry.status(call.commitment)
        granted = call.action is CallAction.GRANT and onchain.state is not OnChainState.UNKNOWN
        revoked = call.action is CallAction.REVOKE and onchain.state is OnChainState.REVOKED
        if not (granted or revoked):
            self._fail(call, f"the registry refuses it: {error}")
        elif (problem := self._not_ours(call, onchain)) is not None:
            self._fail(call, problem)
        elif granted:
            self._settle(call, onchain.granted_block, GRANTED_TOPIC)
        else:
            self._settle(call, onchain.revoked_block, REVOKED_TOPIC)

    def _fail_stranded_revokes(self) -> None:
        """9. A revoke whose grant failed fails too."""
        for call in self.repo.stranded_revokes(self.max_batch):
            grant = self.repo.grant_of(call.commitment)
            why = grant.last_error if grant is not None and grant.last_error else "no reason kept"
            self._fail(
                call,
                f"the grant of commitment {hex0x(call.commitment)}"
                f" failed ({why}): there is nothing to revoke",
            )

    def _send_revoke(self) -> None:
        """10. Revoke the oldest pending commitment whose grant is confirmed; a revoke that
        fails makes way for the next."""
        for call in self.repo.ready_revokes(self.max_batch):
            try:
                if self._revoke(call):
                    return
            except (ChainError, StoreError):
                raise
            except Exception as error:  # noqa: BLE001 - this call's own failure: isolate it
                self._fail(call, f"cannot be revoked: {reason(error)}")

    def _revoke(self, call: LicenceCall) -> bool:
        """10. Settle, fail or send the revoke `call`; whether a transaction was sent."""
        onchain = self.registry.status(call.commitment)
        if onchain.state is OnChainState.REVOKED:
            self._settle(call, onchain.revoked_block, REVOKED_TOPIC)
            return False
        if onchain.state is OnChainState.UNKNOWN:
            grant = self.repo.grant_of(call.commitment)
            assert (
                grant is not None and grant.status is CallStatus.CONFIRMED
            )  # ready_revokes joins them
            self.repo.reopen(
                [grant],
                f"commitment {hex0x(call.commitment)} was confirmed in block"
                f" {grant.block_number}, but the registry does not know it"
                " (reorganised out of the chain?): granting it again",
                self.clock(),
            )
            return False
        problem = self._not_ours(call, onchain)
        if problem is not None:
            self._fail(call, problem)
            return False
        signature = compact_signature(
            self.signer.sign_revoke(self.registry.address_bytes, call.commitment, call.record_hash)
        )
        try:
            signed = self.registry.build_revoke(
                call.commitment,
                call.record_hash,
                signature,
                nonce=self.client.nonce(block="pending"),
            )
        except ContractRevertError as error:
            self._refused(call, error)
            return False
        self._submit_and_send([call], signed)
        return True

    def _submit_and_send(self, calls: list[LicenceCall], signed: SignedTx) -> None:
        """7-8. Record the calls submitted, then send."""
        what = f"{calls[0].action.value} of {len(calls)} commitment(s)"
        self.sender.send(calls, signed, what)

    # -- driving it --------------------------------------------------------------------

    def note_error(self, error: Exception) -> None:
        """Keep `error` on the open calls (best effort: never raises)."""
        try:
            open_calls = (
                self.repo.submitted()
                + self.repo.pending_grants(self.max_batch)
                + self.repo.ready_revokes(self.max_batch)
            )
            for call in open_calls:
                self.repo.note_error([call], reason(error), self.clock())
        except Exception:  # the store may be what failed
            log.debug("could not keep the error on the open calls", exc_info=True)

    def wait_confirmed(
        self, ids: Collection[int], licence_id: str, timeout: float = 120.0
    ) -> list[LicenceCall]:
        """Step until the calls `ids` of licence `licence_id` are confirmed; their rows.

        An unreachable chain is retried until `timeout`; a call the registry refuses
        for good raises LicenceCallFailedError with its reason.
        """

        def done() -> list[LicenceCall] | None:
            calls = [call for call in self.repo.calls(licence_id) if call.id in ids]
            failed = [call for call in calls if call.status is CallStatus.FAILED]
            if failed:
                raise LicenceCallFailedError(
                    "; ".join(
                        f"the {c.action.value} of {hex0x(c.commitment)} failed: {c.last_error}"
                        for c in failed
                    )
                )
            if all(call.status is CallStatus.CONFIRMED for call in calls):
                return calls
            return None

        def timed_out() -> ChainTimeoutError:
            states = ", ".join(
                f"{c.action.value} {c.status.value}"
                + (f" ({c.last_error})" if c.last_error else "")
                for c in self.repo.calls(licence_id)
                if c.id in ids
            )
            return ChainTimeoutError(
                f"licence {licence_id!r} was not confirmed on chain within {timeout:g} s: {states}"
            )

        return outbox.wait_for(
            self.step, done, timed_out, self.note_error, timeout=timeout, retried=ChainError
        )

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
        in one transaction. Any error (an unreachable chain, the store, or anything
        unexpected) is kept on the open calls, reported via `on_error` and retried with
        exponential backoff: the issuer never stops before `stop`."""

        def tick() -> float:
            for call in self.step():
                on_confirmed(call)
            return POLL_INTERVAL if self.repo.submitted() else interval

        outbox.run(stop, tick, self.note_error, on_error, retry or Backoff(), retried=(Exception,))
