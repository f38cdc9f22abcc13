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
from typing import Any, NoReturn

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects read (an evidence pack needs 6)."""

BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark: refused, as RFC 8259 section 8.1 allows."""


class StrictJsonError(ValueError):
    """The document is not JSON this verifier reads; the message says why."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise StrictJsonError(f"key {key!r:.80} appears twice in one object")
        found[key] = value
    return found


def _reject_float(text: str) -> NoReturn:
    raise StrictJsonError(f"number {text:.40} is not an integer: no fractions or exponents")


def _reject_constant(text: str) -> NoReturn:
    raise StrictJsonError(f"{text} is not JSON")


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no alternation per character
_BRACKET = re.compile(rb"[\[\]{}]")


def check_depth(data: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than `limit`, counting brackets outside strings; stops at
    the first bracket past the limit."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", data)):
        if match.group() in b"[{":
            depth += 1
            if depth > limit:
                raise StrictJsonError(f"nested deeper than {limit} levels")
        else:
            depth -= 1


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
