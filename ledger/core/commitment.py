"""Per-field commitments of a v2 record: the bytes its leaf hash commits to.

FROZEN, like `ledger.core.records`: every v2 leaf hash, proof and anchor commits to what
this module computes. Specified for reimplementation in docs/evidence-format.md.

A v2 record holds the same envelope as v1 (``body``, ``kind``, ``salt``, ``ts``, ``v``
= 2). Its leaf does not hash the envelope whole; it hashes one digest per body field,
so that evidence can open any subset of the fields and still rebuild the same leaf:

- every field of the kind's body is committed, present or not (an absent optional field
  is committed as JSON ``null``), so the leaf does not reveal which optional fields a
  record has; the field names of each kind are fixed (`ledger.core.records.BODY_FIELDS`);
- a field's salt is ``HMAC-SHA-256(key = the record's 16 salt bytes, message =
  FIELD_SALT_LABEL || UTF-8(name))``: disclosing one field discloses its own salt, from
  which no other field's salt can be derived (HMAC is a PRF keyed by the record salt,
  which never leaves the log), so a withheld low-entropy field (an account id, a model)
  cannot be guessed from its digest;
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
import hmac
from collections.abc import Iterable

FIELD_SALT_LABEL = b"model-ledger/v2/field-salt\x00"
"""What an HMAC of the record salt signs, before a field's name, to give the field's salt."""

FIELD_SALT_SIZE = 32
"""Bytes in a field salt (an HMAC-SHA-256 output)."""

NULL = b"null"
"""The RFC 8785 text a field absent from the body is committed as."""


def field_salt(salt: bytes, name: str) -> bytes:
    """The salt of field `name` of a record whose salt is `salt` (16 bytes)."""
    return hmac.digest(salt, FIELD_SALT_LABEL + name.encode(), "sha256")


def field_digest(salt_of_field: bytes, name: str, value_jcs: bytes) -> bytes:
    """The digest committing to field `name` with value `value_jcs` (its RFC 8785 text,
    ``null`` when absent) under the field's own salt. Names are ASCII identifiers, so
    ``["name",`` is their RFC 8785 text."""
    return hashlib.sha256(salt_of_field + b'["' + name.encode() + b'",' + value_jcs + b"]").digest()


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
