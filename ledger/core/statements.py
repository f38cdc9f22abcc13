"""Which records are the log's own statement records (docs/privacy.md).

The log logs each erasure, legal hold and lift as a `digest` record whose salt is
`statement_salt` of its sha256, a salt no API key and no `mledger ingest` file may use:
so the salt alone tells the log's statement records apart. Core, because the index
files those records under a key of their own (`ledger.core.index.keys.STATEMENT_KEY`);
`ledger.formats.statement` builds the statements themselves.
"""

from __future__ import annotations

import hashlib

STATEMENT_SALT_DOMAIN = b"model-ledger/statement-record\x00"
"""What the salt of the log's own statement records is derived under (`statement_salt`)."""


_SALT_BASE = hashlib.sha256(STATEMENT_SALT_DOMAIN)


def statement_salt(sha256: str) -> str:
    """The salt of the digest record by which the log itself logs a statement whose
    SHA-256 is `sha256` (64 hex): the first 16 bytes of SHA-256(domain || the 32 bytes),
    as 32 lowercase hex. No API key may log a record with it, and `mledger audit` fails
    such a record whose export line does not carry its statement: so every erasure, hold
    and lift is in the export the audit reads, and a verifier takes an erasure as logged
    only from such a record."""
    digest = _SALT_BASE.copy()
    digest.update(bytes.fromhex(sha256))
    return digest.hexdigest()[:32]


def statement_record(kind: str, sha256: str | None, canonical: bytes | None) -> bool:
    """Whether the record of `kind` whose lookup column is `sha256` and whose canonical
    bytes are `canonical` is one of the log's own statement records: a digest record whose
    salt is `statement_salt` of its sha256 (a digest body holds only its sha256, so the
    salt's member can be found in the bytes)."""
    if kind != "digest" or sha256 is None or not canonical:
        return False
    try:
        salt = statement_salt(sha256)
    except ValueError:  # not hex: no digest record's sha256
        return False
    return f'"salt":"{salt}"'.encode() in canonical
