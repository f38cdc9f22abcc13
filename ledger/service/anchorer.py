"""The anchorer: checkpoints -> anchors on chain, a state machine in crash order.

An anchor is a call in the chain outbox: its row moves pending -> submitted -> confirmed
(ledger/store/outbox.py moves it, every move a compare-and-swap; ledger/store/anchors.py
reads the anchors). Recording a transaction before sending it (5, 6) and following it
(7-10) are the outbox's sending side, ledger/service/outbox.py, shared with the licence
issuer; what is anchored, and the chain's say on it, are here. The chain, not the
database, is the authority on what is anchored: each send starts from the contract's
own `latest` anchor, so the anchorer resumes correctly whatever the database says.

`schedule` queues the latest checkpoint when the log grew past every anchor row (one
insert; a crash before it loses nothing, the next schedule queues again). The first
`step` of an anchorer (a start, or a restart) reconciles the database with the chain
(13, below); then each step checks recent confirmed anchors for reorganisations and
works on the oldest open anchor:

pending
  1. Read the chain's latest anchor (size0, root0). If the chain holds this size
     already, settle from the chain (below): a duplicate send was harmless.
  2. If this is the newest row and the log has grown, retarget it to the latest
     checkpoint (one transaction covers everything sealed so far).
  3. Check the chain agrees with this log: size0 <= our size and root0 = our root at
     size0 (computed from tiles, along with the consistency proof size0 -> size).
     A disagreement is an `AnchorConflictError`, fatal: it needs an operator.
  4. Sign the checkpoint with the log key (the contract anchors nothing else), its
     index root R(size) included (ledger.service.index), then the transaction
     anchor(logId, size, root, indexRoot, proof, signature) with the anchor key's
     pending nonce. The gas estimate runs the contract's checks: a revert here sends
     nothing. A retired log, or a log key the contract does not know, is an
     `AnchorConflictError`.
  5. Record submitted with the tx hash and nonce, BEFORE sending. A crash after this
     (fault point `anchor.after_record`) leaves a submitted row whose transaction the
     node may not know: step `submitted` finds it unknown and resends, or finds its
     receipt. So no transaction is ever sent that the database does not name.
  6. Send. A refusal by the node (nonce too low, no funds) returns the row to pending
     with the error. An unreachable node leaves it submitted (case 5). A crash after
     the send (`anchor.after_send`) is resolved by step 7 from the receipt.

submitted
  7. Receipt present and successful: once the block is `confirmations` deep, record
     confirmed with block number, hash, timestamp and gas used. A crash just before
     (`anchor.before_confirm`) repeats this step after the restart.
  8. Receipt present, failed: replay to get the reason, back to pending; if the chain
     holds this size anyway (another send won the race), settle from the chain.
  9. No receipt, but the node knows the transaction: still in the pool, wait.
  10. No receipt and unknown to the node: dropped (or never sent): back to pending,
      resent from step 1 with a fresh nonce.

settle from the chain (the chain holds size >= ours)
  11. If the chain anchors exactly our size: same root and index root -> adopt the
      transaction that did it (found from its Anchored event: anyone may relay a signed
      checkpoint) as submitted, then step 7; another root or index root ->
      AnchorConflictError. If the chain anchors a larger size only, this row is moot:
      retarget it to the chain's latest and adopt that, or drop it when that size has a
      row already.

reorganisations (every step, confirmed anchors in the last `reorg_depth` blocks)
  12. If the block at the anchor's height has another hash (or is gone) and the
      transaction's receipt is gone: back to pending, re-anchored from step 1. If the
      receipt moved to another block: back to submitted with it, confirmed by step 7.

reconciling on start (once per anchorer, before its first step)
  13. The chain is the authority, and it may have lost blocks the database saw
      confirmed: a reorganisation deeper than `reorg_depth`, or a dev chain restarted
      from an older state file. Read the chain's latest anchor (size0) and check it is
      this log's (as step 3). Every confirmed row of a size above size0, or in a block
      above the head, goes back to pending; so does the confirmed row of the largest
      size <= size0 if the contract does not hold it in the same block. Step 1 then
      sends them again, oldest first, each from the chain's own latest anchor.

While the chain is unreachable every RPC raises ChainUnavailableError; `run` retries
with exponential backoff and records the error on the open anchor. Ingest and sealing
never wait for the anchorer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger import faults
from ledger.chain.client import ChainClient
from ledger.chain.errors import (
    ChainError,
    ChainTimeoutError,
    ChainUnavailableError,
    ContractRevertError,
)
from ledger.chain.log_anchor import LogAnchor, OnChainAnchor
from ledger.chain.reverts import hex0x
from ledger.core.records import now_ts
from ledger.errors import LedgerError
from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.service import outbox
from ledger.service.index import index_root_at
from ledger.service.outbox import POLL_INTERVAL, Backoff, Sender
from ledger.service.proofs import consistency
from ledger.service.signer import LogSigner
from ledger.store import tlog
from ledger.store.anchors import (
    Anchor,
    AnchorBlock,
    AnchorRepository,
    AnchorStatus,
    Deployment,
)
from ledger.store.repository import Store, StoreError

log = logging.getLogger("ledger.service.anchorer")

REORG_DEPTH = 64
"""Blocks below the head in which a confirmed anchor is re-checked for reorganisation."""

REORG_ROWS = 16
"""Most confirmed anchors re-checked per step."""


class AnchorConflictError(LedgerError):
    """The chain's anchors disagree with this log: another root at a size, or a size
    larger than the log. Anchoring stops; an operator must look."""


class NothingToAnchorError(LedgerError):
    """The log is empty: there is no checkpoint to anchor."""


class Anchorer:
    """Moves the log's checkpoints onto the LogAnchor contract of `deployment`, each
    signed by `signer` (the log key; None: follow the chain, send nothing)."""

    def __init__(
        self,
        store: Store,
        contract: LogAnchor,
        deployment: Deployment,
        signer: LogSigner | None,
        *,
        confirmations: int = 1,
        reorg_depth: int = REORG_DEPTH,
        clock: Callable[[], str] = now_ts,
    ) -> None:
        self.store = store
        self.repo = AnchorRepository(store)
        self.contract = contract
        self.client: ChainClient = contract.client
        self.sender = Sender(self.repo.outbox, self.client, confirmations, clock)
        self.deployment = deployment
        self.signer = signer
        self.log_id = deployment.log_id
        self.reorg_depth = reorg_depth
        self.clock = clock
        self._confirmed: list[Anchor] = []
        self._checked_head: bytes | None = None  # chain head at the last reorg check
        self._reconciled = False  # step 13 done (once per anchorer: on start)

    # -- queueing ----------------------------------------------------------------------

    def schedule(self) -> Anchor | None:
        """Queue the latest checkpoint if the log grew past every anchor row.

        A newest row still pending is left alone: step 2 retargets it when it is sent.
        """
        state = self.store.state()
        if state.tree_size == 0:
            return None
        newest = self.repo.newest()
        if newest is not None and (
            newest.tree_size >= state.tree_size or newest.status is AnchorStatus.PENDING
        ):
            return None
        signer = self.signer
        note = None if signer is None else signer.checkpoint_note(state.tree_size, state.root)
        if note is not None:  # sealed without the note key: the anchored size gets its note
            tlog.keep_note(self.store, state.tree_size, state.root, note)
        return self.repo.add_pending(state.tree_size, state.root, self.clock())

    # -- one step ----------------------------------------------------------------------

    def step(self) -> list[Anchor]:
        """Check for reorganisations, then advance the oldest open anchor by one state.

        Returns the anchors that became confirmed during this step.
        """
        self._confirmed = []
        if not self._reconciled:
            self.reconcile()
        self.check_reorgs()
        open_anchors = self.repo.open_anchors()
        if open_anchors:
            anchor = open_anchors[0]
            if anchor.status is AnchorStatus.SUBMITTED:
                self._resolve(anchor)
            else:
                self._submit(anchor)
        return self._confirmed

    def refresh(self) -> list[Anchor]:
        """Reconcile with the chain, check reorganisations and resolve submitted anchors;
        send nothing."""
        self._confirmed = []
        if not self._reconciled:
            self.reconcile()
        self.check_reorgs()
        for anchor in self.repo.open_anchors():
            if anchor.status is AnchorStatus.SUBMITTED:
                self._resolve(anchor)
        return self._confirmed

    def _submit(self, anchor: Anchor) -> Anchor | None:
        """1-6. Send a pending anchor (or settle it from the chain)."""
        # 1. the chain's own latest anchor is the base
        chain = self.contract.latest(self.log_id)
        if chain.size >= anchor.tree_size:
            return self._settle_from_chain(anchor, chain)
        # 2. retarget the newest pending row to the latest checkpoint
        state = self.store.state()
        newest = self.repo.newest()
        if newest is not None and newest.id == anchor.id and state.tree_size > anchor.tree_size:
            anchor = self.repo.retarget(anchor, state.tree_size, state.root, self.clock())
        # 3. the chain must agree with this log
        proof = self._proof_from(chain, anchor)
        # 4. sign the checkpoint, then the transaction with the pending nonce; the
        # estimate runs the contract's checks
        if self.signer is None:
            raise ChainError("this anchorer has no log key: it can follow anchors, not send them")
        # the index root R(S) kept by the seal (zero for a size sealed before the index)
        index_root = index_root_at(self.store, anchor.tree_size) or NO_INDEX_ROOT
        signature = self.signer.anchor_signature(anchor.tree_size, anchor.root, index_root)
        nonce = self.client.nonce(block="pending")
        try:
            signed = self.contract.build_anchor(
                self.log_id,
                anchor.tree_size,
                anchor.root,
                proof,
                signature,
                index_root=index_root,
                nonce=nonce,
            )
        except ContractRevertError as error:
            if error.name == "LogAnchorSizeNotIncreasing":  # another send got there first
                return self._settle_from_chain(anchor, self.contract.latest(self.log_id))
            if error.name in ("LogAnchorRetired", "LogAnchorBadSignature"):
                raise AnchorConflictError(
                    f"the contract refuses to anchor log {hex0x(self.log_id)}:"
                    f" {error} (a retired log, or a log key other than the"
                    f" log's: this service signs with {self.signer.address})"
                ) from None
            raise
        # 5-6. record before sending, then send
        (anchor,) = self.sender.send(
            [anchor],
            signed,
            f"anchor {anchor.tree_size} (from size {chain.size})",
            fault="anchor",
            prev_size=chain.size,
        )
        return anchor

    def _check_chain(self, chain: OnChainAnchor) -> None:
        """3. The chain's latest anchor must be a checkpoint of this log."""
        ours = self.store.state().tree_size
        if chain.size > ours:
            raise AnchorConflictError(
                f"the chain anchors size {chain.size} of log {hex0x(self.log_id)}"
                f" on {self.contract.address}, but this log has only {ours}"
                " entries: is this the database that anchors there?"
            )
        if chain.size and consistency(self.store, chain.size, chain.size).first_root != chain.root:
            raise AnchorConflictError(
                f"the chain anchors size {chain.size} of log {hex0x(self.log_id)} with"
                f" root {hex0x(chain.root)}, but this log's root at that size differs:"
                " the log was rewritten or this database belongs to another log"
            )

    def _proof_from(self, chain: OnChainAnchor, anchor: Anchor) -> list[bytes]:
        """The consistency proof chain.size -> anchor.tree_size (empty from size 0),
        after checking both roots are this log's roots at those sizes."""
        self._check_chain(chain)
        ours = self.store.state().tree_size
        if anchor.tree_size > ours:
            raise AnchorConflictError(
                f"anchor row of size {anchor.tree_size} is beyond this log's size {ours}"
            )
        found = consistency(self.store, chain.size or anchor.tree_size, anchor.tree_size)
        if found.second_root != anchor.root:
            raise AnchorConflictError(
                f"anchor row of size {anchor.tree_size} has root {hex0x(anchor.root)},"
                f" but this log's root at that size is {hex0x(found.second_root)}"
            )
        return found.proof if chain.size else []

    def _settle_from_chain(self, anchor: Anchor, chain: OnChainAnchor) -> Anchor | None:
        """11. The chain holds size >= the anchor's: adopt the transaction that put this
        size there, or retarget the row to the chain's latest anchor."""
        if anchor.status is not AnchorStatus.PENDING:
            anchor = self.repo.reopen(anchor, "the chain holds this size already", self.clock())
        event = self.contract.anchored_at(self.log_id, anchor.tree_size)
        if event is None:
            self._check_chain(chain)
            if self.repo.get(chain.size) is not None:
                self.repo.drop_pending(anchor)
                log.info(
                    "anchor %d: dropped, the chain anchors size %d already",
                    anchor.tree_size,
                    chain.size,
                )
                return None
            anchor = self.repo.retarget(anchor, chain.size, chain.root, self.clock())
            event = self.contract.anchored_at(self.log_id, chain.size)
            if event is None:
                raise ChainError(
                    f"the chain's latest anchor, size {chain.size},"
                    " has no root: the node is inconsistent"
                )
        if event.root != anchor.root:
            raise AnchorConflictError(
                f"the chain anchors size {anchor.tree_size} of log {hex0x(self.log_id)} with root"
                f" {hex0x(event.root)}, but this log's root at that size is {hex0x(anchor.root)}"
            )
        ours = index_root_at(self.store, anchor.tree_size) or NO_INDEX_ROOT
        if event.index_root != ours:
            raise AnchorConflictError(
                f"the chain anchors size {anchor.tree_size} of log {hex0x(self.log_id)} with"
                f" index root {hex0x(event.index_root)} (transaction {hex0x(event.tx_hash)}),"
                f" but this log's index root at that size is {hex0x(ours)}: the log key signed"
                " another index for this checkpoint (completeness proofs at this size would"
                " fail 'index root on chain')"
            )
        sent = self.client.transaction(event.tx_hash)
        nonce = None if sent is None else int(sent["nonce"])
        anchor = self.repo.adopt(anchor, event.prev_size, event.tx_hash, nonce, self.clock())
        log.info("anchor %d: already on chain by %s", anchor.tree_size, hex0x(event.tx_hash))
        return self._resolve(anchor)

    def _resolve(self, anchor: Anchor) -> Anchor | None:
        """7-10. Follow a submitted anchor's transaction."""
        followed = self.sender.follow(
            [anchor], self.contract.decoder, f"anchor(size {anchor.tree_size})"
        )
        (anchor,) = followed.calls
        if followed.failed:  # 8. failed in a block: did another send win the race?
            chain = self.contract.latest(self.log_id)
            if chain.size >= anchor.tree_size:
                return self._settle_from_chain(anchor, chain)
            return anchor
        receipt, block = followed.receipt, followed.block
        if receipt is None or block is None:
            return anchor  # 9. in the pool, 10. dropped, or 7. not deep enough yet
        # 7. mined and deep enough: confirm
        faults.point("anchor.before_confirm")
        confirmed = self.repo.confirm(
            anchor,
            AnchorBlock(
                receipt.tx_hash, receipt.block_number, block.hash, block.timestamp, receipt.gas_used
            ),
            self.clock(),
        )
        log.info("anchor %d: confirmed in block %d", confirmed.tree_size, block.number)
        self._confirmed.append(confirmed)
        return confirmed

    def check_reorgs(self) -> list[Anchor]:
        """12. Reopen confirmed anchors whose block left the chain; returns them.

        Costs one RPC while the chain head is the block seen at the last check (no
        reorganisation can have happened), plus one per recent anchor otherwise.
        """
        head = self.client.head()
        if head.hash == self._checked_head:
            return []
        moved: list[Anchor] = []
        for anchor in self.repo.confirmed_since(max(0, head.number - self.reorg_depth), REORG_ROWS):
            assert anchor.block_number is not None and anchor.tx_hash is not None
            block = self.client.block(anchor.block_number)
            if block is not None and block.hash == anchor.block_hash:
                continue
            receipt = self.client.receipt(anchor.tx_hash)
            if receipt is not None and receipt.status == 1:
                assert anchor.prev_size is not None
                moved.append(
                    self.repo.adopt(
                        anchor, anchor.prev_size, anchor.tx_hash, anchor.nonce, self.clock()
                    )
                )
                log.warning(
                    "anchor %d: its transaction moved to block %d",
                    anchor.tree_size,
                    receipt.block_number,
                )
                continue
            where = "is gone" if block is None else f"now has hash {hex0x(block.hash)}"
            moved.append(
                self.repo.reopen(
                    anchor,
                    f"reorganised out: block {anchor.block_number}"
                    f" {where} (was {hex0x(anchor.block_hash or b'')})",
                    self.clock(),
                )
            )
            log.warning(
                "anchor %d: reorganised out of block %d, back to pending",
                anchor.tree_size,
                anchor.block_number,
            )
        self._checked_head = head.hash
        return moved

    def reconcile(self) -> list[Anchor]:
        """13. Return to pending every confirmed anchor the chain does not hold; returns them.

        Runs by itself before an anchorer's first step. Costs three RPCs, whatever the
        number of anchors: the chain's anchors only ever grow by size, so a chain that
        lost blocks lost the anchors of the largest sizes.
        """
        chain = self.contract.latest(self.log_id)
        self._check_chain(chain)
        head = self.client.block_number()
        gone = (
            f"the chain lacks it: its latest anchor is size {chain.size} and its head"
            f" block {head} (blocks were lost: a deep reorganisation, or a dev chain"
            f" restarted from an older state); anchoring again from size {chain.size}"
        )
        lost = [
            (anchor, f"confirmed in block {anchor.block_number}, but {gone}")
            for anchor in self.repo.confirmed_beyond(chain.size, head)
        ]
        below = self.repo.latest_confirmed_upto(chain.size)
        if below is not None and all(below.id != anchor.id for anchor, _ in lost):
            held = self.contract.anchored_at(self.log_id, below.tree_size)
            if held is None:
                lost.insert(
                    0,
                    (
                        below,
                        f"confirmed in block {below.block_number}, but the chain skipped this size",
                    ),
                )
            elif held.block_number != below.block_number:
                where = (
                    f"the chain holds it in block {held.block_number},"
                    f" not {below.block_number}: adopting it there"
                )
                lost.insert(0, (below, where))
        reopened: list[Anchor] = []
        for anchor, reason in lost:
            reopened.append(self.repo.reopen(anchor, reason, self.clock()))
            log.warning("anchor %d: %s", anchor.tree_size, reason)
        self._reconciled = True
        return reopened

    # -- driving it --------------------------------------------------------------------

    def note_error(self, error: Exception) -> None:
        """Keep `error` on the oldest open anchor (best effort)."""
        try:
            open_anchors = self.repo.open_anchors()
            if open_anchors:
                self.repo.note_error(open_anchors[0], str(error), self.clock())
        except StoreError:
            pass

    def anchor_latest(self, timeout: float = 120.0, *, retry: Backoff | None = None) -> Anchor:
        """Anchor the latest checkpoint now and wait until it is confirmed.

        Returns the confirmed anchor covering it (of that size, or larger when the log
        grew meanwhile). An unreachable chain is retried until `timeout`; a contract
        refusal or a conflict is raised at once.
        """
        target = self.store.state().tree_size
        if target == 0:
            raise NothingToAnchorError("the log is empty: ingest records and seal before anchoring")
        self.schedule()

        def done() -> Anchor | None:
            found = self.repo.latest_confirmed()
            return found if found is not None and found.tree_size >= target else None

        def timed_out() -> ChainTimeoutError:
            row = self.repo.newest()
            status = (
                f"{row.status.value}, last error: {row.last_error}"
                if row is not None
                else "no anchor row"
            )
            return ChainTimeoutError(
                f"tree size {target} was not confirmed on chain within {timeout:g} s ({status})"
            )

        return outbox.wait_for(
            self.step,
            done,
            timed_out,
            self.note_error,
            timeout=timeout,
            retried=ChainUnavailableError,
            retry=retry,
        )

    def run(
        self,
        stop: threading.Event,
        interval: float,
        *,
        on_confirmed: Callable[[Anchor], None] = lambda _anchor: None,
        on_error: Callable[[str], None] = lambda _text: None,
        retry: Backoff | None = None,
    ) -> None:
        """Until `stop` is set: queue the latest checkpoint every `interval` seconds (when
        the log grew) and step every open anchor to confirmed.

        Chain errors are retried with exponential backoff and reported via `on_error`;
        only an AnchorConflictError ends the loop (raised).
        """
        next_schedule = 0.0

        def tick() -> float:
            nonlocal next_schedule
            if time.monotonic() >= next_schedule:
                self.schedule()
                next_schedule = time.monotonic() + interval
            for anchor in self.step():
                on_confirmed(anchor)
            if self.repo.open_anchors():
                return POLL_INTERVAL
            return max(0.0, next_schedule - time.monotonic())

        outbox.run(
            stop,
            tick,
            self.note_error,
            on_error,
            retry or Backoff(),
            retried=(ChainError, StoreError),
        )
