"""The export format: the log as NDJSON, one line per sequenced entry, in index order.

Pure: the operator's side (`mledger export`, `GET /v1/export`) writes lines with
`export_line`, the auditor's side (`mledger audit`) reads them with `parse_export_line`.
Each line is exactly::

    {"leaf_index":<i>,"record":<the canonical record>}\\n

where the record is the entry's canonical bytes (RFC 8785) exactly as the log hashed
them, so the line is itself in canonical form and the leaf hash is
SHA-256(0x00 || the bytes between ``"record":`` and the final ``}``). Lines come in
leaf index order, 0 to n-1 for a whole export.

An erased entry (docs/privacy.md), whose record the operator destroyed, is its leaf
hash with an erasure marker instead, also in canonical form::

    {"erased":{"at":"<ts>","by":"0x<64 hex>","keys":["0x<64 hex>",...],
     "leaf_hash":"0x<64 hex>"},"leaf_index":<i>}\n

(one line). ``at`` is when it was erased (record time form), ``by`` the leaf hash of
the digest record that logged the erasure (a later entry of the same log), ``keys`` the
hashes of the index keys the entry was filed under (SHA-256 of each key string, the
index's own map keys, in increasing order; none for a digest record), so an audit can
still re-derive every index root (`ledger.verify.audit`) without the record.

A digest record that logs one of the service's statements (an erasure, a legal hold or
its lift: `ledger.formats.statement`) carries the statement after its record, in its
canonical form (RFC 8785), so an audit can check the record's ``sha256`` against it
and, for an erasure, recompute from the export's erased lines what it commits to::

    {"leaf_index":<i>,"record":<the canonical record>,"statement":<canonical statement>}\n
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import NoReturn

from ledger.core.errors import InputError
from ledger.core.index import MAX_ENTRY_KEYS
from ledger.core.records import MAX_RECORD_BYTES, TS_PATTERN
from ledger.formats.statement import statement_bytes

EXPORT_MEDIA_TYPE = "application/x-ndjson"
"""Content type of an export over HTTP."""

_PREFIX = b'{"leaf_index":'
_MIDDLE = b',"record":'
_STATEMENT = b',"statement":'
MAX_STATEMENT_BYTES = 4096
"""Longest statement an export line carries (a reason is at most 1,024 characters)."""
MAX_LINE_BYTES = MAX_RECORD_BYTES + MAX_STATEMENT_BYTES + 64
"""Longest export line read: the longest record and statement plus the line's frame."""


MAX_INDEX_DIGITS = 20
"""Most digits of a leaf index: 2^64 - 1 has 20."""


_EXPORT_START = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"(?:leaf_index|erased)"\s*:')
"""An export's first line, however laid out (an entry's or an erased entry's): no
bundle, pack or proof starts so."""


def is_export(data: bytes) -> bool:
    """Whether `data` is an export (its first line an export line, however laid out)
    rather than one evidence document: what `mledger verify` and the verification page
    (verify-documents.js isExport, the same rule) send to `mledger audit`."""
    return _EXPORT_START.match(data[:256]) is not None


def export_advice(reader: str) -> str:
    """What `reader` ("mledger verify", "this page") says of an export: the page says the
    same words (verify-documents.js exportAdvice)."""
    return (
        f"this is a log export (NDJSON, one entry per line), which {reader} does not audit:"
        " run `mledger audit FILE --log log.json --rpc-url URL`"
    )


class ExportLineError(InputError):
    """A line that is not an export line; the message says why."""


@dataclass(frozen=True)
class Logged:
    """A digest record with the statement it logs (both canonical bytes)."""

    record: bytes
    statement: bytes


@dataclass(frozen=True)
class Erased:
    """An erased entry as an export carries it: its leaf hash, when it was erased, the
    leaf hash of the digest record that logged the erasure, and the hashes of the index
    keys it was filed under (in increasing order)."""

    leaf_hash: bytes
    erased_at: str
    erased_by: bytes
    key_hashes: tuple[bytes, ...] = ()


_HASH = rb'"0x[0-9a-f]{64}"'
_ERASED = re.compile(
    rb'\{"erased":\{"at":"(' + TS_PATTERN[1:-1].encode() + rb')","by":"0x([0-9a-f]{64})",'
    rb'"keys":\[((?:'
    + _HASH
    + rb"(?:,"
    + _HASH
    + rb"){0,%d})?)\]," % (MAX_ENTRY_KEYS - 1)
    + rb'"leaf_hash":"0x([0-9a-f]{64})"\},"leaf_index":(0|[1-9][0-9]{0,19})\}'
)
ERASED_PREFIX = b'{"erased":'
"""How an erased entry's line starts."""


def export_line(leaf_index: int, record: bytes | Erased | Logged) -> bytes:
    """The export line (newline included) of the entry at `leaf_index` whose canonical
    record bytes are `record`, or which was erased, or which logs a statement."""
    if isinstance(record, Logged):
        return b'{"leaf_index":%d,"record":%s,"statement":%s}\n' % (
            leaf_index,
            record.record,
            record.statement,
        )
    if isinstance(record, Erased):
        keys = b",".join(b'"0x%s"' % key.hex().encode() for key in sorted(record.key_hashes))
        return (
            b'{"erased":{"at":"%s","by":"0x%s","keys":[%s],"leaf_hash":"0x%s"},"leaf_index":%d}\n'
            % (
                record.erased_at.encode(),
                record.erased_by.hex().encode(),
                keys,
                record.leaf_hash.hex().encode(),
                leaf_index,
            )
        )
    return b'{"leaf_index":%d,"record":%s}\n' % (leaf_index, record)


