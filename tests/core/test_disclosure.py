"""v2 records: per-field commitments and selective disclosure (ledger.core.commitment,
ledger.core.disclosure), against an independent reference written from
docs/evidence-format.md with hmac, hashlib and the `rfc8785` package alone."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.disclosure import (
    DisclosureError,
    disclose,
    open_disclosure,
    parse_disclose,
)
from ledger.core.index import record_keys
from ledger.core.records import BODY_FIELDS, RecordError, parse_object, validate_canonical
from ledger.workload import interaction
from tests.core.test_records import any_record, strip_none


def reference_leaf(record: dict[str, Any]) -> bytes:
    """The v2 leaf hash as docs/evidence-format.md specifies it."""
    salt = bytes.fromhex(record["salt"])
    names = BODY_FIELDS[record["kind"]]
    stream = hashlib.shake_256(salt + b"model-ledger/v2/field-salts\x00" + record["kind"].encode())
    salts = stream.digest(32 * len(names))
    digests = {}
    for i, name in enumerate(names):
        value = record["body"].get(name)
        digests[name] = hashlib.sha256(
            salts[32 * i : 32 * (i + 1)] + rfc8785.dumps([name, value])
        ).hexdigest()
    commitment = {"fields": digests, "kind": record["kind"], "ts": record["ts"], "v": 2}
    return hashlib.sha256(b"\x00" + rfc8785.dumps(commitment)).digest()


def v2(record: dict[str, Any]) -> dict[str, Any]:
    return strip_none(record | {"v": 2})  # type: ignore[no-any-return]


def stored(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the log stores it (salt, ts and defaults filled in)."""
    return json.loads(parse_object(record).canonical)  # type: ignore[no-any-return]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_record, st.data())
def test_v2_leaf_equals_the_reference_and_any_disclosure_rebuilds_it(
    record: dict[str, Any], data: st.DataObject
) -> None:
    entry = parse_object(v2(record))
    whole = json.loads(entry.canonical)
    assert entry.leaf_hash == reference_leaf(whole)
    assert validate_canonical(entry.canonical) == entry
    names = data.draw(st.sets(st.sampled_from(BODY_FIELDS[whole["kind"]])))
    disclosed = disclose(entry.canonical, names)
    assert "salt" not in disclosed
    assert set(disclosed["field_salts"]) == names
    assert set(disclosed["body"]) == {n for n in names if n in whole["body"]}
    text = json.loads(json.dumps(disclosed))  # as a verifier reads it
    opened = open_disclosure(text, len(rfc8785.dumps(text)))
    assert opened.leaf_hash == entry.leaf_hash
    assert set(opened.withheld) == set(BODY_FIELDS[whole["kind"]]) - names


def test_v1_is_unchanged_and_v2_of_the_same_record_has_another_leaf() -> None:
    record = interaction(3, seed=1)
    v1 = parse_object(record)
    assert v1.leaf_hash == hashlib.sha256(b"\x00" + v1.canonical).digest()
    two = parse_object(record | {"v": 2})
    assert two.canonical == v1.canonical.replace(b'"v":1}', b'"v":2}')
    assert two.leaf_hash != v1.leaf_hash
    # The lookup columns, and so the index keys, are the same.
    assert two[1:6] == v1[1:6]
    assert record_keys(json.loads(two.canonical)) == record_keys(json.loads(v1.canonical))


def test_a_fixed_v2_leaf() -> None:
    """One worked example, also in docs/evidence-format.md."""
    record = {
        "v": 2,
        "kind": "digest",
        "ts": "2026-06-05T12:00:00.123Z",
        "salt": "4f1c0e0d9a7b44f2b1e3c5d7a9f0e2c4",
        "body": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    }
    assert parse_object(record).leaf_hash.hex() == reference_leaf(record).hex()
    assert (
        parse_object(record).leaf_hash.hex()
        == "10a6a050d0b20619f595a3f94a2aa4c9361b6a07b72c54e591c9d1e9a81caeb9"
    )


def disclosed_of(names: tuple[str, ...]) -> tuple[dict[str, Any], bytes]:
    entry = parse_object(interaction(4, seed=2, v=2) | {"body": full_body()})
    return disclose(entry.canonical, names), entry.leaf_hash


def full_body() -> dict[str, Any]:
    body = interaction(4, seed=2)["body"]
    return body | {"client": {"asn": 64500, "user_agent": "sdk/1"}, "metadata": {"b": 1, "a": "x"}}


