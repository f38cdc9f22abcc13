"""`verify_evidence`: a bundle, a pack or a completeness proof, whichever the document is
(the JSON is parsed once), verified by ledger.verify.bundle, ledger.verify.pack or
ledger.verify.completeness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.formats.bundle import BUNDLE_FORMAT, MAX_BUNDLE_BYTES
from ledger.formats.completeness import COMPLETENESS_FORMAT, MAX_COMPLETENESS_BYTES
from ledger.formats.cosignature import WitnessPolicy
from ledger.formats.fields import FormatError, load_document
from ledger.formats.identity import LogIdentity
from ledger.formats.pack import MAX_PACK_BYTES, PACK_FORMAT
from ledger.verify.bundle import verify_bundle
from ledger.verify.chain import ChainReader, start
from ledger.verify.completeness import verify_completeness
from ledger.verify.pack import verify_pack
from ledger.verify.result import BundleError, VerificationResult

READ_LIMIT = max(MAX_PACK_BYTES, MAX_COMPLETENESS_BYTES)
"""The most of a document `verify_evidence` reads: a reader of a larger file passes its
first READ_LIMIT + 1 bytes and its whole `size`."""


def verify_evidence(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
    witnesses: WitnessPolicy | None = None,
    max_timestamp: int | None = None,
    size: int | None = None,
) -> VerificationResult:
    """Verify a bundle (`model-ledger/evidence/v1`), a pack (`model-ledger/evidence-pack/v1`)
    or a completeness proof (`model-ledger/completeness/v1`), whichever `data` is, against
    the pinned `identity`; the JSON is parsed once. A bundle's or pack's checkpoint_note is
    checked against `witnesses` (None: the identity's), cosignatures dated after
    `max_timestamp` refused. `size`: the document's whole size in bytes, when `data` is
    only its beginning (a file too large to read whole)."""
    run = start(chain, identity)
    if isinstance(data, Mapping):
        obj: Any = data
        size = 0
    else:
        if size is None:
            size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        if size > READ_LIMIT:  # the words load_document says of a document it reads whole
            run.fail(BundleError(f"document is {size} bytes; the limit is {READ_LIMIT}"))
        try:
            obj = load_document(data, READ_LIMIT, "document")
        except FormatError as error:
            run.fail(BundleError(str(error)))
    if isinstance(obj, Mapping) and obj.get("format") == PACK_FORMAT:
        return verify_pack(obj, chain, identity, witnesses, max_timestamp)
    if isinstance(obj, Mapping) and obj.get("format") == COMPLETENESS_FORMAT:
        # Read above under the pack's larger limit: one past the completeness limit goes
        # as its bytes, which verify_completeness refuses (as the page does) unparsed.
        too_large = size > MAX_COMPLETENESS_BYTES and not isinstance(data, Mapping)
        return verify_completeness(data if too_large else obj, chain, identity)
    if isinstance(obj, Mapping) and "format" in obj and obj["format"] != BUNDLE_FORMAT:
        run.fail(
            BundleError(
                f"unknown format {obj['format']!r:.80}; this verifier reads {BUNDLE_FORMAT!r},"
                f" {PACK_FORMAT!r} and {COMPLETENESS_FORMAT!r}"
            )
        )
    if size > MAX_BUNDLE_BYTES:
        run.fail(BundleError(f"bundle is {size} bytes; the limit is {MAX_BUNDLE_BYTES}"))
    if not isinstance(obj, Mapping):
        run.fail(BundleError(f"a bundle is a JSON object, got {type(obj).__name__}"))
    return verify_bundle(obj, chain, identity, witnesses, max_timestamp)
