"""Records: the envelope, its kinds, canonical bytes and leaf hash.

FROZEN: the canonical bytes of a record are what every leaf hash, proof and anchor
commits to. Changing how a record encodes breaks every proof already issued; a change
needs a new envelope version (`v`).

A record is an envelope ``{"body", "kind", "salt", "ts", "v"}`` encoded with RFC 8785
(JSON Canonicalization Scheme) and hashed as an RFC 9162 leaf::

    leaf_hash = SHA-256(0x00 || JCS(envelope))

Rules that keep the encoding unambiguous across languages:

- no floats anywhere (integers only, bounded to what an IEEE double holds exactly);
- unknown kinds and unknown fields are rejected; strings are bounded;
- optional fields that are absent or null are omitted from the canonical form;
- ``salt`` (16 random bytes, 32 lowercase hex) and ``ts`` (RFC 3339 UTC with
  milliseconds) are filled in when the producer leaves them out;
- times (``ts``, a licence's ``valid_from`` and ``valid_until``) are stored in one form,
  ``YYYY-MM-DDTHH:MM:SS.mmmZ``. `parse_json` and `parse_object`, which read what producers
  send, accept any RFC 3339 spelling of a UTC instant at millisecond precision (``Z`` or
  ``+00:00``, with or without fractional seconds) and write it in that form
  (`canonical_time`); a time with another offset or finer than a millisecond is refused,
  never converted or rounded. Verifiers read stored records exactly
  (`validate_canonical`, ``normalise_times=False``).

The encoder is pydantic's JSON serializer over models whose fields are declared in
JCS order (code-point order of ASCII names) with free-form maps sorted on validation;
``tests/core/test_records.py`` proves it byte-identical to the ``rfc8785`` package.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import from_json, to_json

from ledger.core.commitment import field_digest, field_salts, leaf_hasher
from ledger.core.errors import InputError

RECORD_VERSION = 1
"""The envelope version records take when their writer does not choose (the service's own
model and licence records); `RECORD_VERSIONS` are those accepted."""

RECORD_VERSIONS = (1, 2)
"""The envelope versions accepted: 1, one salted hash over the whole envelope; 2, one
salted digest per body field (`ledger.core.commitment`), so evidence can disclose a
subset of the fields."""

MAX_RECORD_BYTES = 16_384
"""Largest accepted record, as received (one NDJSON line or one JSON body)."""

MAX_ID_LENGTH = 256
"""Longest identifier (request, account, model, licence ids and the like)."""

MAX_TEXT_LENGTH = 1_024
"""Longest free text (user agent, endpoint, reason, metadata values)."""

MAX_METADATA_ITEMS = 32
"""Most keys in an interaction's metadata map."""

MAX_LIST_ITEMS = 64
"""Most items in a list (licence models and scopes, model parents)."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer a record may carry: exactly representable in an IEEE double, as
RFC 8785 requires."""

KINDS = ("interaction", "licence", "model", "digest")
"""Record kinds, in the order docs/records.md lists them."""

_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
TS_PATTERN = (
    rf"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$"
)
"""Exactly the real UTC instants written YYYY-MM-DDTHH:MM:SS.mmmZ (years 0001-9999,
month lengths and leap years included): checked by the regex engine alone, with no
Python call per record. tests/core/test_records.py proves it equal to datetime's parser.
Digits are written [0-9], not \\d, which both regex engines read as any Unicode digit
(and which would let "2026-06-05T12:00:00.12\u0663Z" in; the browser verifier's \\d is ASCII)."""


