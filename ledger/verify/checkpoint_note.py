"""The cosigned checkpoint note an evidence bundle or pack may carry (`checkpoint_note`):
the same checkpoint as a C2SP signed note, with the witnesses' cosignatures.

Two checks, after the entries' and before the chain's, when the document carries the
field, or when witnesses are asked for (by the verifier or by the pinned identity): a
document without the note then fails `witnesses`, unless the verifier's own quorum is 0.

1. ``checkpoint note``: the note is signed by the pinned identity's note key (`note_vkey`,
   whose name is the origin: the note's origin line must be it), and its size and root
   are the document's checkpoint. Without a pinned note key the signature cannot be
   checked, and the line says so.
2. ``witnesses``: at least the quorum of the trusted witnesses cosigned the note
   (cosignature/v1). The trusted witnesses are the verifier's (`--witness`, `--quorum`),
   else the identity's (`witnesses`, `witness_quorum`); with neither, the line counts
   the cosignature lines and trusts none of them. A witness whose key is the log's note
   key witnesses nothing and fails the check; a cosignature dated after `max_timestamp`
   is left out of the count, and the line names it.
"""

from __future__ import annotations

from ledger.formats.cosignature import WitnessPolicy, left_out, shares_log_key
from ledger.formats.fields import hex0x
from ledger.formats.identity import LogIdentity
from ledger.formats.note import NoteError, note_verifier, parse_note
from ledger.formats.tlog_checkpoint import open_checkpoint, parse_checkpoint
from ledger.verify.result import Checkpointed, Run, VerificationError

NOTE_CHECK = "checkpoint note"
WITNESS_CHECK = "witnesses"


def check_checkpoint_note(
    run: Run,
    document: Checkpointed,
    note_text: str | None,
    identity: LogIdentity | None,
    policy: WitnessPolicy | None,
    max_timestamp: int | None = None,
) -> None:
    """Check `note_text` (the document's `checkpoint_note`, None: absent) against the
    document's checkpoint, the identity's note key and the witness `policy` (None: the
    identity's). Cosignatures dated after `max_timestamp` are left out of the count."""
    given = policy is not None
    if policy is None:
        policy = WitnessPolicy((), 0) if identity is None else identity.witness_policy()
    if note_text is None:
        if given and policy.quorum > 0:
            run.fail(
                VerificationError(
                    WITNESS_CHECK,
                    f"the {document.noun} carries no checkpoint_note: no witness cosignature"
                    f" to count (the quorum is {policy.quorum})",
                )
            )
        if policy.quorum > 0:
            run.fail(
                VerificationError(
                    WITNESS_CHECK,
                    f"the log's identity requires {policy.quorum} witnesses' cosignatures and"
                    f" this {document.noun} carries no cosigned checkpoint note",
                )
            )
        if given and policy.witnesses:
            run.ok(
                WITNESS_CHECK,
                f"the {document.noun} carries no checkpoint_note: no cosignature counted, as"
                " the verifier's quorum 0 asks",
            )
        return
    note = parse_note(note_text)  # the format checked it parses
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.size != document.tree_size or checkpoint.root != document.root:
        run.fail(
            VerificationError(
                NOTE_CHECK,
                f"the note is of tree size {checkpoint.size} with root"
                f" {hex0x(checkpoint.root)}, not the {document.noun}'s checkpoint"
                f" (size {document.tree_size}, root {hex0x(document.root)})",
            )
        )
    vkey = None if identity is None else identity.note_vkey
    if vkey is None:
        signed = "its log signature NOT checked (no pinned identity with a note_vkey)"
    else:
        origin = vkey.partition("+")[0]
        try:
            open_checkpoint(note, origin, [note_verifier(vkey)])
        except NoteError as error:
            run.fail(VerificationError(NOTE_CHECK, str(error)))
        signed = "signed by the pinned log's note key"
    run.ok(
        NOTE_CHECK,
        f"{checkpoint.origin}, tree size {checkpoint.size}: the {document.noun}'s"
        f" checkpoint, {signed}",
    )
    try:
        if vkey is not None:
            shares_log_key(policy, [note_verifier(vkey)])
        cosigned, late = policy.counted(note, max_timestamp)
    except NoteError as error:
        run.fail(VerificationError(WITNESS_CHECK, str(error)))
    if not policy.witnesses:
        lines = len(note.signatures) - 1
        run.ok(
            WITNESS_CHECK,
            f"{lines} cosignature line(s), none checked: no trusted witness (no --witness,"
            " none in the pinned identity)",
        )
        return
    names = ", ".join(c.name for c in cosigned) or "none"
    counted = (
        f"{len(cosigned)} of the {len(policy.witnesses)} trusted witnesses cosigned the"
        f" checkpoint ({names}); quorum {policy.quorum}"
    )
    late_words = left_out(late, max_timestamp)
    if len(cosigned) < policy.quorum:
        run.fail(VerificationError(WITNESS_CHECK, f"{counted} not met{late_words}"))
    run.ok(WITNESS_CHECK, f"{counted} met{late_words}")
