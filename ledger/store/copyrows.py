"""Entries as rows of PostgreSQL's binary COPY format, built where records are parsed.

`mledger ingest` on PostgreSQL streams a file's entries into the entries table with one
``COPY ... FROM STDIN (FORMAT BINARY)``: the ingest workers turn each validated entry
into its COPY row here, and the writing process passes the bytes of a whole chunk to
the server untouched, so no Python runs per record between the worker and the
database (docs/performance.md). Pure: no I/O, no database driver.

The format (PostgreSQL's documentation, "COPY", binary format): a header, then per row
a 16-bit field count and per field a 32-bit length (-1: NULL) and the value's binary
form; bytea and text are their bytes as they are (text in UTF-8, the database's
encoding); a 16-bit -1 ends the data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ledger.core.records import Entry

COPY_COLUMNS = ("leaf_hash", "kind", "ts", "external_id", "account_id", "model", "record")
"""The entries columns a COPY row holds, in `Entry`'s field order."""

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""Signature, flags (no OIDs) and header extension length (none)."""

COPY_TRAILER = b"\xff\xff"
"""The file trailer: a field count of -1."""

_NULL = b"\xff\xff\xff\xff"
_HEAD = struct.Struct(">hi32si").pack  # field count, leaf hash, the kind's length
_LENGTH = struct.Struct(">i").pack


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _LENGTH(len(data)) + data


def copy_row(entry: Entry) -> bytes:
    """One entry as a binary COPY row of `COPY_COLUMNS`."""
    leaf, kind, ts, external_id, account_id, model, record = entry
    if len(leaf) != 32:
        raise ValueError(f"leaf hash of {len(leaf)} bytes")
    kind_bytes = kind.encode()
    return b"".join(
        (
            _HEAD(7, 32, leaf, len(kind_bytes)),
            kind_bytes,
            _text(ts),
            _text(external_id),
            _text(account_id),
            _text(model),
            _LENGTH(len(record)),
            record,
        )
    )


def copy_rows(entries: Iterable[Entry]) -> bytes:
    """Entries as consecutive COPY rows (no header or trailer)."""
    return b"".join(map(copy_row, entries))


def read_rows(data: bytes) -> list[Entry]:
    """The entries of consecutive COPY rows made by `copy_rows` (its inverse)."""
    try:
        return _read_rows(data)
    except struct.error:
        raise ValueError("COPY rows end inside a row") from None


def _read_rows(data: bytes) -> list[Entry]:
    out: list[Entry] = []
    at, end = 0, len(data)
    while at < end:
        (count,) = struct.unpack_from(">h", data, at)
        if count != len(COPY_COLUMNS):
            raise ValueError(f"COPY row of {count} fields at byte {at}")
        at += 2
        values: list[bytes | None] = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", data, at)
            at += 4
            if length < 0:
                values.append(None)
                continue
            values.append(data[at : at + length])
            at += length
        if at > end:
            raise ValueError("COPY rows end inside a row")
        leaf, kind, ts, external_id, account_id, model, record = values
        if leaf is None or kind is None or ts is None or record is None:
            raise ValueError("COPY row with NULL in a NOT NULL column")
        out.append(
            Entry(
                leaf,
                kind.decode(),
                ts.decode(),
                None if external_id is None else external_id.decode(),
                None if account_id is None else account_id.decode(),
                None if model is None else model.decode(),
                record,
            )
        )
    return out
