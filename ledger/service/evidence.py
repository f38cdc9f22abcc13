"""Evidence bundles, service side: one entry, its proof and the anchor that covers it.

A bundle (format "model-ledger/evidence/v1", documented field by field in
docs/evidence-format.md) holds everything an outsider needs to check an entry with
`ledger.verify.bundle`, trusting only mathematics and the chain:

- where the log is anchored: chain id, LogAnchor contract address, log id;
- the checkpoint it proves against: the tree size and root of a confirmed anchor that
  covers the entry, by default the earliest (its block's time is the tightest "existed
  no later than"; `anchor=` chooses the latest or a given size), with the anchor's
  transaction and block. With witnesses configured, the default is the earliest such
  anchor whose checkpoint counts as published (a quorum of the witnesses cosigned it),
  since a verifier pinning the identity asks that quorum of the note;
- `entries`: the record (a JSON object; its canonical bytes are its RFC 8785 encoding,
  which `ledger.core.records` guarantees is exactly what the log hashed), leaf hash, leaf
  index and inclusion proof. One entry today; a list so multi-entry packs fit;
- `checkpoint_note` (when the checkpoint was signed as a C2SP note): the checkpoint as a
  signed note with the witnesses' cosignatures kept for it.

`build_tlog_proof` gives the same entry as a c2sp.org/tlog-proof@v1 instead.

Read-only: nothing here writes to the store or talks to the chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any, Literal

import rfc8785

from ledger.core.disclosure import DisclosureError, disclose, parse_disclose
from ledger.errors import (
    ErasedError,
    InvalidRequestError,
    NotAnchoredError,
    NotFoundError,
    NotPublishedError,
    NotSequencedError,
)
from ledger.formats.bundle import bundle_json
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.cosignature import CLOCK_SKEW, WitnessPolicy
from ledger.formats.note import parse_note
from ledger.formats.tlog_proof import TlogProof
from ledger.service.proofs import inclusion
from ledger.service.witness import cosigned_note_of
from ledger.store import tlog
from ledger.store.anchors import Anchor, AnchorRepository, AnchorStatus
from ledger.store.repository import Store, StoredEntry, StoreError
from ledger.store.witness import CosignatureRepository


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _entry(store: Store, leaf_hash: bytes) -> StoredEntry:
    """The stored, sequenced entry with `leaf_hash`."""
    with store.read() as conn:
        entry = store.find_entry(conn, leaf_hash)
    if entry is None:
        raise NotFoundError(f"no entry has leaf hash {_hex(leaf_hash)}")
    if entry.erased_at is not None and entry.erased_by is not None:
        raise ErasedError(
            f"entry {_hex(leaf_hash)} was erased at {entry.erased_at} (logged by record"
            f" {_hex(entry.erased_by)}): its record is gone, so no bundle can open it; its leaf"
            f" hash stays in the log and its inclusion proof still verifies (mledger prove,"
            f" GET /v1/proofs/inclusion/{_hex(leaf_hash)})"
        )
    if entry.leaf_index is None:
        raise NotSequencedError(
            f"entry {_hex(leaf_hash)} is pending: it has no leaf index yet, so no evidence"
            " (seal and anchor, then ask again)"
        )
    return entry


AnchorChoice = Literal["earliest", "latest"] | int
"""Which confirmed anchor evidence proves against: the earliest whose tree holds the
entries (the default: the tightest "existed no later than"), the latest, or the one of
a given tree size."""

ANCHOR_CHOICE_HELP = (
    "earliest (default: the first confirmed anchor whose tree holds the entry, the tightest"
    ' "existed no later than"), latest (the newest confirmed anchor), or a TREE SIZE that was'
    " anchored and confirmed"
)


def parse_anchor_choice(text: str | None) -> AnchorChoice:
    """`earliest` (also for None or ""), `latest`, or a positive decimal tree size;
    InvalidRequestError for anything else."""
    if text is None or text == "" or text == "earliest":
        return "earliest"
    if text == "latest":
        return "latest"
    if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) > 0:
        return int(text)
    raise InvalidRequestError(
        "anchor must be earliest, latest or a tree size (a positive"
        f" whole number), got {text[:80]!r}"
    )


def _complete(anchor: Anchor) -> Anchor:
    if (
        anchor.tx_hash is None
        or anchor.block_number is None
        or anchor.block_hash is None
        or anchor.block_timestamp is None
    ):
        raise StoreError(
            f"confirmed anchor of tree size {anchor.tree_size} has no"
            " block recorded: the store is damaged"
        )
    return anchor


def published_checkpoints(
    store: Store, witnesses: WitnessPolicy | None
) -> set[tuple[int, bytes]] | None:
    """The checkpoints (size, root) that count as published under the log's `witnesses`
    (a quorum of them cosigned, with no date beyond CLOCK_SKEW ahead); None when no
    witness is configured (every checkpoint counts)."""
    if witnesses is None or witnesses.quorum == 0:
        return None
    trusted = [(w.name, w.key_id) for w in witnesses.witnesses]
    latest = int(time.time()) + CLOCK_SKEW
    return CosignatureRepository(store).published_checkpoints(trusted, witnesses.quorum, 1, latest)


def choose_anchor(
    anchors: AnchorRepository,
    needed: int,
    choice: AnchorChoice,
    what: str,
    published: set[tuple[int, bytes]] | None = None,
) -> Anchor:
    """The confirmed anchor `choice` names whose tree has at least `needed` leaves (so holds
    leaf index `needed - 1`); `what` names the evidence in errors. With `published`
    (`published_checkpoints`), `earliest` is the earliest such anchor whose checkpoint
    is published (a tree size or `latest`, chosen explicitly, is taken as it is).

    Raises NotAnchoredError (no confirmed anchor holds it yet), NotPublishedError (none
    of them is published yet) or InvalidRequestError (a chosen tree size that was not
    anchored and confirmed, or that is too small).
    """
    if isinstance(choice, int):
        chosen = anchors.get(choice)
        if chosen is None or chosen.status is not AnchorStatus.CONFIRMED:
            state = (
                "was never anchored"
                if chosen is None
                else f"is {chosen.status.value}, not confirmed"
            )
            sizes = [a.tree_size for a in anchors.anchors() if a.status is AnchorStatus.CONFIRMED]
            listed = ", ".join(str(n) for n in sizes[-10:]) or "none"
            raise InvalidRequestError(
                f"anchor {choice}: tree size {choice} {state}; confirmed anchored sizes"
                f" (up to the last 10): {listed}"
            )
        if chosen.tree_size < needed:
            raise InvalidRequestError(
                f"anchor {choice}: the tree of size {choice} holds leaves 0 to {choice - 1},"
                f" but {what} needs leaf index {needed - 1}: choose a size of at least {needed}"
            )
        return _complete(chosen)
    found = (
        anchors.earliest_confirmed_from(needed)
        if choice == "earliest"
        else anchors.latest_confirmed()
    )
    if found is None or found.tree_size < needed:
        newest = anchors.latest_confirmed()
        covered = (
            "no anchor is confirmed yet"
            if newest is None
            else (
                f"the newest confirmed anchor is of tree size {newest.tree_size}"
                f" (leaves 0 to {newest.tree_size - 1})"
            )
        )
        raise NotAnchoredError(
            f"{what} has leaf index {needed - 1} but is not anchored yet:"
            f" {covered}; ask again once an anchor of a larger tree is confirmed"
        )
    if published is not None and choice == "earliest":
        return _complete(_published_anchor(anchors, needed, published, what))
    return _complete(found)


def _published_anchor(
    anchors: AnchorRepository, needed: int, published: set[tuple[int, bytes]], what: str
) -> Anchor:
    """The earliest confirmed anchor from `needed` leaves whose checkpoint is published."""
    for anchor in anchors.anchors():  # smallest tree size first
        if (
            anchor.status is AnchorStatus.CONFIRMED
            and anchor.tree_size >= needed
            and (anchor.tree_size, anchor.root) in published
        ):
            return anchor
    raise NotPublishedError(
        f"{what} is not yet published: no confirmed anchor holding leaf index {needed - 1}"
        " has a checkpoint the log's witnesses cosigned to their quorum; ask again after"
        " the next witness round, or choose the anchor (latest or a tree size) to take its"
        " note as it is"
    )


def _record(entry: StoredEntry, disclosed: Disclosed) -> Any:
    """The stored canonical record as a JSON object, checked to re-encode (RFC 8785)
    to exactly the stored bytes, so a verifier can rebuild them from the bundle; or its
    disclosure (`disclosed`)."""
    if rfc8785.dumps(json.loads(entry.record)) != entry.record:
        raise StoreError(
            f"record of entry {_hex(entry.leaf_hash)} is not in"
            " canonical form: the store is damaged"
        )
    return evidence_record(entry.record, disclosed)


Disclosed = tuple[str, ...] | None
"""Which body fields evidence opens: None for whole records (every field, and the salt), or
the names of the fields a v2 disclosure opens (`ledger.core.disclosure`), the others
withheld as digests."""

DISCLOSE_HELP = (
    "comma-separated body fields to open (e.g. account_id,model); the others are withheld as"
    " their digests, and the record's salt is never given. Only v2 records can be disclosed"
    " in part. Absent: whole records"
)


def parse_disclosed(text: str | None) -> Disclosed:
    """None (whole records) for None; else the field names of `text` (InvalidRequestError
    for a name that is no record field)."""
    if text is None:
        return None
    try:
        return parse_disclose(text)
    except DisclosureError as error:
        raise InvalidRequestError(str(error)) from None


def evidence_record(canonical: bytes, disclosed: Disclosed, required: Iterable[str] = ()) -> Any:
    """A stored record as evidence carries it: whole, or disclosed with `disclosed` and
    the fields in `required` (those the evidence's own claim reads: a completeness key's,
    a pack query's) opened. InvalidRequestError for a v1 record asked to be disclosed."""
    if disclosed is None:
        return json.loads(canonical)
    try:
        return disclose(canonical, (*disclosed, *required))
    except DisclosureError as error:
        raise InvalidRequestError(str(error)) from None


def build_evidence(
    store: Store,
    anchors: AnchorRepository,
    leaf_hash: bytes,
    anchor: AnchorChoice = "earliest",
    disclosed: Disclosed = None,
    witnesses: WitnessPolicy | None = None,
) -> dict[str, Any]:
    """The evidence bundle of the entry with `leaf_hash`, against the confirmed anchor
    `anchor` names (by default the earliest whose tree holds the entry, and whose
    checkpoint is published under the log's `witnesses` when given); with `disclosed`,
    its v2 record opens only those fields.

    Raises NotFoundError (no such entry), NotSequencedError (pending),
    NotAnchoredError (sealed, but no confirmed anchor covers it yet, or the log was
    never deployed on a chain), NotPublishedError (no such anchor is published yet) or
    InvalidRequestError (a chosen size that cannot be used).
    """
    entry = _entry(store, leaf_hash)
    deployment = anchors.deployment()
    if deployment is None:
        raise NotAnchoredError(
            f"entry {_hex(leaf_hash)} is not anchored: this log records no LogAnchor deployment"
        )
    assert entry.leaf_index is not None
    chosen = choose_anchor(
        anchors,
        entry.leaf_index + 1,
        anchor,
        f"entry {_hex(leaf_hash)}",
        published_checkpoints(store, witnesses),
    )
    proof = inclusion(store, leaf_hash, chosen.tree_size)
    if proof.root != chosen.root:
        raise StoreError(
            f"the stored tree of size {chosen.tree_size} has root {_hex(proof.root)},"
            f" but {_hex(chosen.root)} was anchored: the store is damaged"
        )
    assert chosen.tx_hash and chosen.block_hash  # checked by choose_anchor
    assert chosen.block_number is not None and chosen.block_timestamp is not None
    checkpoint = AnchoredCheckpoint(
        chosen.tree_size,
        chosen.root,
        AnchorRef(chosen.tx_hash, chosen.block_number, chosen.block_hash, chosen.block_timestamp),
    )
    return bundle_json(
        deployment.chain_id,
        deployment.contract,
        deployment.log_id,
        checkpoint,
        [(proof.leaf_index, leaf_hash, _record(entry, disclosed), proof.proof)],
        cosigned_note_of(store, chosen.tree_size, chosen.root),
    )


def build_tlog_proof(store: Store, leaf_hash: bytes) -> bytes:
    """The entry's c2sp.org/tlog-proof@v1 (docs/c2sp.md): its index, its inclusion proof
    and the cosigned checkpoint note it leads to. The checkpoint is the one holding the
    entry that most witnesses cosigned (the largest of those), else the latest; the chain
    plays no part (a bundle proves anchoring).

    Raises NotFoundError (no such entry, or no signed note for the checkpoint: sealed
    without the note key) or NotSequencedError (pending)."""
    entry = _entry(store, leaf_hash)
    assert entry.leaf_index is not None
    size = CosignatureRepository(store).most_cosigned_size(entry.leaf_index + 1)
    if size is None:
        latest = tlog.latest(store)
        assert latest is not None  # the entry is sequenced, so sealed
        size = latest.tree_size
    proof = inclusion(store, leaf_hash, size)
    note = cosigned_note_of(store, size, proof.root)
    if note is None:
        raise NotFoundError(
            f"the checkpoint of tree size {size} has no signed note: it was sealed without the"
            " note key (GET /checkpoint signs the latest once a service with the key serves it)"
        )
    return TlogProof(proof.leaf_index, tuple(proof.proof), parse_note(note)).encode()
