"""Records: canonical bytes equal the rfc8785 package's, bounds hold, bad input fails."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core import records
from ledger.core.records import MAX_ID_LENGTH, RecordError, parse_json, parse_object
from ledger.workload import interaction

hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
hex32 = st.text("0123456789abcdef", min_size=32, max_size=32)
# Any unicode a JSON string can hold, surrogates excluded (they are not valid UTF-8).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
ident = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
count = st.integers(0, records.MAX_SAFE_INTEGER)
ts = st.datetimes(
    min_value=__import__("datetime").datetime(1970, 1, 1),
    max_value=__import__("datetime").datetime(9999, 12, 31),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


interaction_body = st.fixed_dictionaries(
    {
        "request_id": ident,
        "account_id": ident,
        "model": ident,
        "prompt_sha256": hex64,
        "response_sha256": hex64,
        "input_tokens": count,
        "output_tokens": count,
    },
    optional={
        "api_key_id": optional(ident),
        "endpoint": optional(text),
        "client": optional(
            st.fixed_dictionaries(
                {}, optional={"asn": count, "ip_sha256": hex64, "user_agent": text}
            )
        ),
        "metadata": optional(
            st.dictionaries(
                st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"),
                st.one_of(
                    text,
                    st.integers(-records.MAX_SAFE_INTEGER, records.MAX_SAFE_INTEGER),
                    st.booleans(),
                ),
                max_size=8,
            )
        ),
    },
)
licence_body = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["grant", "amend"]),
        "licence_id": ident,
        "licensee": ident,
        "models": st.lists(ident, min_size=1, max_size=4),
        "scope": st.lists(
            st.sampled_from(["inference", "fine-tune", "distillation"]), min_size=1, max_size=3
        ),
        "terms_sha256": hex64,
        "valid_from": st.just("2026-01-01T00:00:00.000Z"),
        "valid_until": st.just("2027-01-01T00:00:00.000Z"),
    },
    optional={"reason": text},
) | st.fixed_dictionaries(
    {"action": st.just("revoke"), "licence_id": ident, "licensee": ident}, optional={"reason": text}
)
parent = st.fixed_dictionaries(
    {
        "model_id": ident,
        "version": ident,
        "relation": st.sampled_from(["fine-tune", "distillation", "quantization", "merge"]),
    }
)
model_body = st.fixed_dictionaries(
    {
        "model_id": ident,
        "version": ident,
        "artifact_sha256": hex64,
        "parents": st.lists(parent, max_size=3),
    },
    optional={"training_data_sha256": optional(hex64), "licence_id": optional(ident)},
)
digest_body = st.fixed_dictionaries({"sha256": hex64})


def envelope(kind: str, body: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"v": st.just(1), "kind": st.just(kind), "body": body}, optional={"salt": hex32, "ts": ts}
    )


any_record = st.one_of(
    envelope("interaction", interaction_body),
    envelope("licence", licence_body),
    envelope("model", model_body),
    envelope("digest", digest_body),
)


def strip_none(value: Any) -> Any:
    """What the canonical form keeps: null members are dropped."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_record)
def test_canonical_bytes_equal_rfc8785_package(record: dict[str, Any]) -> None:
    entry = parse_json(json.dumps(record))
    filled = dict(record)
    stored = json.loads(entry.canonical)
    filled.setdefault("salt", stored["salt"])
    filled.setdefault("ts", stored["ts"])
    assert entry.canonical == rfc8785.dumps(strip_none(filled))
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + entry.canonical).digest()
    # Canonical bytes are a fixed point: parsing them again changes nothing.
    assert records.validate_canonical(entry.canonical).canonical == entry.canonical


def test_field_declaration_order_is_jcs_order() -> None:
    """The encoder writes fields in declaration order; JCS wants them sorted."""
    for model in (
        records.InteractionRecord,
        records.LicenceRecord,
        records.ModelRecord,
        records.DigestRecord,
        records.InteractionBody,
        records.LicenceBody,
        records.ModelBody,
        records.DigestBody,
        records.Client,
        records.Parent,
    ):
        names = list(model.model_fields)
        assert names == sorted(names), model.__name__


def test_salt_and_ts_filled_when_absent() -> None:
    record = interaction(1)
    del record["salt"], record["ts"]
    first = json.loads(parse_object(record).canonical)
    second = json.loads(parse_object(record).canonical)
    assert len(first["salt"]) == 32 and first["salt"] != second["salt"]
    assert first["ts"].endswith("Z") and len(first["ts"]) == 24


