"""ledger.jsonlimits: the depth check hits its limit exactly (32 accepted, 33 refused),
ignores brackets in strings whatever the escapes, agrees with a slow reference scanner
on generated documents and on every prefix of them, never lets through what a parser
would read too deep, and stays linear on adversarial bodies; the recursion limit stays
sane after py_ecc is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.jsonlimits import (
    LARGEST_DEPTH_CHECKED,
    MAX_JSON_DEPTH,
    PREFIX_BYTES,
    SANE_RECURSION_LIMIT,
    JsonInputError,
    check_json,
    load_json,
    nesting_exceeds,
)


def reference_depth(text: bytes) -> int:
    """The deepest nesting of arrays and objects in `text`, read byte by byte straight
    from RFC 8259: brackets count outside strings only, a backslash in a string escapes
    the next byte. Containers left open at the end count as open to the end."""
    depth = deepest = 0
    inside = escaped = False
    for byte in text:
        if inside:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                inside = False
        elif byte == ord('"'):
            inside = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def parser_depth(text: bytes) -> int:
    """How deep a parser gets into `text` at most: like `reference_depth`, but it stops
    where any parser stops, at a closing bracket with nothing to close, a second value
    after the first container, or a backslash outside a string (never JSON)."""
    depth = deepest = 0
    inside = escaped = closed = False
    for byte in text:
        if inside:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                inside = False
        elif byte == ord('"'):
            inside = True
        elif byte == ord("\\"):
            break
        elif byte in b"[{":
            if closed:
                break
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            if depth == 0:
                break
            depth -= 1
            closed = depth == 0
    return deepest


def nested(depth: int, *, kind: str = "array") -> bytes:
    """A valid document nested exactly `depth` deep."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)
    return b'[{"a":' * (depth // 2) + (b"[]" if depth % 2 else b"1") + b"}]" * (depth // 2)


# -- the limit, exactly --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "object", "mixed"])
def test_depth_limit_is_exact(kind: str) -> None:
    for depth in (1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, LARGEST_DEPTH_CHECKED):
        document = nested(depth, kind=kind)
        assert reference_depth(document) == depth and json.loads(document) is not None
        assert nesting_exceeds(document) is (depth > MAX_JSON_DEPTH), depth
        assert (
            nesting_exceeds(document, depth) is False
            and nesting_exceeds(document, depth - 1) is True
        )
    check_json(nested(MAX_JSON_DEPTH, kind=kind), max_bytes=None)
    with pytest.raises(JsonInputError) as refused:
        check_json(nested(MAX_JSON_DEPTH + 1, kind=kind), max_bytes=None, what="request body")
    assert (
        str(refused.value)
        == "request body nests arrays and objects more than 32 levels deep; the limit is 32"
    )


def test_any_limit_up_to_the_largest_checked() -> None:
    for limit in (0, 1, LARGEST_DEPTH_CHECKED):
        assert nesting_exceeds(nested(limit + 1) if limit else b"[]", limit) is True
        assert nesting_exceeds(nested(limit) if limit else b"1", limit) is False
    for limit in (-1, LARGEST_DEPTH_CHECKED + 1):
        with pytest.raises(
            ValueError, match=f"max_depth must be from 0 to {LARGEST_DEPTH_CHECKED}, got {limit}"
        ):
            nesting_exceeds(b"[]", limit)


def test_legitimate_documents_are_far_below_the_limit() -> None:
    from ledger.workload import interaction

    record = interaction(1)
    record["body"]["client"] = {"asn": 1, "user_agent": "x"}
    batch = json.dumps({"entries": [record]}).encode()
    model = json.dumps({"entries": [{"body": {"parents": [{"model_id": "m"}]}}]}).encode()
    assert (
        reference_depth(batch) == 5 and reference_depth(model) == 6
    )  # the deepest bodies the API takes
    assert not nesting_exceeds(batch, 6) and not nesting_exceeds(model, 6)


@pytest.mark.parametrize(
    "document",
    [
        b'["' + b"[" * 100 + b'"]',  # brackets in a string
        b'{"' + b"{" * 100 + b'": "' + b"]" * 100 + b'"}',  # in keys too
        b'["\\"' + b"[" * 100 + b'"]',  # an escaped quote does not end the string
        b'["\\\\", '
        + nested(MAX_JSON_DEPTH - 1)
        + b"]",  # an escaped backslash does not escape the quote
        b'["\\\\\\"'
        + b"[" * 100
        + b'"]',  # three backslashes: one escaped backslash, one escaped quote
        b'["\\u005b' + b"[" * 100 + b'", "\\n"]',  # other escapes
        b'["\xe2\x80\x9c[[[", "\xf0\x9f\x98\x80"]' + b" " * 10,  # UTF-8
        b'"' + b"[" * 100,  # an unterminated string holds the rest
        b'["'
        + b"[" * 200_000
        + b'", "'
        + b"]" * 200_000
        + b'"]',  # strings longer than a split window
    ],
)
def test_brackets_in_strings_do_not_count(document: bytes) -> None:
    assert reference_depth(document) <= MAX_JSON_DEPTH
    assert nesting_exceeds(document) is False


@pytest.mark.parametrize(
    "document",
    [
        b'["a\\\\"'
        + b", [" * 40
        + b"]" * 41,  # the escaped backslash ends the string: the brackets count
        b'["\\"", ' + b"[" * 40 + b"]" * 41,
        b'{"k": "v", "' + b"]" * 5 + b'": ' + nested(40) + b"}",
        b" \n\t" + b"[" * 1_000_000,  # a million deep, never closed
        b"[" + b'"x",' * 100_000 + b"[" * 40,  # deep after a long shallow stretch
        b'["'
        + b"[" * 100_000
        + b'", '
        + b"[" * 40,  # deep after a string longer than a split window
    ],
)
def test_brackets_outside_strings_count(document: bytes) -> None:
    assert reference_depth(document) > MAX_JSON_DEPTH
    assert nesting_exceeds(document) is True


def test_whatever_follows_the_first_value_is_left_to_the_parser() -> None:
    # A parser stops after the first value or at a stray closing bracket: nothing deep is read.
    for document in (b"[]" + b"[" * 100, b"{}" * 1000, b"]" + b"[" * 100, b"1 2 3", b""):
        assert parser_depth(document) <= MAX_JSON_DEPTH
        assert nesting_exceeds(document) is False
        with pytest.raises(ValueError):
            json.loads(document)


# -- against the references --------------------------------------------------------


_TEXT = st.text(alphabet=st.sampled_from(list('ab[]{}"\\:,/ \u00e9\u2028\U0001f600')), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=40,
)


def value_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((value_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((value_depth(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.booleans(), st.integers(0, 8))
def test_agrees_with_the_references_on_documents_and_their_prefixes(
    value: Any, ascii_only: bool, limit: int
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    depth = value_depth(value)
    assert reference_depth(text) == depth
    assert nesting_exceeds(text, limit) is (depth > limit)
    for cut in range(len(text) + 1):  # what a parser reads of a truncated body
        prefix = text[:cut]
        assert nesting_exceeds(prefix, limit) is (reference_depth(prefix) > limit), prefix


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=64)
    | st.text(alphabet=st.sampled_from(list('[]{}"\\ ,a1')), max_size=80).map(str.encode),
    st.integers(0, 6),
)
def test_never_lets_through_what_a_parser_reads_too_deep(data: bytes, limit: int) -> None:
    if parser_depth(data) > limit:
        assert nesting_exceeds(data, limit) is True
    if not nesting_exceeds(data, limit):
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            return
        assert value_depth(value) <= limit


# -- cost -----------------------------------------------------------------------------


def _measure(data: bytes) -> tuple[bool, float, int]:
    tracemalloc.start()
    try:
        start = time.perf_counter()
        answer = nesting_exceeds(data)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return answer, seconds, peak


SIZE = 32 << 20


def test_a_deep_prefix_is_refused_without_reading_the_rest() -> None:
    answer, seconds, peak = _measure(b"[" * SIZE)
    assert answer is True
    assert peak <= 3 * PREFIX_BYTES  # the prefix and its copies, never the 32 MiB
    assert seconds < 1.0  # milliseconds: only the prefix is scanned


@pytest.mark.parametrize(
    "name, data",
    [
        ("[][]", b"[]" * (SIZE // 2)),
        ("[[],[]]", b"[" + b"[]," * (SIZE // 3) + b"[]]"),
        ('""""', b'"' * SIZE),
        ('["[",[', b'["[",' * (SIZE // 5)),
        ("backslashes", b'"' + b"\\" * SIZE),
    ],
)
def test_adversarial_bodies_build_no_big_list(name: str, data: bytes) -> None:
    """Every step copies the body at most once at a time: a list of one object per
    bracket or quote (8 bytes a pointer, more per object) would pass these bounds."""
    _answer, _seconds, peak = _measure(data)
    assert peak <= 2 * len(data) + (1 << 20), name


# -- check_json, load_json ------------------------------------------------------------------


def test_size_and_nul_are_refused_and_invalid_json_is_named() -> None:
    with pytest.raises(JsonInputError, match=r"^licence.json is 17 bytes; the limit is 16$"):
        check_json(b"[" + b" " * 15 + b"]", max_bytes=16, what="licence.json")
    check_json(b"[" + b" " * 14 + b"]", max_bytes=16)
    with pytest.raises(JsonInputError, match="is not UTF-8 JSON: it holds a NUL byte"):
        check_json(
            '["a"]'.encode("utf-16"), max_bytes=None
        )  # UTF-16 hides brackets behind NUL bytes
    assert load_json(b'{"a": [1]}', max_bytes=100) == {"a": [1]}
    with pytest.raises(
        JsonInputError, match=r"^line 3 is not valid JSON: Expecting value: line 1 column 2"
    ):
        load_json(b"[,]", max_bytes=100, what="line 3")
    with pytest.raises(JsonInputError, match="more than 32 levels deep"):
        load_json(b"[" * 40, max_bytes=100)


def test_the_recursion_limit_stays_sane_after_web3_is_imported() -> None:
    """py_ecc raises the limit when it is imported; after restore_recursion_limit, no later
    import raises it again, and a deep document raises RecursionError instead of
    overflowing the C stack."""
    script = (
        "import sys, json\n"
        "from ledger.jsonlimits import restore_recursion_limit\n"
        "restore_recursion_limit()\n"
        "import web3, eth_account, py_ecc.optimized_bn128\n"
        "print(sys.getrecursionlimit())\n"
        "try:\n"
        "    json.loads(b'[' * 1_000_000)\n"
        "except RecursionError:\n"
        "    print('RecursionError')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(SANE_RECURSION_LIMIT), "RecursionError"]
