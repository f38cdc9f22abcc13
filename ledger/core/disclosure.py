"""Selective disclosure of v2 records: open some body fields, withhold the others.

A v2 record's leaf commits to one salted digest per body field (`ledger.core.commitment`).
A disclosure is a JSON object that rebuilds that leaf while opening only chosen fields::

    {"body": {disclosed values}, "field_salts": {disclosed name: 64 hex},
     "kind": ..., "ts": ..., "v": 2, "withheld": {withheld name: 64 hex digest}}

- ``field_salts`` names the disclosed fields, each with its own 32-byte salt; a disclosed
  field absent from the record is in ``field_salts`` and not in ``body`` (committed as
  ``null``); the record's salt is never disclosed (it would open every field);
- ``withheld`` holds the digest of each other field of the kind;
- every field of the kind (`ledger.core.records.BODY_FIELDS`) is in exactly one of the two.

`disclose` writes one from a stored record; `open_record` reads a record as evidence
carries it, whole (v1 or v2) or disclosed, and returns what it opens and its leaf hash.
Pure: no I/O. Specified in docs/evidence-format.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import to_json

from ledger.core.commitment import commitment_leaf_hash, field_digest
from ledger.core.errors import InputError
from ledger.core.records import (
    BODIES,
    BODY_FIELDS,
    KINDS,
    LOOKUP_FIELDS,
    MAX_RECORD_BYTES,
    TS_PATTERN,
    Entry,
    RecordError,
    describe_error,
    field_digests,
    validate_canonical,
)

DISCLOSURE_FIELDS = ("body", "field_salts", "kind", "ts", "v", "withheld")
"""The fields of a disclosed record, all required, in RFC 8785 order."""

MAX_DISCLOSURE_BYTES = MAX_RECORD_BYTES + 4_096
"""Largest disclosed record (RFC 8785 text): a record's values, plus a salt or a digest
for each of at most 11 fields."""

MAX_DISCLOSE_NAMES = 64
"""Most field names a disclosure request may list."""

_HEX64 = "0123456789abcdef"
_TS = re.compile(TS_PATTERN)


def _adapter(info: FieldInfo) -> TypeAdapter[Any]:
    form: Any = info.annotation
    if info.metadata:
        form = Annotated[(form, *info.metadata)]
    return TypeAdapter(form)


_ADAPTERS: dict[str, dict[str, TypeAdapter[Any]]] = {
    kind: {name: _adapter(info) for name, info in model.model_fields.items()}
    for kind, model in BODIES.items()
}
"""Record kind -> field name -> a validator of the field's value alone (strict, like the
body models: the nested models carry their own strict configuration)."""


class DisclosureError(InputError):
    """A disclosure that cannot be made: not a v2 record, or a name that is no field."""


@dataclass(frozen=True)
class OpenedRecord:
    """A record as evidence carries it, checked: what it opens and the leaf it rebuilds.

    `body` holds the disclosed fields' values (all of them for a whole record);
    `disclosed` and `withheld` list field names (for v1, every field of the body is
    disclosed and none withheld); `size` is the bytes of its RFC 8785 text."""

    version: int
    kind: str
    ts: str
    record: dict[str, Any]
    body: dict[str, Any]
    disclosed: tuple[str, ...]
    withheld: tuple[str, ...]
    leaf_hash: bytes
    size: int

    def as_entry(self) -> Entry:
        """The record's `Entry` (lookup columns of withheld fields None; no stored bytes
        for a disclosure), as the pack query and the index read it."""
        external_id, account_id, model = (
            None if name is None else self.body.get(name) for name in LOOKUP_FIELDS[self.kind]
        )
        return Entry(self.leaf_hash, self.kind, self.ts, external_id, account_id, model, b"")

    @property
    def whole(self) -> bool:
        """Whether every field is open (a whole record, not a disclosure)."""
        return not self.withheld and "field_salts" not in self.record


def is_disclosure(record: dict[str, Any]) -> bool:
    """Whether `record` is written as a disclosure (it has field salts or withheld
    digests) rather than a whole record."""
    return "field_salts" in record or "withheld" in record


def parse_disclose(text: str) -> tuple[str, ...]:
    """Field names from ``account_id,model`` (comma-separated, spaces around names
    ignored, repeats dropped; an empty text discloses no field). DisclosureError names a
    bad one."""
    names = [part.strip() for part in text.split(",")] if text.strip() else []
    if len(names) > MAX_DISCLOSE_NAMES:
        raise DisclosureError(f"disclose lists {len(names)} names; at most {MAX_DISCLOSE_NAMES}")
    known = {name for fields in BODY_FIELDS.values() for name in fields}
    for name in names:
        if name not in known:
            raise DisclosureError(
                f"disclose: {name[:80]!r} is not a record field; fields are"
                f" {', '.join(sorted(known))}"
            )
    return tuple(dict.fromkeys(names))


def disclose(canonical: bytes, names: Iterable[str]) -> dict[str, Any]:
    """The disclosure of stored v2 record `canonical` opening the fields `names` (those
    of other kinds are ignored, so one list serves a pack of several kinds).

    DisclosureError for a v1 record (one salt over the whole envelope: it can only be
    disclosed whole)."""
    entry = validate_canonical(canonical)
    record = json.loads(canonical)
    if record["v"] != 2:
        raise DisclosureError(
            f"entry 0x{entry.leaf_hash.hex()} is a v1 record: one salted hash covers all its"
            " fields, so it can only be disclosed whole (omit disclose)"
        )
    wanted = set(names)
    body: dict[str, Any] = {}
    salts: dict[str, str] = {}
    withheld: dict[str, str] = {}
    for opening in field_digests(record["kind"], bytes.fromhex(record["salt"]), record["body"]):
        if opening.name in wanted:
            salts[opening.name] = opening.salt.hex()
            if opening.name in record["body"]:
                body[opening.name] = record["body"][opening.name]
        else:
            withheld[opening.name] = opening.digest.hex()
    return {
        "body": body,
        "field_salts": salts,
        "kind": record["kind"],
        "ts": record["ts"],
        "v": 2,
        "withheld": withheld,
    }


def _hex32(value: Any, where: str) -> bytes:
    if not (isinstance(value, str) and len(value) == 64 and all(c in _HEX64 for c in value)):
        raise RecordError(where, f"not 32 bytes in 64 lowercase hex digits: {value!r:.80}")
    return bytes.fromhex(value)


def _names(record: dict[str, Any], part: str, kind: str) -> dict[str, bytes]:
    value = record[part]
    if not isinstance(value, dict):
        raise RecordError(part, "Input should be an object")
    fields = BODY_FIELDS[kind]
    out = {}
    for name in sorted(value):
        if name not in fields:
            raise RecordError(
                f"{part}.{name}", f"not a field of {kind} records ({', '.join(fields)})"
            )
        out[name] = _hex32(value[name], f"{part}.{name}")
    return out


def _value(kind: str, name: str, value: Any) -> bytes:
    """The RFC 8785 text of disclosed field `name`, validated as the body model does."""
    where = f"body.{name}"
    if value is None:
        raise RecordError(where, "null: a disclosed absent field has a salt and no value")
    adapter = _ADAPTERS[kind][name]
    try:
        held = adapter.validate_python(value, strict=True)
    except ValidationError as error:
        problem = describe_error(error)
        raise RecordError(
            where + (f".{problem.field}" if problem.field else ""), problem.message
        ) from None
    written = adapter.dump_python(held, mode="json", exclude_none=True)
    if written != value or type(written) is not type(value):
        raise RecordError(where, "valid but not in canonical form (a null or a default written)")
    return to_json(written)


def open_disclosure(record: dict[str, Any], size: int) -> OpenedRecord:
    """Check a disclosed record (its RFC 8785 text is `size` bytes) and rebuild its leaf.
    RecordError names the field at fault."""
    if size > MAX_DISCLOSURE_BYTES:
        raise RecordError(
            "", f"disclosed record is {size} bytes; the limit is {MAX_DISCLOSURE_BYTES}"
        )
    for name in DISCLOSURE_FIELDS:
        if name not in record:
            raise RecordError(name, "field required")
    for name in sorted(record):
        if name not in DISCLOSURE_FIELDS:
            raise RecordError(name, "unknown field")
    if record["v"] != 2 or isinstance(record["v"], bool):
        raise RecordError("v", "Input should be 2: only v2 records can be disclosed in part")
    kind = record["kind"]
    if kind not in KINDS:
        raise RecordError("kind", f"unknown kind {kind!r:.80}; expected one of {', '.join(KINDS)}")
    ts = record["ts"]
    if not isinstance(ts, str) or not _TS.fullmatch(ts):
        raise RecordError("ts", f"not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ: {ts!r:.80}")
    salts = _names(record, "field_salts", kind)
    withheld = _names(record, "withheld", kind)
    body = record["body"]
    if not isinstance(body, dict):
        raise RecordError("body", "Input should be an object")
    for name in sorted(body):
        if name not in salts:
            raise RecordError(f"body.{name}", "a value without its salt in field_salts")
    digests = []
    for name in BODY_FIELDS[kind]:
        if name in salts and name in withheld:
            raise RecordError(f"withheld.{name}", "both disclosed and withheld")
        if name in withheld:
            digests.append((name, withheld[name]))
        elif name in salts:
            text = _value(kind, name, body[name]) if name in body else b"null"
            digests.append((name, field_digest(salts[name], name, text)))
        else:
            raise RecordError(
                "withheld",
                f"{name} is neither disclosed nor withheld: a v2 {kind} record commits to"
                f" {len(BODY_FIELDS[kind])} fields",
            )
    return OpenedRecord(
        version=2,
        kind=kind,
        ts=ts,
        record=record,
        body=dict(body),
        disclosed=tuple(name for name in BODY_FIELDS[kind] if name in salts),
        withheld=tuple(name for name in BODY_FIELDS[kind] if name in withheld),
        leaf_hash=commitment_leaf_hash(kind, ts, digests),
        size=size,
    )


def open_whole(record: dict[str, Any], canonical: bytes) -> OpenedRecord:
    """A whole record (v1 or v2) whose RFC 8785 text is `canonical`: validated as stored
    (`validate_canonical`, RecordError otherwise) and opened in full."""
    entry = validate_canonical(canonical)
    body = record["body"]
    return OpenedRecord(
        version=int(record["v"]),
        kind=entry.kind,
        ts=entry.ts,
        record=record,
        body=dict(body),
        disclosed=BODY_FIELDS[entry.kind],
        withheld=(),
        leaf_hash=entry.leaf_hash,
        size=len(canonical),
    )