def parse_erased_line(line: bytes) -> tuple[int, Erased]:
    """(leaf index, erasure marker) of an erased entry's line (without its newline),
    laid out exactly as `export_line` writes it; ExportLineError otherwise."""
    match = _ERASED.fullmatch(line)
    if match is None:
        raise ExportLineError(
            "not an erased entry's export line: expected exactly"
            ' {"erased":{"at":"<record time>","by":"0x<64 hex>","keys":[<0 to'
            f' {MAX_ENTRY_KEYS} "0x<64 hex>">],"leaf_hash":"0x<64 hex>"}},"leaf_index":<i>}}'
            " (no spaces, lowercase hex)"
        )
    at, by, keys, leaf, index = match.groups()
    hashes = tuple(bytes.fromhex(key[3:-1].decode()) for key in keys.split(b",") if key)
    if any(a >= b for a, b in pairwise(hashes)):
        raise ExportLineError(
            "an erased entry's keys must be distinct and in increasing order (one way to"
            " write a line)"
        )
    return int(index), Erased(
        bytes.fromhex(leaf.decode()), at.decode(), bytes.fromhex(by.decode()), hashes
    )


def parse_export_line(line: bytes) -> tuple[int, bytes]:
    """(leaf index, record bytes) of one line (`parse_logged_line` without the
    statement)."""
    index, record, _ = parse_logged_line(line)
    return index, record


def _split_statement(tail: bytes) -> tuple[bytes, bytes | None]:
    """(record, statement or None) of what follows ``"record":`` on a line. The
    statement is the last top-level member: a canonical JSON object after the record's
    own closing brace (inside a record a quote after a comma is never escaped away, but
    a metadata key may be named "statement": only a whole canonical object ending the
    line counts)."""
    cut = tail.rfind(_STATEMENT + b"{")
    if cut < 0:
        return tail, None
    candidate = tail[cut + len(_STATEMENT) :]
    try:
        value = json.loads(candidate, parse_float=_reject, parse_constant=_reject)
        canonical = statement_bytes(value) if isinstance(value, dict) else None
    except (ValueError, TypeError, RecursionError, ExportLineError):
        return tail, None
    if canonical != candidate:
        return tail, None
    if len(candidate) > MAX_STATEMENT_BYTES:
        raise ExportLineError(
            f"the statement is {len(candidate)} bytes; at most {MAX_STATEMENT_BYTES}"
        )
    return tail[:cut], candidate


def parse_logged_line(line: bytes) -> tuple[int, bytes, bytes | None]:
    """(leaf index, record bytes, statement bytes or None) of one line (without its
    newline), cut apart without parsing the record: the record bytes are returned
    exactly as they are, and the caller checks they are a canonical record (and that
    the statement is the one its digest record commits to).

    The line must be laid out exactly as `export_line` writes it. Any other line is
    refused with the reason: not JSON, other fields, or the same fields laid out
    another way (spaces, key order), which is not the canonical export form.
    """
    if len(line) > MAX_LINE_BYTES:
        raise ExportLineError(
            f"line is longer than {MAX_LINE_BYTES} bytes, the most a record and its statement take"
        )
    if line.startswith(_PREFIX) and line.endswith(b"}"):
        cut = line.find(_MIDDLE, len(_PREFIX))
        digits = line[len(_PREFIX) : cut]
        if cut > 0 and digits.isdigit() and (digits == b"0" or not digits.startswith(b"0")):
            if len(digits) > MAX_INDEX_DIGITS:
                raise ExportLineError(
                    f"leaf_index has {len(digits)} digits: no log holds 2^64 entries"
                )
            tail = line[cut + len(_MIDDLE) : -1]
            if _STATEMENT not in tail:
                return int(digits), tail, None
            return (int(digits), *_split_statement(tail))
    _diagnose(line)


def _reject(text: str) -> NoReturn:
    raise ExportLineError(f"{text} is not allowed: records hold integers only")


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise ExportLineError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def _diagnose(line: bytes) -> NoReturn:
    """Raise ExportLineError saying why `line` is not an export line."""
    try:
        obj = json.loads(
            line, object_pairs_hook=_pairs, parse_float=_reject, parse_constant=_reject
        )
    except ExportLineError:
        raise
    except (ValueError, RecursionError) as error:
        raise ExportLineError(f"not valid JSON: {error}".splitlines()[0]) from None
    if not isinstance(obj, dict) or set(obj) - {"statement"} != {"leaf_index", "record"}:
        raise ExportLineError(
            'not an export line: expected {"leaf_index": <integer>, "record": {...}}'
            ' (and "statement": {...} for a digest record that logs one)'
        )
    index, record = obj["leaf_index"], obj["record"]
    if type(index) is not int or index < 0:
        raise ExportLineError(f"leaf_index must be a non-negative integer, got {index!r:.40}")
    if not isinstance(record, dict):
        raise ExportLineError("record must be a JSON object")
    raise ExportLineError(
        f"leaf index {index}: the line is not in the export's canonical form"
        ' {"leaf_index":<i>,"record":<canonical record>} (no spaces, leaf_index first)'
    )