class RecordError(InputError):
    """A record that cannot enter the log; `field` names where (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


_CANONICAL_TS = re.compile(TS_PATTERN)
_RFC3339_UTC = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_UTC_OFFSETS = frozenset({"Z", "z", "+00:00", "-00:00"})

TIME_FORMS = "2026-06-05T12:00:00.123Z, 2026-06-05T12:00:00Z or 2026-06-05T12:00:00+00:00"
"""The time forms producers may send, in words (error messages and docs)."""


def canonical_time(value: str, field: str = "") -> str:
    """A time as records store it, YYYY-MM-DDTHH:MM:SS.mmmZ, from any RFC 3339 spelling
    of a UTC instant: ``Z``, ``z``, ``+00:00`` or ``-00:00``; no fractional seconds, or
    any number of digits as long as those past the third are zero; ``t`` for ``T``.

    Never converts or rounds: another offset, or a time finer than a millisecond, is
    refused (RecordError naming `field`), with the stored form of the same instant
    where there is one, so the log holds exactly the instant the producer stated.
    """
    if _CANONICAL_TS.fullmatch(value):
        return value
    match = _RFC3339_UTC.fullmatch(value)
    if match is None:
        raise RecordError(field, f"not a UTC time in RFC 3339 form ({TIME_FORMS}): {value!r:.80}")
    day, clock, fraction, offset = match.groups()
    fraction = fraction or ""
    if fraction[3:].strip("0"):
        raise RecordError(
            field,
            f"{value!r:.80} is finer than a millisecond: record times hold milliseconds"
            f" (send {day}T{clock}.{fraction[:3]}Z, or round it)",
        )
    text = f"{day}T{clock}.{(fraction + '000')[:3]}Z"
    if offset not in _UTC_OFFSETS:
        raise RecordError(field, _offset_problem(value, text, offset))
    if not _CANONICAL_TS.fullmatch(text):
        raise RecordError(field, f"not a real date and time: {value!r:.80}")
    return text


def _offset_problem(value: str, text: str, offset: str) -> str:
    problem = f"{value!r:.80} is not UTC (offset {offset}): record times are UTC"
    try:
        local = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
        sign = 1 if offset[0] == "+" else -1
        shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        utc = local - sign * shift
    except (ValueError, OverflowError):
        return problem
    return problem + f"; the same instant is {utc.isoformat(timespec='milliseconds')}Z"


INPUT_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-]00:00)$"
)
"""The forms of a time producers may send, as the JSON schemas state them (the calendar,
and no digits past the third that are not zero, are checked by `canonical_time`)."""

Timestamp = Annotated[
    str,
    StringConstraints(pattern=TS_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": INPUT_TIME_PATTERN,
            "examples": ["2026-06-05T12:00:00.123Z", "2026-06-05T00:00:00Z"],
        }
    ),
]
"""RFC 3339 UTC with milliseconds, e.g. 2026-06-05T12:00:00.123Z (as stored; producers
may send any form `canonical_time` accepts, which is what the JSON schema states)."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lowercase hex characters, no prefix."""

Salt = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
MetadataValue = Text | Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)] | bool
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,63}$")]

_TIME_WORDS = (
    "UTC. Sent in any RFC 3339 UTC form (Z or +00:00, with or without fractional seconds,"
    " at most millisecond precision); stored as YYYY-MM-DDTHH:MM:SS.mmmZ. Another offset"
    " is refused, not converted."
)

EXAMPLE_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
"""SHA-256 of "test", the digest the examples use."""


class _Strict(BaseModel):
    # Fields of every model below are declared in JCS order (sorted by name): the
    # serializer writes them in declaration order. tests/core/test_records.py checks it.
    model_config = ConfigDict(extra="forbid", strict=True)


class Client(_Strict):
    """Where an interaction came from, without personal data."""

    asn: Count | None = Field(None, description="Autonomous system number of the client's IP.")
    ip_sha256: Sha256Hex | None = Field(
        None,
        description="SHA-256 of the client's IP address (salt it first if the address space"
        " is small enough to enumerate), 64 lowercase hex.",
    )
    user_agent: Text | None = Field(None, description="The client's User-Agent header.")


