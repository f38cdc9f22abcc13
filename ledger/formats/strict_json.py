"""The one JSON reading rule of every verifier (and of the browser page's, in
ledger/web/verify-core.js, proven equal by the shared corpus in tests/vectors/).

A document is read only if it is UTF-8 without a byte order mark, at most `limit` bytes,
nested at most MAX_DEPTH deep (checked before parsing: a very deep document can crash a
JSON parser), with no object key twice, no number with a fraction or an exponent, and
no NaN or Infinity. Anything else raises `StrictJsonError` saying what is wrong.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, NoReturn

from ledger.core.errors import InputError

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects read (an evidence pack needs 6)."""

BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark: refused, as RFC 8259 section 8.1 allows."""


class StrictJsonError(InputError):
    """The document is not JSON this verifier reads; the message says why."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)  # in C; fewer keys than pairs when one is repeated
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise StrictJsonError(f"key {key!r:.80} appears twice in one object")
            seen.add(key)
    return found


def _reject_float(text: str) -> NoReturn:
    raise StrictJsonError(f"number {text:.40} is not an integer: no fractions or exponents")


def _reject_constant(text: str) -> NoReturn:
    raise StrictJsonError(f"{text} is not JSON")


PREFIX_BYTES = 1 << 20
"""A document longer than this (1 MiB) is first checked on its first PREFIX_BYTES alone,
so a deep one (``[[[[...``) is refused after a millisecond, whatever its length."""

_OPENERS = b"[{"
_MARKS = b'"[]{}'
_NOT_MARKS = bytes(byte for byte in range(256) if byte not in _MARKS)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
"""Objects and arrays nest alike: both become ``[`` ``]``."""
_SPLIT_WINDOW = 64 * 1024
"""Bytes of marks split at a time when strings holding brackets are removed: bounds the
list that `bytes.split` builds."""
LARGEST_DEPTH_CHECKED = 200
"""The largest `max_depth` the check takes: its pattern nests one group per level, and
Python's regular expression compiler recurses once per group."""
_SMALL = 4096
"""Documents up to this size with at most `max_depth` brackets in total are accepted by
counting alone."""


@lru_cache(maxsize=8)
def _single_value(max_depth: int) -> re.Pattern[bytes]:
    """Matches the structure of one JSON value (brackets only, ``[`` and ``]``) nested at
    most `max_depth` deep; a container still open at the end of the input counts as
    closed there. Possessive repeats: no backtracking, one pass."""
    content = b""
    for _ in range(max_depth - 1):
        content = rb"(?:\[" + content + rb"(?:\]|\Z))*+"
    return re.compile(rb"(?:\[" + content + rb"(?:\]|\Z))?" if max_depth > 0 else b"")


def _outside_strings(marks: bytes) -> bytes:
    """`marks` (quotes and brackets) without the strings: what lies between the 1st and
    2nd quote, 3rd and 4th and so on. Works window by window, carrying whether the
    window starts inside a string."""
    kept: list[bytes] = []
    inside = False
    for start in range(0, len(marks), _SPLIT_WINDOW):
        parts = marks[start : start + _SPLIT_WINDOW].split(b'"')
        kept.append(b"".join(parts[1 if inside else 0 :: 2]))
        if len(parts) % 2 == 0:  # an odd number of quotes
            inside = not inside
    return b"".join(kept)


def _exceeds(data: bytes, max_depth: int) -> bool:
    if len(data) <= _SMALL and data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    if b"\\" in data:
        # Inside a string, a backslash escapes the next byte; a run of them pairs up from
        # its start. Dropping the escaped backslashes and then the escaped quotes leaves
        # only quotes that open or close strings (other escapes hold no mark).
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_BRACKETS, _NOT_MARKS)
    # An adjacent pair of quotes is a string without brackets, or the end of one string and
    # the start of the next with no bracket between them: either way nothing to count.
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = _outside_strings(marks)
    end = _single_value(max_depth).match(marks)
    stop = len(marks) if end is None else end.end()
    # The pattern stops short on a container nested too deep (it matches nothing then),
    # or after the first value (a parser refuses what follows it: a second value, a
    # stray closing bracket), which this check leaves to the parser.
    return stop == 0 and len(marks) > 0 and marks[0] == ord("[")


def nesting_exceeds(data: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether JSON text `data` (UTF-8) nests arrays and objects more than `max_depth`
    levels deep, counting brackets outside strings.

    Made to run before a parser, on input that may not be JSON at all: it answers for
    what a parser would read, so it never lets through a document that a parser would
    read deeper than `max_depth`. A document a parser refuses earlier for another reason
    (a second value, a stray closing bracket) may be answered either way.

    Linear in the size of `data`, in C-speed steps (`bytes.replace`, `bytes.translate`,
    one match of a regular expression without backtracking); it builds no list longer
    than _SPLIT_WINDOW and stops after PREFIX_BYTES when those are too deep already.
    ValueError if `max_depth` is negative or above LARGEST_DEPTH_CHECKED.
    """
    if not 0 <= max_depth <= LARGEST_DEPTH_CHECKED:
        raise ValueError(f"max_depth must be from 0 to {LARGEST_DEPTH_CHECKED}, got {max_depth}")
    if len(data) > PREFIX_BYTES and _exceeds(data[:PREFIX_BYTES], max_depth):
        return True
    return _exceeds(data, max_depth)


def check_depth(data: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than `limit`, counting brackets outside strings."""
    if nesting_exceeds(data, limit):
        raise StrictJsonError(f"nested deeper than {limit} levels")


def load_strict(data: bytes | str, limit: int, what: str = "document") -> Any:
    """Parse `data` by the rule above; `what` names the document in messages."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise StrictJsonError(f"{what} is {len(data)} bytes; the limit is {limit}")
    if data.startswith(BOM):
        raise StrictJsonError(f"{what} starts with a UTF-8 byte order mark: save it without one")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StrictJsonError(f"{what} is not UTF-8 (byte {error.start})") from None
    try:
        check_depth(data)
    except StrictJsonError as error:
        raise StrictJsonError(f"{what} is {error}") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
    except StrictJsonError:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise StrictJsonError(f"{what} is not valid JSON: {error}".splitlines()[0]) from None
