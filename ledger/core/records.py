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
  milliseconds) are filled in when the producer leaves them out.

The encoder is pydantic's JSON serializer over models whose fields are declared in
JCS order (code-point order of ASCII names) with free-form maps sorted on validation;
``tests/core/test_records.py`` proves it byte-identical to the ``rfc8785`` package.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Annotated, Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ledger.core.errors import InputError

RECORD_VERSION = 1
"""The envelope version this module writes and accepts."""

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
"""Record kinds, in the order DESIGN.md lists them."""

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


Timestamp = Annotated[str, StringConstraints(pattern=TS_PATTERN)]
"""RFC 3339 UTC with milliseconds, e.g. 2026-06-05T12:00:00.123Z."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lowercase hex characters, no prefix."""

Salt = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
MetadataValue = Text | Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)] | bool
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,63}$")]


class _Strict(BaseModel):
    # Fields of every model below are declared in JCS order (sorted by name): the
    # serializer writes them in declaration order. tests/core/test_records.py checks it.
    model_config = ConfigDict(extra="forbid", strict=True)


class Client(_Strict):
    """Where an interaction came from, without personal data."""

    asn: Count | None = None
    ip_sha256: Sha256Hex | None = None
    user_agent: Text | None = None


class InteractionBody(_Strict):
    """One model interaction (request and response), by digests only."""

    account_id: Ident
    api_key_id: Ident | None = None
    client: Client | None = None
    endpoint: Text | None = None
    input_tokens: Count
    metadata: (
        Annotated[dict[MetadataKey, MetadataValue], Field(max_length=MAX_METADATA_ITEMS)] | None
    ) = None
    model: Ident
    output_tokens: Count
    prompt_sha256: Sha256Hex
    request_id: Ident
    response_sha256: Sha256Hex

    @field_validator("metadata")
    @classmethod
    def _sort_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Keys are ASCII (see MetadataKey), so code-point order is JCS order.
        return None if value is None else dict(sorted(value.items()))


class LicenceBody(_Strict):
    """A licence grant, amendment (a new grant that supersedes) or revocation."""

    action: Literal["grant", "amend", "revoke"]
    licence_id: Ident
    licensee: Ident
    models: Annotated[list[Ident], Field(min_length=1, max_length=MAX_LIST_ITEMS)] | None = None
    reason: Text | None = None
    scope: Annotated[list[Scope], Field(min_length=1, max_length=MAX_LIST_ITEMS)] | None = None
    terms_sha256: Sha256Hex | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None

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

    model_id: Ident
    relation: Literal["fine-tune", "distillation", "quantization", "merge"]
    version: Ident


class ModelBody(_Strict):
    """A model artefact and its provenance."""

    artifact_sha256: Sha256Hex
    licence_id: Ident | None = None
    model_id: Ident
    parents: Annotated[list[Parent], Field(max_length=MAX_LIST_ITEMS)] = []
    training_data_sha256: Sha256Hex | None = None
    version: Ident


class DigestBody(_Strict):
    """Only a document's SHA-256, for callers who keep the document themselves."""

    sha256: Sha256Hex


BodyT = TypeVar("BodyT", bound=_Strict)


class _Envelope(_Strict, Generic[BodyT]):
    """What every record kind shares; fields in JCS order like every model here."""

    body: BodyT
    kind: str
    salt: Salt | None = None
    ts: Timestamp | None = None
    v: Literal[1]


class InteractionRecord(_Envelope[InteractionBody]):
    """The envelope of an interaction record."""

    kind: Literal["interaction"]


class LicenceRecord(_Envelope[LicenceBody]):
    """The envelope of a licence record."""

    kind: Literal["licence"]


class ModelRecord(_Envelope[ModelBody]):
    """The envelope of a model record."""

    kind: Literal["model"]


class DigestRecord(_Envelope[DigestBody]):
    """The envelope of a digest record."""

    kind: Literal["digest"]


AnyRecord = Annotated[
    InteractionRecord | LicenceRecord | ModelRecord | DigestRecord,
    Field(discriminator="kind"),
]
_RECORD = TypeAdapter(AnyRecord)
_validate_json = _RECORD.validator.validate_json  # the core validator: no wrapper overhead


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


def _describe(error: ValidationError) -> RecordError:
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


def _entry(record: Any, ts: str | None) -> Entry:
    fields = record.__dict__  # plain writes: the values were validated or made here
    if fields["salt"] is None:
        fields["salt"] = os.urandom(16).hex()
    if fields["ts"] is None:
        fields["ts"] = ts or now_ts()
    canonical = record.__pydantic_serializer__.to_json(record, exclude_none=True)
    body = record.body
    kind = record.kind
    if kind == "interaction":
        external_id, account_id, model = body.request_id, body.account_id, body.model
    elif kind == "licence":
        external_id, account_id, model = body.licence_id, body.licensee, None
    elif kind == "model":
        external_id, account_id, model = body.model_id, None, body.model_id
    else:
        external_id, account_id, model = body.sha256, None, None
    return Entry(
        hashlib.sha256(b"\x00" + canonical).digest(),
        kind,
        record.ts,
        external_id,
        account_id,
        model,
        canonical,
    )


def parse_json(data: bytes | str, *, ts: str | None = None) -> Entry:
    """Validate one record given as JSON text and return it ready to store.

    `ts` is the timestamp to fill in when the record has none (default: now).
    Raises RecordError naming the field at fault.
    """
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError("", f"record is {len(data)} bytes; the limit is {MAX_RECORD_BYTES}")
    try:
        record = _validate_json(data)
    except ValidationError as error:
        if error.errors()[0]["type"] == "json_invalid":
            raise RecordError("", f"not valid JSON: {error.errors()[0]['msg']}") from None
        raise _describe(error) from None
    return _entry(record, ts)


def parse_object(data: Any, *, ts: str | None = None) -> Entry:
    """Validate one record given as a decoded JSON object (see `parse_json`)."""
    try:
        record = _RECORD.validate_python(data)
    except ValidationError as error:
        raise _describe(error) from None
    return _entry(record, ts)


def validate_canonical(canonical: bytes) -> Entry:
    """Re-validate stored canonical bytes: the result must encode to the same bytes.

    Used by verifiers: a record that does not round-trip is not canonical.
    """
    entry = parse_json(canonical)
    if entry.canonical != canonical:
        raise RecordError("", "record is valid but not in canonical form (RFC 8785)")
    return entry