class InteractionBody(_Strict):
    """One model interaction (request and response), by digests only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acct-42",
                    "input_tokens": 12,
                    "model": "frontier-large",
                    "output_tokens": 340,
                    "prompt_sha256": EXAMPLE_SHA256,
                    "request_id": "req-1",
                    "response_sha256": EXAMPLE_SHA256,
                }
            ]
        }
    )

    account_id: Ident = Field(
        description="The account (customer) that made the request; what audits select by."
    )
    api_key_id: Ident | None = Field(
        None, description="Which of the account's API keys was used (its id, never the key)."
    )
    client: Client | None = Field(None, description="Where the request came from.")
    endpoint: Text | None = Field(None, description="The endpoint called, e.g. /v1/chat.")
    input_tokens: Count = Field(description="Tokens in the prompt.")
    metadata: (
        Annotated[dict[MetadataKey, MetadataValue], Field(max_length=MAX_METADATA_ITEMS)] | None
    ) = Field(
        None,
        description=f"Up to {MAX_METADATA_ITEMS} further facts: keys of 1-64 characters"
        f" A-Z a-z 0-9 _ . : -, values strings (up to {MAX_TEXT_LENGTH} characters),"
        " integers or booleans.",
    )
    model: Ident = Field(description="The model that answered: its id.")
    output_tokens: Count = Field(description="Tokens in the response.")
    prompt_sha256: Sha256Hex = Field(
        description="SHA-256 of the prompt as the model received it, 64 lowercase hex: the"
        " prompt itself is never logged."
    )
    request_id: Ident = Field(
        description="The gateway's id of the request, unique per request: the entry's"
        " external id (GET /v1/entries?external_id=)."
    )
    response_sha256: Sha256Hex = Field(
        description="SHA-256 of the response as returned, 64 lowercase hex."
    )

    @field_validator("metadata")
    @classmethod
    def _sort_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Keys are ASCII (see MetadataKey), so code-point order is JCS order.
        return None if value is None else dict(sorted(value.items()))


class LicenceBody(_Strict):
    """A licence grant, amendment (a new grant that supersedes) or revocation. A grant or
    an amendment needs models, scope, terms_sha256, valid_from and valid_until."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "grant",
                    "licence_id": "lic-2026-001",
                    "licensee": "acme",
                    "models": ["frontier-large"],
                    "scope": ["inference", "fine-tune"],
                    "terms_sha256": EXAMPLE_SHA256,
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_until": "2027-01-01T00:00:00Z",
                },
                {
                    "action": "revoke",
                    "licence_id": "lic-2026-001",
                    "licensee": "acme",
                    "reason": "terms breached",
                },
            ]
        }
    )

    action: Literal["grant", "amend", "revoke"] = Field(
        description="grant: a new licence; amend: a new grant that supersedes the current one"
        " (same licence_id and licensee); revoke: ends the licence."
    )
    licence_id: Ident = Field(description="The licence's id, the same in all its records.")
    licensee: Ident = Field(
        description="Who holds the licence: an account id (a licensee key for it reads it)."
    )
    models: Annotated[list[Ident], Field(min_length=1, max_length=MAX_LIST_ITEMS)] | None = Field(
        None,
        description=f"The model ids or patterns it covers: a list of 1 to {MAX_LIST_ITEMS}"
        " (grant, amend).",
    )
    reason: Text | None = Field(None, description="Why (a revocation, usually).")
    scope: Annotated[list[Scope], Field(min_length=1, max_length=MAX_LIST_ITEMS)] | None = Field(
        None,
        description="What the licensee may do: a list of lowercase words (letters, digits"
        ' and -), e.g. ["inference", "fine-tune", "distillation"] (grant, amend).',
    )
    terms_sha256: Sha256Hex | None = Field(
        None, description="SHA-256 of the licence terms document, 64 lowercase hex (grant, amend)."
    )
    valid_from: Timestamp | None = Field(
        None,
        description="Start of validity, included (grant, amend); on chain in whole seconds,"
        " not before 1970-01-01T00:00:00Z. " + _TIME_WORDS,
    )
    valid_until: Timestamp | None = Field(
        None,
        description="End of validity, excluded, at least one whole second after valid_from"
        " (grant, amend). " + _TIME_WORDS,
    )

    @model_validator(mode="after")
    def _check_terms(self) -> LicenceBody:
        if self.action == "revoke":
            return self
        for name in ("models", "scope", "terms_sha256", "valid_from", "valid_until"):
            if getattr(self, name) is None:
                raise ValueError(f"{name} is required for action {self.action!r}")
        assert self.valid_from is not None and self.valid_until is not None
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class Parent(_Strict):
    """A model an artefact derives from, and how."""

    model_id: Ident = Field(description="The parent model's id.")
    relation: Literal["fine-tune", "distillation", "quantization", "merge"] = Field(
        description="How the artefact was made from the parent."
    )
    version: Ident = Field(description="The parent's version, as registered.")


