"""Index keys: which keys a record is filed under, and the key strings' hashes.

A key string is ``kind:value`` (``account:acct-1``); its map key is SHA-256 of its UTF-8
bytes. `KEY_FUNCTIONS` maps each record kind to the function giving a record's keys:
adding a kind of key is adding one function there (and bumping the index version, since
every root changes).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress
from operator import itemgetter
from typing import Any

from ledger.core.index.errors import IndexProofError
from ledger.core.statements import statement_record, statement_salt

MAX_VALUE_LENGTH = 256
"""Longest key value: the longest identifier a record may carry (records.MAX_ID_LENGTH)."""


def _keys(body: Mapping[str, Any], *pairs: tuple[str, str]) -> list[str]:
    # A v2 record disclosed in part may withhold a key's field: it then shows no such key.
    return [f"{kind}:{body[field]}" for kind, field in pairs if field in body]


def _interaction(body: Mapping[str, Any]) -> list[str]:
    return _keys(body, ("account", "account_id"), ("model", "model"))


def _licence(body: Mapping[str, Any]) -> list[str]:
    return _keys(body, ("licence", "licence_id"), ("licensee", "licensee"))


def _model(body: Mapping[str, Any]) -> list[str]:
    return _keys(body, ("model_id", "model_id"))


KEY_FUNCTIONS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "interaction": _interaction,
    "licence": _licence,
    "model": _model,
}
"""Record kind -> the keys of a record's body. Digest records are filed under none of
them: only the log's own statement records are filed, under `STATEMENT_KEY`."""

STATEMENT_KEY = "statement:log"
"""The key of the log's own statement records (erasures, legal holds, lifts): every
digest record whose salt is `ledger.core.statements.statement_salt` of its sha256. One
key for the whole log, so the anchored index root binds which leaves are statements
(an erased one's export line carries its hash) and its postings are the complete list
of the log's statements."""

MAX_ENTRY_KEYS = 2
"""Most keys one entry is filed under (what an erased entry's export line may carry)."""

KEY_FIELDS = {"account": "account_id", "model": "model", "licence": "licence_id"}
KEY_FIELDS |= {"licensee": "licensee", "model_id": "model_id"}
"""Key kind -> the body field its value is (what a disclosure must open to show the key)."""

KEY_KINDS = ("account", "model", "licence", "licensee", "model_id", "statement")
"""The kinds of key, the part of a key string before its first colon (``statement``
has one key, `STATEMENT_KEY`: any other value is a key no record is filed under)."""


def record_keys(record: Mapping[str, Any]) -> list[str]:
    """The key strings of a valid record (a decoded record object, v1 or v2, or a v2
    disclosure, whose withheld fields give no key), without repeats, in the order the
    key functions give them."""
    function = KEY_FUNCTIONS.get(record["kind"])
    if function is None:
        salt, body = record.get("salt"), record["body"]
        if record["kind"] == "digest" and isinstance(salt, str) and "sha256" in body:
            try:
                if salt == statement_salt(body["sha256"]):
                    return [STATEMENT_KEY]
            except (ValueError, TypeError):  # not a valid record's sha256
                return []
        return []
    return list(dict.fromkeys(function(record["body"])))


def entry_keys(
    kind: str,
    external_id: str | None,
    account_id: str | None,
    model: str | None,
    canonical: bytes | None = None,
) -> list[str]:
    """The index keys of an entry, from its lookup columns (`ledger.core.records.Entry`,
    as the store keeps them) and, for a digest record, its canonical bytes (is it one of
    the log's statement records?): the same as `record_keys` of its record (tests hold
    them equal), without decoding the record."""
    if kind == "interaction":
        return [f"account:{account_id}", f"model:{model}"]
    if kind == "licence":
        return [f"licence:{external_id}", f"licensee:{account_id}"]
    if kind == "model":
        return [f"model_id:{external_id}"]
    if statement_record(kind, external_id, canonical):
        return [STATEMENT_KEY]
    return []


ENTRY_KEY_COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "interaction": (("account", 1), ("model", 2)),
    "licence": (("licence", 0), ("licensee", 1)),
    "model": (("model_id", 0),),
}
"""Record kind -> (key kind, lookup column: 0 external_id, 1 account_id, 2 model) of
each key `entry_keys` gives, in its order."""


def group_entry_keys(
    rows: Sequence[Sequence[Any]], columns: tuple[int, int, int, int, int] = (0, 1, 2, 3, 4)
) -> dict[str, list[int]]:
    """Each key's positions (0, 1, ...) among entries given as rows that hold their
    lookup columns kind, external_id, account_id and model, and their canonical record
    bytes (needed of digest records only: None will do for the others), at `columns`:
    what filing each entry under its `entry_keys` in turn gives, grouped a column at a
    time rather than entry by entry (a seal's entries at once; `IndexBuilder.add_batch`
    takes them)."""
    kind_at, *value_at, record_at = columns
    values_of = [itemgetter(at) for at in value_at]
    kinds = list(map(itemgetter(kind_at), rows))
    count = len(kinds)
    grouped: dict[str, list[int]] = {}
    for kind, pairs in ENTRY_KEY_COLUMNS.items():
        taken = kinds.count(kind)
        if not taken:
            continue
        chosen: Iterable[Sequence[Any]] = rows
        positions: Iterable[int] = range(count)
        if taken != count:
            mask = list(map(kind.__eq__, kinds))
            chosen = list(compress(rows, mask))
            positions = list(compress(positions, mask))
        for key_kind, column in pairs:
            lists: defaultdict[Any, list[int]] = defaultdict(list)
            found = map(lists.__getitem__, map(values_of[column], chosen))
            deque(map(list.append, found, positions), maxlen=0)
            for value, listed in lists.items():
                key = f"{key_kind}:{value}"
                if key in grouped:  # two stored values giving one key text (None, "None")
                    grouped[key] = sorted(grouped[key] + listed)
                else:
                    grouped[key] = listed
    if "digest" in kinds:
        external_at = value_at[0]
        statements = [
            position
            for position, row in enumerate(rows)
            if statement_record(row[kind_at], row[external_at], row[record_at])
        ]
        if statements:
            grouped[STATEMENT_KEY] = statements
    return grouped


def parse_key(key: str) -> tuple[str, str]:
    """(kind, value) of a key string; IndexProofError ``key`` if it is not one."""
    kind, colon, value = key.partition(":")
    if not colon or kind not in KEY_KINDS:
        raise IndexProofError(
            "key",
            f"{key!r:.80} is not KIND:VALUE with KIND one of {', '.join(KEY_KINDS)}",
        )
    if not 1 <= len(value) <= MAX_VALUE_LENGTH:
        raise IndexProofError(
            "key", f"the value of key {key!r:.80} must have 1 to {MAX_VALUE_LENGTH} characters"
        )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise IndexProofError("key", f"key {key!r:.80} holds a lone UTF-16 surrogate") from None
    return kind, value


def key_hash(key: str) -> bytes:
    """The map key of a key string: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).digest()
