"""Fuzzing the record parser: arbitrary JSON (and arbitrary bytes) is either a record or
a RecordError, never another exception; an accepted record's canonical form is stable.

test_records.py generates valid records and checks the encoding against the rfc8785
package; here hypothesis throws everything else at `parse_json` / `parse_object`:
random JSON documents, valid records with one to three parts replaced by random JSON,
deleted or added, and raw bytes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.records import (
    MAX_RECORD_BYTES,
    RecordError,
    parse_json,
    parse_object,
    validate_canonical,
)
from tests.core.test_records import any_record

fuzz_settings = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# JSON scalars as a hostile producer sends them: huge and negative integers, floats
# (integral ones too), every kind of string, including what looks like hex or a time.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=60)
    | st.sampled_from(
        [
            "",
            "0" * 64,
            "ab" * 16,
            "2026-06-05T12:00:00.123Z",
            "2026-02-30T00:00:00.000Z",
            "interaction",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def parsed_or_refused(document: Any) -> bytes | None:
    """The canonical bytes of `document` as a record, or None if it is refused (only ever
    with a RecordError: anything else propagates and fails the test)."""
    try:
        return parse_object(document).canonical
    except RecordError as error:
        assert error.message and isinstance(error.field, str)
        return None


def assert_stable(canonical: bytes) -> None:
    """An accepted record's canonical form is a fixed point, whichever way it is read again."""
    assert canonical == rfc8785.dumps(json.loads(canonical))
    assert validate_canonical(canonical).canonical == canonical
    again = parse_json(canonical)
    assert (
        again.canonical == canonical
        and parse_object(json.loads(canonical)).leaf_hash == again.leaf_hash
    )


@fuzz_settings
@given(json_values)
def test_arbitrary_json_is_a_record_or_a_record_error(document: Any) -> None:
    canonical = parsed_or_refused(document)
    if canonical is not None:
        assert_stable(canonical)
    try:
        text = json.dumps(document)
    except ValueError:
        return
    try:
        parse_json(text)
    except RecordError:
        pass


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, containers included."""
    found = [path]
    if isinstance(value, dict):
        found += [p for key, item in value.items() for p in paths(item, (*path, key))]
    elif isinstance(value, list):
        found += [p for i, item in enumerate(value) for p in paths(item, (*path, i))]
    return found


@fuzz_settings
@given(any_record, st.data())
def test_mutated_records_are_records_or_record_errors(
    record: dict[str, Any], data: st.DataObject
) -> None:
    document: Any = copy.deepcopy(record)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(paths(document)), label="where")
        if not path:
            document = data.draw(json_values, label="whole record")
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="edit")
        if action == "replace":
            parent[path[-1]] = data.draw(json_values, label="value")
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12), label="key")] = data.draw(
                json_values, label="value"
            )
        else:
            parent.append(data.draw(json_values, label="item"))
        if not isinstance(document, (dict, list)):
            break
    canonical = parsed_or_refused(document)
    if canonical is not None:
        assert_stable(canonical)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_bytes_are_refused_with_a_record_error(data: bytes | str) -> None:
    try:
        entry = parse_json(data)
    except RecordError:
        return
    assert_stable(entry.canonical)


@settings(max_examples=200, deadline=None)
@given(any_record, st.integers(0, 3))
def test_oversized_records_are_refused_whatever_their_content(
    record: dict[str, Any], extra: int
) -> None:
    text = json.dumps(record)
    padded = text[:-1] + " " * (MAX_RECORD_BYTES - len(text) + 1 + extra) + "}"
    with pytest.raises(RecordError, match="the limit is"):
        parse_json(padded)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 22),
    st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9"),
)
def test_timestamps_take_only_ascii_digits(position: int, digit: str) -> None:
    # Regression: \\d in TS_PATTERN matched any Unicode digit (the browser verifier's
    # does not), so "2026-06-05T12:00:00.12\\u0663Z" entered the log.
    ts = "2026-06-05T12:00:00.123Z"
    if not ts[position].isdigit():
        position = 0
    forged = ts[:position] + digit + ts[position + 1 :]
    with pytest.raises(RecordError, match="ts: not a UTC time"):
        parse_object({"v": 1, "kind": "digest", "ts": forged, "body": {"sha256": "ab" * 32}})
