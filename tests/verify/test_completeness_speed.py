"""The fast paths of completeness verification give exactly the verdicts, and the words,
of the plain ones they stand for: the one-join hash list against `parse_bytes` node by
node, the C encoder's record text against RFC 8785, the strict reader's duplicate
check."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from ledger.core.records import RecordError, parse_object
from ledger.formats.fields import FormatError, parse_bytes, parse_hash_list
from ledger.formats.strict_json import StrictJsonError, load_strict
from ledger.verify import bundle
from ledger.verify.bundle import open_record
from ledger.workload import interaction


def test_hash_list_reads_what_parse_bytes_reads() -> None:
    rng = random.Random(3)
    good = ["0x" + rng.randbytes(32).hex() for _ in range(5)]
    assert parse_hash_list(good, "p", 32) == tuple(parse_bytes(v, "p", 32) for v in good)
    assert parse_hash_list([], "p", 32) == ()
    bad_lists: list[list[Any]] = [
        [good[0], "0x" + "A" * 64],
        [good[0], 7],
        [good[0] + "|" + good[1]],
        [good[0][:-2], good[1] + "00"],
        [good[0], "0X" + good[1][2:]],
        [good[0], "0x" + "\u0663" * 64],
        [good[0], good[1] + "\n"],
    ]
    for values in bad_lists:
        with pytest.raises(FormatError) as fast:
            parse_hash_list(values, "e.proof", 32)
        with pytest.raises(FormatError) as slow:
            for i, value in enumerate(values):
                parse_bytes(value, f"e.proof[{i}]", 32)
        assert str(fast.value) == str(slow.value)


def test_duplicate_keys_are_refused_naming_the_first_repeated() -> None:
    with pytest.raises(StrictJsonError, match="key 'b' appears twice"):
        load_strict(b'{"a": 1, "b": 2, "c": {"x": 1}, "b": 3, "a": 4}', 1000)
    assert load_strict(b'{"a": {"b": 1, "c": [{"d": 2}]}}', 1000) == {
        "a": {"b": 1, "c": [{"d": 2}]}
    }


def _slow_open(record: Any) -> Any:
    canonical = bundle._jcs(record)
    return bundle.open_whole(record, canonical)


def _verdict(call: Any) -> Any:
    try:
        opened = call()
    except RecordError as error:
        return f"error {error}"
    return (opened.leaf_hash, opened.size, opened.kind, opened.body)


@pytest.mark.parametrize("version", [1, 2])
def test_fast_record_text_gives_the_rfc8785_verdict(version: int) -> None:
    base = json.loads(parse_object(interaction(4, seed=1, v=version)).canonical)
    variants: list[Any] = [base]
    for change in (
        {"account_id": 'acct-\u00e9\U0001f600\n\x01"\\'},
        {"metadata": {"b": 1, "a": True, "\u00e9": "x"}},
        {"metadata": {"z": "\ud800"}},
        {"input_tokens": 2**60},
        {"input_tokens": 1.0},
        {"input_tokens": True},
        {"metadata": {1: "x"}},
        {"metadata": {"k": float("nan")}},
        {"endpoint": "/v1/\u2028chat\x7f"},
    ):
        record = copy.deepcopy(base)
        record["body"].update(change)
        variants.append(record)
    for record in variants:
        assert _verdict(lambda r=record: open_record(r)) == _verdict(lambda r=record: _slow_open(r))