def test_given_salt_and_ts_are_kept() -> None:
    record = interaction(2)
    stored = json.loads(parse_object(record).canonical)
    assert stored["salt"] == record["salt"] and stored["ts"] == record["ts"]


def test_lookup_columns() -> None:
    entry = parse_object(interaction(3, account="acct-9"))
    assert (entry.kind, entry.external_id, entry.account_id) == ("interaction", "req-0-3", "acct-9")


def reject(record: Any) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_json(json.dumps(record))
    return caught.value


def test_float_rejected_even_when_integral() -> None:
    record = interaction(4)
    record["body"]["input_tokens"] = 12.0
    assert reject(record).field == "body.input_tokens"
    record = interaction(4)
    record["body"]["metadata"] = {"score": 0.5}
    assert reject(record).field.startswith("body.metadata.score")


def test_unknown_kind_rejected() -> None:
    error = reject({"v": 1, "kind": "telemetry", "body": {}})
    assert error.field == "kind" and "telemetry" in error.message


def test_extra_fields_rejected() -> None:
    record = interaction(5)
    record["body"]["prompt"] = "the actual prompt must never be stored"
    error = reject(record)
    assert (error.field, error.message) == ("body.prompt", "unknown field")
    record = interaction(5)
    record["extra"] = 1
    assert reject(record).field == "extra"


def test_wrong_version_and_missing_fields_rejected() -> None:
    record = interaction(6)
    record["v"] = 3
    assert reject(record).field == "v"
    record = interaction(6)
    del record["body"]["model"]
    assert reject(record).field == "body.model"


def test_identifier_length_limit_is_exact() -> None:
    record = interaction(7)
    record["body"]["account_id"] = "a" * MAX_ID_LENGTH
    parse_json(json.dumps(record))
    record["body"]["account_id"] = "a" * (MAX_ID_LENGTH + 1)
    assert reject(record).field == "body.account_id"


def test_integer_limit_is_exact() -> None:
    record = interaction(8)
    record["body"]["output_tokens"] = records.MAX_SAFE_INTEGER
    parse_json(json.dumps(record))
    record["body"]["output_tokens"] = records.MAX_SAFE_INTEGER + 1
    assert reject(record).field == "body.output_tokens"
    record["body"]["output_tokens"] = -1
    assert reject(record).field == "body.output_tokens"


def test_timestamps_must_be_real_utc_milliseconds() -> None:
    for bad, needle in (
        ("2026-02-30T00:00:00.000Z", "not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ"),
        ("2026-02-30T00:00:00Z", "not a real date and time"),
        ("2026-06-05T24:00:00Z", "not a real date and time"),
        ("2026-06-05T23:59:60Z", "not a real date and time"),
        ("yesterday", "not a UTC time in RFC 3339 form"),
        ("2026-06-05", "not a UTC time in RFC 3339 form"),
        ("2026-06-05 12:00:00Z", "not a UTC time in RFC 3339 form"),
        ("2026-06-05T12:00Z", "not a UTC time in RFC 3339 form"),
        ("2026-06-05T12:00:00.Z", "not a UTC time in RFC 3339 form"),
        ("2026-06-05T12:00:00Z\n", "not a UTC time in RFC 3339 form"),
        ("2026-06-05T12:00:00.1234Z", "finer than a millisecond"),
        ("2026-06-05T12:00:00.123456+00:00", "finer than a millisecond"),
        (
            "2026-06-05T14:00:00.5+02:00",
            (
                "is not UTC (offset +02:00): record times are UTC; the same instant is"
                " 2026-06-05T12:00:00.500Z"
            ),
        ),
        ("2026-06-05T07:00:00-05:00", "the same instant is 2026-06-05T12:00:00.000Z"),
    ):
        record = interaction(9)
        record["ts"] = bad
        error = reject(record)
        assert error.field == "ts" and needle in error.message, (bad, error)
        with pytest.raises(RecordError, match="^ts: "):
            parse_json(json.dumps(record))


