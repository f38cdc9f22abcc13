"""Per-field commitments of a v2 record: the bytes its leaf hash commits to.

FROZEN, like `ledger.core.records`: every v2 leaf hash, proof and anchor commits to what
this module computes. Specified for reimplementation in docs/evidence-format.md.

A v2 record holds the same envelope as v1 (``body``, ``kind``, ``salt``, ``ts``, ``v``
= 2). Its leaf does not hash the envelope whole; it hashes one digest per body field,
so that evidence can open any subset of the fields and still rebuild the same leaf:

- every field of the kind's body is committed, present or not (an absent optional field
  is committed as JSON ``null``), so the leaf does not reveal which optional fields a
  record has; the field names of each kind are fixed (`ledger.core.records.BODY_FIELDS`);
- the fields' salts are ``SHAKE-256(record salt || FIELD_SALTS_LABEL || kind)`` read to
  32 bytes per field of the kind, the i-th 32 bytes for the i-th field name: disclosing a
  field discloses its own salt, from which no other field's salt can be derived (the
  output of an extendable-output function keyed by the 16 secret bytes of the record
  salt, which never leaves the log), so a withheld low-entropy field (an account id, a
  model) cannot be guessed from its digest; one SHAKE call per record, not one keyed
  hash per field, keeps v2 ingest near v1's;
- a field's digest is ``SHA-256(field salt || JCS([name, value]))``: the 32-byte salt
  first, then the RFC 8785 text of a two-item array of the field's name and value;
- the leaf hash is ``SHA-256(0x00 || JCS({"fields": {name: hex digest, ...}, "kind":
  kind, "ts": ts, "v": 2}))``, an RFC 9162 leaf: kind and time stay open in every
  disclosure (the log files and orders entries by them); the record salt itself is not
  in the leaf, the field salts derived from it are.

Pure: hashing and byte assembly only; no I/O, no project imports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

FIELD_SALTS_LABEL = b"model-ledger/v2/field-salts\x00"
"""What follows the record salt in the SHAKE-256 input that gives the field salts."""

FIELD_SALT_SIZE = 32
"""Bytes in a field salt."""

NULL = b"null"
"""The RFC 8785 text a field absent from the body is committed as."""


def field_salts(salt: bytes, kind: str, count: int) -> bytes:
    """The salts of the `count` fields of a `kind` record whose salt is `salt` (16 bytes),
    one after the other, 32 bytes each, in the order of the kind's field names:
    SHAKE-256(salt || FIELD_SALTS_LABEL || UTF-8(kind)) read to 32 x `count` bytes."""
    return hashlib.shake_256(salt + FIELD_SALTS_LABEL + kind.encode()).digest(
        FIELD_SALT_SIZE * count
    )


def field_digest(salt_of_field: bytes, name: str, value_jcs: bytes) -> bytes:
    """The digest committing to field `name` with value `value_jcs` (its RFC 8785 text,
    ``null`` when absent) under the field's own salt. Names are ASCII identifiers, so
    ``["name",`` is their RFC 8785 text."""
    return hashlib.sha256(salt_of_field + b'["' + name.encode() + b'",' + value_jcs + b"]").digest()


class _Layout(NamedTuple):
    """What `leaf_hash_of` needs of a kind, made once per kind: its field names, the
    SHAKE input after the record salt and the bytes to read; per field, its salt's slice
    and its digest's text before the value; the leaf's input as a %-template of the hex
    digests and ts."""

    names: tuple[str, ...]
    label: bytes
    size: int
    openings: tuple[tuple[int, int, bytes], ...]
    template: str


_LAYOUTS: dict[str, _Layout] = {}


def _layout(kind: str, names: tuple[str, ...]) -> _Layout:
    fields = ",".join(f'"{n}":"%s"' for n in names)
    layout = _Layout(
        names,
        FIELD_SALTS_LABEL + kind.encode(),
        FIELD_SALT_SIZE * len(names),
        tuple(
            (FIELD_SALT_SIZE * i, FIELD_SALT_SIZE * (i + 1), b'["' + n.encode() + b'",')
            for i, n in enumerate(names)
        ),
        '\x00{"fields":{' + fields + '},"kind":"' + kind + '","ts":"%s","v":2}',
    )
    _LAYOUTS[kind] = layout
    return layout


def leaf_hash_of(
    kind: str, ts: str, salt: bytes, names: tuple[str, ...], values: Sequence[bytes]
) -> bytes:
    """The leaf hash of a v2 record from its fields' `names` and RFC 8785 `values`
    (``null`` when absent), its kind, time and salt: `field_salts`, `field_digest` and
    `commitment_leaf_hash` in one loop (ingest's path; `tests/core/test_disclosure.py`
    holds it equal to them and to an independent reference).

    Ingest runs it once per record, so it does the least Python per field: one SHAKE
    call gives every salt, each field's input is built by concatenating bytes (which the
    garbage collector does not track, unlike a tuple to join) and hashed once, and one
    %-format builds the leaf's input; the kind's layout is found by the kind alone."""
    layout = _LAYOUTS.get(kind)
    if layout is None or (layout.names is not names and layout.names != names):
        layout = _layout(kind, names)
    salts = hashlib.shake_256(salt + layout.label).digest(layout.size)
    sha256 = hashlib.sha256
    digests = [
        sha256(salts[start:end] + opening + value + b"]").hexdigest()
        for (start, end, opening), value in zip(layout.openings, values, strict=True)
    ]
    digests.append(ts)
    return sha256((layout.template % tuple(digests)).encode()).digest()


def leaf_hasher(
    kind: str, names: tuple[str, ...], to_json: Callable[[Any], bytes]
) -> Callable[[bytes, str, Mapping[str, Any]], bytes]:
    """`leaf_hash_of` for one kind, as ingest calls it once per record: a function of
    (record salt, ts, body fields by name) that serializes each field present with
    `to_json` (its RFC 8785 text) and commits to it, ``null`` for one absent.

    The function is written out for the kind's fields (the layout's constants in its
    text, one statement per field, like the methods `dataclasses` writes), so the only
    Python per field is reading it and one hash: a fifth less time per v2 record than
    looping over the fields. Names are the kind's fixed ASCII field names, and every
    constant is written with repr(): the text is code only of this module's making.
    `tests/core/test_disclosure.py` holds it equal to `leaf_hash_of`."""
    layout = _LAYOUTS.get(kind)
    if layout is None or layout.names != names:
        layout = _layout(kind, names)
    lines = [
        "def leaf(salt, ts, fields):",
        f"    s = shake(salt + {layout.label!r}).digest({layout.size})",
    ]
    for i, (name, (start, end, opening)) in enumerate(zip(names, layout.openings, strict=True)):
        if not name.isidentifier() or not name.isascii():
            raise ValueError(f"field name {name!r} is not an ASCII identifier")
        absent, present = opening + NULL + b"]", opening
        lines.append(f"    x = fields[{name!r}]")
        lines.append(
            f"    h{i} = sha256(s[{start}:{end}] + ({absent!r} if x is None"
            f" else {present!r} + to_json(x) + b']')).hexdigest()"
        )
    hexes = "".join(f"h{i}, " for i in range(len(names)))
    lines.append(f"    return sha256(({layout.template!r} % ({hexes}ts)).encode()).digest()")
    namespace: dict[str, Any] = {
        "shake": hashlib.shake_256,
        "sha256": hashlib.sha256,
        "to_json": to_json,
    }
    exec("\n".join(lines), namespace)  # noqa: S102 - code of constants made above
    function: Callable[[bytes, str, Mapping[str, Any]], bytes] = namespace["leaf"]
    return function


def commitment_bytes(kind: str, ts: str, digests: Iterable[tuple[str, bytes]]) -> bytes:
    """The RFC 8785 text the leaf hashes: `digests` are (name, digest) in name order (the
    order of ASCII names that RFC 8785 sorts them in); kind and ts are ASCII."""
    fields = b",".join(
        b'"' + name.encode() + b'":"' + d.hex().encode() + b'"' for name, d in digests
    )
    return (
        b'{"fields":{'
        + fields
        + b'},"kind":"'
        + kind.encode()
        + b'","ts":"'
        + ts.encode()
        + b'","v":2}'
    )


def commitment_leaf_hash(kind: str, ts: str, digests: Iterable[tuple[str, bytes]]) -> bytes:
    """The RFC 9162 leaf hash of a v2 record: SHA-256(0x00 || `commitment_bytes`)."""
    return hashlib.sha256(b"\x00" + commitment_bytes(kind, ts, digests)).digest()