class ModelBody(_Strict):
    """A model artefact and its provenance."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "artifact_sha256": EXAMPLE_SHA256,
                    "model_id": "org/frontier-small",
                    "parents": [
                        {
                            "model_id": "org/frontier-large",
                            "relation": "distillation",
                            "version": "1.0",
                        }
                    ],
                    "version": "1.0",
                }
            ]
        }
    )

    artifact_sha256: Sha256Hex = Field(
        description="SHA-256 of the artefact (weights file or archive), 64 lowercase hex."
    )
    licence_id: Ident | None = Field(
        None, description="The licence under which the artefact was made, if any."
    )
    model_id: Ident = Field(description="The model's id, e.g. org/frontier-small.")
    parents: Annotated[list[Parent], Field(max_length=MAX_LIST_ITEMS)] = Field(
        [],
        description=f"Up to {MAX_LIST_ITEMS} models it derives from; POST /v1/models needs"
        " each registered first.",
    )
    training_data_sha256: Sha256Hex | None = Field(
        None, description="SHA-256 of the training data manifest, 64 lowercase hex."
    )
    version: Ident = Field(description="This artefact's version of the model.")


class DigestBody(_Strict):
    """Only a document's SHA-256, for callers who keep the document themselves."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"sha256": EXAMPLE_SHA256}]})

    sha256: Sha256Hex = Field(description="SHA-256 of the document, 64 lowercase hex.")


BodyT = TypeVar("BodyT", bound=_Strict)


class _Envelope(_Strict, Generic[BodyT]):
    """What every record kind shares; fields in JCS order like every model here."""

    body: BodyT = Field(description="What the record says; its fields depend on kind.")
    kind: str
    salt: Salt | None = Field(
        None,
        description="16 random bytes as 32 lowercase hex, so that nobody can guess a body"
        " from its leaf hash. Filled in by the log when absent; send it (and ts) to make a"
        " retry the same record.",
    )
    ts: Timestamp | None = Field(
        None,
        description="When it happened: " + _TIME_WORDS + " The time of arrival when absent.",
    )
    v: Literal[1, 2] = Field(
        description="The envelope version: 1 (the leaf hashes the whole envelope) or 2 (the"
        " leaf commits to each body field through its own salted digest, so evidence can"
        " disclose some fields and withhold the others; docs/evidence-format.md)."
    )


def _example(kind: str, body: type[_Strict]) -> dict[str, Any]:
    extra = body.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    return {
        "v": 1,
        "kind": kind,
        "ts": "2026-06-05T12:00:00.123Z",
        "salt": "4f1c0e0d9a7b44f2b1e3c5d7a9f0e2c4",
        "body": extra["examples"][0],  # type: ignore[index]
    }


class InteractionRecord(_Envelope[InteractionBody]):
    """An interaction record: one model request and response, by digests."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [_example("interaction", InteractionBody)]}
    )
    kind: Literal["interaction"] = Field(description='Always "interaction".')


class LicenceRecord(_Envelope[LicenceBody]):
    """A licence record: a grant, an amendment or a revocation."""

    model_config = ConfigDict(json_schema_extra={"examples": [_example("licence", LicenceBody)]})
    kind: Literal["licence"] = Field(description='Always "licence".')


class ModelRecord(_Envelope[ModelBody]):
    """A model record: an artefact, its version and what it derives from."""

    model_config = ConfigDict(json_schema_extra={"examples": [_example("model", ModelBody)]})
    kind: Literal["model"] = Field(description='Always "model".')


class DigestRecord(_Envelope[DigestBody]):
    """A digest record: a document's SHA-256 alone."""

    model_config = ConfigDict(json_schema_extra={"examples": [_example("digest", DigestBody)]})
    kind: Literal["digest"] = Field(description='Always "digest".')


AnyRecord = Annotated[
    InteractionRecord | LicenceRecord | ModelRecord | DigestRecord,
    Field(discriminator="kind"),
]
_RECORD = TypeAdapter(AnyRecord)
_validate_json = _RECORD.validator.validate_json  # the core validator: no wrapper overhead

BODIES: dict[str, type[_Strict]] = {
    "interaction": InteractionBody,
    "licence": LicenceBody,
    "model": ModelBody,
    "digest": DigestBody,
}
"""Record kind -> the pydantic model of its body."""

BODY_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(model.model_fields) for kind, model in BODIES.items()
}
"""Record kind -> the names of its body's fields, in name order: what a v2 record's leaf
commits to, one digest each (FROZEN with the v2 encoding)."""


class FieldOpening(NamedTuple):
    """One body field of a v2 record: its name, salt, value (RFC 8785 text, ``null`` when
    absent) and the digest committing to them."""

    name: str
    salt: bytes
    value: bytes
    digest: bytes