def leaf_of(disclosed: dict[str, Any]) -> bytes:
    return open_disclosure(disclosed, len(rfc8785.dumps(disclosed))).leaf_hash


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["body"].update(account_id="acct-other"),
        lambda d: d["body"].update(input_tokens=d["body"]["input_tokens"] + 1),
        lambda d: d["body"]["client"].update(asn=64501),
        lambda d: d["field_salts"].update(model="00" * 32),
        lambda d: d["withheld"].update(request_id="00" * 32),
        lambda d: d.update(ts="2026-06-05T12:00:00.124Z"),
        lambda d: d.update(kind="digest", withheld={"sha256": "00" * 32}, field_salts={}, body={}),
    ],
)
def test_a_tampered_disclosure_rebuilds_another_leaf(change: Any) -> None:
    disclosed, leaf = disclosed_of(("account_id", "model", "input_tokens", "client"))
    assert leaf_of(disclosed) == leaf
    tampered = copy.deepcopy(disclosed)
    change(tampered)
    assert leaf_of(tampered) != leaf


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.pop("withheld"), "withheld", "field required"),
        (lambda d: d.update(salt="00" * 16), "salt", "unknown field"),
        (lambda d: d.update(v=1), "v", "Input should be 2"),
        (lambda d: d.update(v=True), "v", "Input should be 2"),
        (lambda d: d.update(kind="weather"), "kind", "unknown kind"),
        (lambda d: d.update(ts="2026-06-05T12:00:00Z"), "ts", "not a UTC time"),
        (lambda d: d["withheld"].update(prompt="00" * 32), "withheld.prompt", "not a field"),
        (lambda d: d["withheld"].update(model="00" * 32), "withheld.model", "both disclosed"),
        (lambda d: d["withheld"].pop("request_id"), "withheld", "request_id is neither"),
        (lambda d: d["withheld"].update(request_id="AB" * 32), "withheld.request_id", "64 lower"),
        (lambda d: d["field_salts"].update(model="00"), "field_salts.model", "64 lowercase"),
        (lambda d: d["field_salts"].pop("model"), "body.model", "without its salt"),
        (lambda d: d["body"].update(model=None), "body.model", "null"),
        (lambda d: d["body"].update(model=""), "body.model", "at least 1 character"),
        (lambda d: d["body"].update(input_tokens=1.0), "body.input_tokens", "valid integer"),
        (lambda d: d["body"].update(input_tokens=-1), "body.input_tokens", "greater than"),
        (lambda d: d["body"]["client"].update(asn=None), "body.client", "canonical form"),
        (lambda d: d["body"]["client"].update(x=1), "body.client.x", "unknown field"),
        (lambda d: d.update(body=[]), "body", "an object"),
    ],
)
def test_a_malformed_disclosure_names_the_field(change: Any, field: str, words: str) -> None:
    disclosed, _ = disclosed_of(("account_id", "model", "input_tokens", "client"))
    change(disclosed)
    with pytest.raises(RecordError) as caught:
        open_disclosure(disclosed, 100)
    assert caught.value.field == field and words in caught.value.message, caught.value


def test_an_absent_field_can_be_disclosed_as_absent() -> None:
    disclosed, leaf = disclosed_of(("api_key_id", "account_id"))
    assert "api_key_id" in disclosed["field_salts"] and "api_key_id" not in disclosed["body"]
    opened = open_disclosure(disclosed, 100)
    assert opened.leaf_hash == leaf and opened.disclosed == ("account_id", "api_key_id")


def test_withheld_fields_hide_whether_they_are_present() -> None:
    """Every field of the kind is committed, present or not: a disclosure withholding all
    of a record with client and metadata and one without has the same shape."""
    with_all, _ = disclosed_of(())
    without = disclose(parse_object(interaction(4, seed=2, v=2)).canonical, ())
    assert sorted(with_all["withheld"]) == sorted(without["withheld"])
    assert len(with_all["withheld"]) == len(BODY_FIELDS["interaction"]) == 11


def test_the_size_limit_is_exact() -> None:
    from ledger.core.disclosure import MAX_DISCLOSURE_BYTES

    disclosed, leaf = disclosed_of(("model",))
    assert open_disclosure(disclosed, MAX_DISCLOSURE_BYTES).leaf_hash == leaf
    with pytest.raises(RecordError, match="the limit is"):
        open_disclosure(disclosed, MAX_DISCLOSURE_BYTES + 1)


def test_a_v1_record_cannot_be_disclosed_in_part() -> None:
    entry = parse_object(interaction(1))
    with pytest.raises(DisclosureError, match="v1 record"):
        disclose(entry.canonical, ("account_id",))


def test_disclose_names_are_checked() -> None:
    assert parse_disclose(" account_id, model,account_id ") == ("account_id", "model")
    assert parse_disclose("") == ()
    with pytest.raises(DisclosureError, match="'prompt' is not a record field"):
        parse_disclose("account_id,prompt")
    with pytest.raises(DisclosureError, match="at most 64"):
        parse_disclose(",".join(["model"] * 65))


def test_field_salts_are_independent() -> None:
    """A disclosed field's salt is no key to another field's: each is an HMAC of the
    record salt, which is never disclosed."""
    disclosed, _ = disclosed_of(tuple(BODY_FIELDS["interaction"]))
    salts = set(disclosed["field_salts"].values())
    assert len(salts) == 11 and all(len(s) == 64 for s in salts)


def test_the_written_out_leaf_hasher_is_leaf_hash_of() -> None:
    """Ingest's per-kind function (`leaf_hasher`) gives `leaf_hash_of`'s leaf for every
    kind, fields present or absent, and writes code only of identifier names."""
    from pydantic_core import to_json

    from ledger.core.commitment import leaf_hash_of, leaf_hasher

    salt, ts = bytes(range(16)), "2026-06-10T10:00:00.000Z"
    for kind, names in BODY_FIELDS.items():
        hasher = leaf_hasher(kind, names, to_json)
        for present in (set(), set(names), set(names[::2])):
            fields = {n: (f"v-{n}" if n in present else None) for n in names}
            texts = [b"null" if fields[n] is None else to_json(fields[n]) for n in names]
            assert hasher(salt, ts, fields) == leaf_hash_of(kind, ts, salt, names, texts)
    with pytest.raises(ValueError, match="not an ASCII identifier"):
        leaf_hasher("odd", ("a", "b') or ('"), to_json)