def test_any_rfc3339_utc_time_is_stored_in_one_form() -> None:
    """Producers may send any RFC 3339 spelling of a UTC instant (to the millisecond);
    the record is stored, and hashed, with the one form, so every spelling is one leaf."""
    stored = interaction(11)
    stored["ts"] = "2026-06-05T12:00:00.000Z"
    expected = parse_object(stored)
    for spelling in (
        "2026-06-05T12:00:00Z",
        "2026-06-05T12:00:00+00:00",
        "2026-06-05T12:00:00-00:00",
        "2026-06-05t12:00:00z",
        "2026-06-05t12:00:00.000Z",
        "2026-06-05T12:00:00.0Z",
        "2026-06-05T12:00:00.000000+00:00",
    ):
        record = dict(stored, ts=spelling)
        for entry in (parse_object(record), parse_json(json.dumps(record))):
            assert entry.canonical == expected.canonical, spelling
            assert entry.leaf_hash == expected.leaf_hash and entry.ts == "2026-06-05T12:00:00.000Z"
        # Verifiers read stored bytes exactly: another spelling is not the stored record.
        with pytest.raises(RecordError, match="not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ"):
            parse_object(record, normalise_times=False)
        with pytest.raises(RecordError):
            records.validate_canonical(rfc8785.dumps(record))
    assert parse_object(dict(stored, ts="2026-06-05T12:00:00.12Z")).ts == "2026-06-05T12:00:00.120Z"


def test_licence_validity_accepts_any_rfc3339_utc_time() -> None:
    body = {
        "action": "grant",
        "licence_id": "L1",
        "licensee": "acme",
        "models": ["m"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00+00:00",
    }
    record = {
        "v": 1,
        "kind": "licence",
        "ts": "2026-06-05T12:00:00Z",
        "salt": "ab" * 16,
        "body": body,
    }
    entry = parse_json(json.dumps(record))
    stored = json.loads(entry.canonical)
    assert stored["ts"] == "2026-06-05T12:00:00.000Z"
    assert stored["body"]["valid_from"] == "2026-01-01T00:00:00.000Z"
    assert stored["body"]["valid_until"] == "2027-01-01T00:00:00.000Z"
    assert parse_object(record).canonical == entry.canonical
    assert record["body"]["valid_from"] == "2026-01-01T00:00:00Z"  # the caller's copy untouched
    error = reject(dict(record, body=body | {"valid_until": "2027-01-01T01:00:00+01:00"}))
    assert error.field == "body.valid_until" and "offset +01:00" in error.message
    # Compared as instants once stored alike: the same instant twice is no window.
    error = reject(dict(record, body=body | {"valid_until": "2026-01-01T00:00:00.000Z"}))
    assert "valid_until must be after valid_from" in error.message


def test_hashes_must_be_lowercase_hex() -> None:
    record = interaction(10)
    record["body"]["prompt_sha256"] = "A" * 64
    assert reject(record).field == "body.prompt_sha256"


def test_licence_grant_needs_its_terms() -> None:
    error = reject(
        {
            "v": 1,
            "kind": "licence",
            "body": {"action": "grant", "licence_id": "L1", "licensee": "acme"},
        }
    )
    assert "models is required" in error.message


def test_record_size_limit() -> None:
    record = interaction(11)
    record["body"]["endpoint"] = "x" * records.MAX_RECORD_BYTES
    error = reject(record)
    assert "limit" in error.message


def test_not_json_rejected() -> None:
    with pytest.raises(RecordError, match="not valid JSON"):
        parse_json("{not json")


def test_strings_are_not_coerced() -> None:
    record = interaction(12)
    record["body"]["input_tokens"] = "12"
    assert reject(record).field == "body.input_tokens"


def test_timestamp_pattern_equals_the_calendar() -> None:
    """The regex accepts exactly what datetime's parser accepts, edge days included."""
    import datetime
    import re

    pattern = re.compile(records.TS_PATTERN)

    def real(text: str) -> bool:
        try:
            datetime.datetime.fromisoformat(text)
        except ValueError:
            return False
        return True

    years = [*range(0, 2101, 1), 2400, 9996, 9999]
    for year in years:
        for month in range(14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                text = f"{year:04d}-{month:02d}-{day:02d}T23:59:59.999Z"
                assert bool(pattern.match(text)) == real(text), text
    for clock in ("24:00:00.000", "23:60:00.000", "23:59:60.000", "00:00:00.000"):
        text = f"2026-06-05T{clock}Z"
        assert bool(pattern.match(text)) == real(text), text