def field_digests(kind: str, salt: bytes, body: dict[str, Any]) -> list[FieldOpening]:
    """Every field of a `kind` body (`BODY_FIELDS`) opened: `body` holds the values as JSON
    values (absent or None when absent) whose objects list their keys in name order, as
    the canonical record and the models write them; `salt` is the record's 16 bytes."""
    names = BODY_FIELDS[kind]
    salts = field_salts(salt, kind, len(names))
    openings = []
    for i, name in enumerate(names):
        own = salts[32 * i : 32 * i + 32]
        value = body.get(name)
        text = b"null" if value is None else to_json(value)
        openings.append(FieldOpening(name, own, text, field_digest(own, name, text)))
    return openings


class Entry(NamedTuple):
    """A validated record, ready to store: leaf hash, lookup columns, canonical bytes.

    A plain tuple in the column order of the entries table, so it is cheap to pass
    between processes and straight to the database driver.
    """

    leaf_hash: bytes
    kind: str
    ts: str
    external_id: str | None
    account_id: str | None
    model: str | None
    canonical: bytes


LOOKUP_FIELDS: dict[str, tuple[str | None, str | None, str | None]] = {
    "interaction": ("request_id", "account_id", "model"),
    "licence": ("licence_id", "licensee", None),
    "model": ("model_id", None, "model_id"),
    "digest": ("sha256", None, None),
}
"""Record kind -> the body fields the store's lookup columns (external id, account id,
model; `Entry`) hold, None where the kind has none: what ingest and the verifiers of
disclosed records (`ledger.core.disclosure`) read the same way."""

_now_cache: tuple[int, str] = (-1, "")


def now_ts() -> str:
    """The current time as a record timestamp (RFC 3339 UTC, milliseconds)."""
    global _now_cache
    ms = time.time_ns() // 1_000_000
    cached_ms, text = _now_cache  # one tuple: threads see a consistent pair
    if ms != cached_ms:
        seconds, millis = divmod(ms, 1000)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
        _now_cache = (ms, text)
    return text


def new_salt() -> str:
    """A fresh random salt: 16 bytes from the OS, as 32 lowercase hex."""
    return os.urandom(16).hex()


def leaf_hash(canonical: bytes) -> bytes:
    """The RFC 9162 leaf hash of canonical record bytes."""
    return hashlib.sha256(b"\x00" + canonical).digest()


_PATTERN_NAMES = {
    TS_PATTERN: "not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ",
    r"^[0-9a-f]{64}$": "not a SHA-256 digest in 64 lowercase hex digits",
    r"^[0-9a-f]{32}$": "not a salt of 32 lowercase hex digits",
    r"^[A-Za-z0-9_.:-]{1,64}$": "not a metadata key (1-64 of A-Z a-z 0-9 _ . : -)",
    r"^[a-z][a-z0-9-]{0,63}$": "not a scope (lowercase letters, digits and -)",
}


def describe_error(error: ValidationError) -> RecordError:
    """The RecordError naming the field of pydantic's first complaint, in the words the
    verifiers print."""
    first = error.errors(include_url=False)[0]
    loc = [str(part) for part in first["loc"]]
    # Drop the discriminator tag pydantic puts after the top-level union.
    if loc and loc[0] in KINDS:
        loc = loc[1:]
    message = first["msg"]
    if first["type"] == "union_tag_invalid":
        message = (
            f"unknown kind {first['input'].get('kind')!r}; expected one of {', '.join(KINDS)}"
            if isinstance(first["input"], dict)
            else message
        )
        loc = ["kind"]
    elif first["type"] == "union_tag_not_found":
        loc = ["kind"]
        message = "field required"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "string_pattern_mismatch":
        pattern = (first.get("ctx") or {}).get("pattern")
        message = (
            _PATTERN_NAMES.get(str(pattern), "does not have the expected format")
            + f": {first['input']!r}"
        )
    return RecordError(".".join(loc), message)


_field_json = partial(to_json, exclude_none=True)
"""A body field's RFC 8785 text, as a v2 leaf commits to it (a partial: no Python frame
per field)."""


_LEAF_HASHERS: dict[str, Callable[[bytes, str, Mapping[str, Any]], bytes]] = {}


def _leaf_hasher(kind: str) -> Callable[[bytes, str, Mapping[str, Any]], bytes]:
    """The v2 leaf hash function of `kind` (`ledger.core.commitment.leaf_hasher`)."""
    hasher = _LEAF_HASHERS[kind] = leaf_hasher(kind, BODY_FIELDS[kind], _field_json)
    return hasher


