"""The cosigned checkpoint note an evidence bundle or pack may carry (`checkpoint_note`):
the same checkpoint as a C2SP signed note, with the witnesses' cosignatures.

Two checks, after the entries' and before the chain's, only when the document carries
the field (a document without it verifies as before, unless witnesses were asked for):

1. ``checkpoint note``: the note is signed by the pinned identity's note key (`note_vkey`,
   whose name is the origin: the note's origin line must be it), and its size and root
   are the document's checkpoint. Without a pinned note key the signature cannot be
   checked, and the line says so.
2. ``witnesses``: at least the quorum of the trusted witnesses cosigned the note
   (cosignature/v1). The trusted witnesses are the verifier's (`--witness`, `--quorum`),
   else the identity's (`witnesses`, `witness_quorum`); with neither, the line counts
   the cosignature lines and trusts none of them.
"""

from __future__ import annotations

from ledger.formats.cosignature import WitnessPolicy
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
    identity's). `max_timestamp` refuses cosignatures dated after it."""
    if note_text is None:
        if policy is not None and policy.quorum > 0:
            run.fail(
                VerificationError(
                    WITNESS_CHECK,
                    f"the {document.noun} carries no checkpoint_note: no witness cosignature"
                    f" to count (the quorum is {policy.quorum})",
                )
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
    if policy is None:
        policy = WitnessPolicy((), 0) if identity is None else identity.witness_policy()
    try:
        cosigned = policy.cosigned(note, max_timestamp)
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
    if len(cosigned) < policy.quorum:
        run.fail(VerificationError(WITNESS_CHECK, f"{counted} not met"))
    run.ok(WITNESS_CHECK, f"{counted} met")