def _entry(record: Any, ts: str | None) -> Entry:
    fields = record.__dict__  # plain writes: the values were validated or made here
    if fields["salt"] is None:
        fields["salt"] = os.urandom(16).hex()
    if fields["ts"] is None:
        fields["ts"] = ts or now_ts()
    canonical = record.__pydantic_serializer__.to_json(record, exclude_none=True)
    body = record.body
    kind = record.kind
    if record.v == 2:
        hasher = _LEAF_HASHERS.get(kind) or _leaf_hasher(kind)
        leaf = hasher(bytes.fromhex(record.salt), record.ts, body.__dict__)
    else:
        leaf = hashlib.sha256(b"\x00" + canonical).digest()
    external_id, account_id, model = (
        None if name is None else getattr(body, name) for name in LOOKUP_FIELDS[kind]
    )
    return Entry(
        leaf,
        kind,
        record.ts,
        external_id,
        account_id,
        model,
        canonical,
    )


_LICENCE_TIMES = ("valid_from", "valid_until")


def _respelled(value: Any) -> bool:
    """Whether `value` is a time string spelled otherwise than the stored form (by its
    shape alone, which is cheap: the model's pattern checks the stored form itself)."""
    return isinstance(value, str) and not (
        len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z"
    )


def _needs_times(data: Any) -> bool:
    """Whether a decoded record holds a time spelled otherwise than the stored form."""
    if not isinstance(data, dict):
        return False
    if _respelled(data.get("ts")):
        return True
    body = data.get("body")
    return (
        data.get("kind") == "licence"
        and isinstance(body, dict)
        and any(_respelled(body.get(name)) for name in _LICENCE_TIMES)
    )


def _normalise_times(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a decoded record with its times in the stored form (`canonical_time`)."""
    out = dict(data)
    if _respelled(out.get("ts")):
        out["ts"] = canonical_time(out["ts"], "ts")
    body = out.get("body")
    if out.get("kind") == "licence" and isinstance(body, dict):
        body = dict(body)
        for name in _LICENCE_TIMES:
            if _respelled(body.get(name)):
                body[name] = canonical_time(body[name], f"body.{name}")
        out["body"] = body
    return out


def _time_mismatch(error: ValidationError) -> bool:
    """Whether pydantic refused a time field's form (which `canonical_time` may mend)."""
    return any(
        problem["type"] == "string_pattern_mismatch"
        and problem["loc"]
        and problem["loc"][-1] in ("ts", *_LICENCE_TIMES)
        for problem in error.errors(include_url=False)
    )


def parse_json(data: bytes | str, *, ts: str | None = None, normalise_times: bool = True) -> Entry:
    """Validate one record given as JSON text and return it ready to store.

    `ts` is the timestamp to fill in when the record has none (default: now). Times in
    any RFC 3339 UTC form are written in the stored form (`canonical_time`), unless
    `normalise_times` is false: then only the stored form is accepted.
    Raises RecordError naming the field at fault.
    """
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError("", f"record is {len(data)} bytes; the limit is {MAX_RECORD_BYTES}")
    try:
        record = _validate_json(data)
    except ValidationError as error:
        if error.errors()[0]["type"] == "json_invalid":
            raise RecordError("", f"not valid JSON: {error.errors()[0]['msg']}") from None
        if normalise_times and _time_mismatch(error):
            # The rare case, off the hot path: read the JSON with the same parser, mend
            # the times, validate again.
            return parse_object(from_json(data), ts=ts)
        raise describe_error(error) from None
    return _entry(record, ts)


def parse_object(data: Any, *, ts: str | None = None, normalise_times: bool = True) -> Entry:
    """Validate one record given as a decoded JSON object (see `parse_json`)."""
    if normalise_times and _needs_times(data):
        data = _normalise_times(data)
    try:
        record = _RECORD.validate_python(data)
    except ValidationError as error:
        raise describe_error(error) from None
    return _entry(record, ts)


def validate_canonical(canonical: bytes) -> Entry:
    """Re-validate stored canonical bytes: the result must encode to the same bytes.

    Used by verifiers: a record that does not round-trip is not canonical. Times are
    read exactly (no other form is mended).
    """
    entry = parse_json(canonical, normalise_times=False)
    if entry.canonical != canonical:
        raise RecordError("", "record is valid but not in canonical form (RFC 8785)")
    return entry
