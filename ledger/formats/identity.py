"""The log identity document: which log a proof must be about.

Anyone can deploy a copy of LogAnchor, create a log with the same id and anchor
whatever they like; a proof is only worth something against the log its verifier
expects. The operator publishes the identity once (`mledger identity`, `GET /v1/log`)
and every verifier pins it (`--log FILE`): evidence naming another chain, contract, log
id, registry or signer is refused, whatever else checks out.

    {"format": "model-ledger/log/v1",
     "name": "model-ledger",                  the log's name; log_id = SHA-256(name) by default
     "chain_id": 31337,
     "log_anchor": "0x<20 bytes>",            the LogAnchor contract
     "log_id": "0x<32 bytes>",
     "licence_registry": "0x<20 bytes>",      the LicenceRegistry (null: the log issues no licences)
     "log_signer": "0x<20 bytes>",            address of the log key: it signs checkpoints
                                              (checked on chain by every anchor) and receipts
     "deployment_block": 1,                   the block LogAnchor was deployed in (where
                                              reading its events starts)
     "rpc_url": "https://...",                optional: a JSON-RPC endpoint of the chain the
                                              operator suggests (a verifier may use its own)
     "explorer": "https://...",               optional: a block explorer; verifiers link
                                              <explorer>/tx/<hash> and <explorer>/block/<n>
     "note_vkey": "<origin>+<key ID>+<key>",  optional: the Ed25519 verifier key (vkey,
                                              c2sp.org/signed-note) of the log's checkpoint
                                              notes; its key name is the checkpoints'
                                              origin line (ledger/formats/tlog_checkpoint.py)
     "witnesses": ["<name>+<key ID>+<key>"],  optional, with witness_quorum: the cosigner
                                              vkeys (type 0x04, cosignature/v1) of the
                                              witnesses the log sends its checkpoints to
     "witness_quorum": 1}                     how many of them must cosign a checkpoint
                                              for it to count as published (1 to N)

Addresses and hashes are 0x and lowercase hex; no other field is allowed. The format is
documented in docs/evidence-format.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from ledger.core.errors import InputError
from ledger.formats.cosignature import WitnessPolicy, shares_log_key, witness_policy
from ledger.formats.note import NoteError, note_verifier
from ledger.formats.strict_json import StrictJsonError, load_strict

IDENTITY_FORMAT = "model-ledger/log/v1"
"""The format of log identity documents."""

MAX_IDENTITY_BYTES = 64 * 1024
"""Largest identity document read."""

MAX_NAME_LENGTH = 256
"""Longest log name (the store's limit)."""

_FIELDS = (
    "format",
    "name",
    "chain_id",
    "log_anchor",
    "log_id",
    "licence_registry",
    "log_signer",
    "deployment_block",
)
_OPTIONAL = ("rpc_url", "explorer")
_NOTE_VKEY = "note_vkey"
_WITNESSES = ("witnesses", "witness_quorum")
MAX_WITNESSES = 64
"""Most witnesses an identity lists."""
MAX_VKEY_LENGTH = 2048
"""Longest note_vkey read."""
MAX_URL_LENGTH = 2048
"""Longest rpc_url or explorer."""
_URL = re.compile(r"https?://[^\s\"'<>\\]+")
_LOWER_HEX = re.compile(r"0x[0-9a-f]*")


class IdentityError(InputError):
    """A log identity document that cannot be read; `field` names the bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"log identity: {field}: {message}" if field else f"log identity: {message}"
        )
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LogIdentity:
    """A log as its verifiers pin it."""

    name: str
    chain_id: int
    log_anchor: bytes
    log_id: bytes
    licence_registry: bytes | None
    log_signer: bytes
    deployment_block: int
    rpc_url: str | None = None
    explorer: str | None = None
    note_vkey: str | None = None
    witnesses: tuple[str, ...] = ()
    """The cosigner vkeys of the log's witnesses (empty: the log names none)."""
    witness_quorum: int = 0
    """How many of `witnesses` must cosign a checkpoint (0 when there are none)."""

    def witness_policy(self) -> WitnessPolicy:
        """The identity's witnesses and quorum as a policy (no witness: quorum 0)."""
        return witness_policy(list(self.witnesses), self.witness_quorum)

    @property
    def origin(self) -> str | None:
        """The origin line of the log's checkpoint notes: the key name of `note_vkey`."""
        return None if self.note_vkey is None else self.note_vkey.partition("+")[0]

    def as_json(self) -> dict[str, Any]:
        """The identity document (the one serialiser of this format); the optional
        fields only when set."""
        optional = {
            name: getattr(self, name) for name in _OPTIONAL if getattr(self, name) is not None
        }
        if self.note_vkey is not None:
            optional[_NOTE_VKEY] = self.note_vkey
        if self.witnesses:
            optional["witnesses"] = list(self.witnesses)
            optional["witness_quorum"] = self.witness_quorum
        return {
            "format": IDENTITY_FORMAT,
            "name": self.name,
            "chain_id": self.chain_id,
            "log_anchor": _hex(self.log_anchor),
            "log_id": _hex(self.log_id),
            "licence_registry": None
            if self.licence_registry is None
            else _hex(self.licence_registry),
            "log_signer": _hex(self.log_signer),
            "deployment_block": self.deployment_block,
            **optional,
        }

    def fingerprint(self) -> str:
        """What a person compares: the first 8 bytes of SHA-256 of the identity's RFC 8785
        form, in groups of 4 hex digits (the /verify page shows the same)."""
        digest = hashlib.sha256(rfc8785.dumps(self.as_json())).hexdigest()
        return " ".join(digest[i : i + 4] for i in range(0, 16, 4))

    def describe(self) -> str:
        """The log in one line, as verifiers print it."""
        return (
            f"log {self.name!r} ({_hex(self.log_id)}), LogAnchor {_hex(self.log_anchor)}"
            f" on chain id {self.chain_id}, log key {_hex(self.log_signer)}"
        )

    def mismatch(
        self,
        *,
        chain_id: int | None = None,
        log_anchor: bytes | None = None,
        log_id: bytes | None = None,
        licence_registry: bytes | None = None,
        log_signer: bytes | None = None,
    ) -> str | None:
        """The first field that differs from this identity, as a sentence naming it (None
        when all the given fields match). Fields left None are not compared."""
        pairs: list[tuple[str, Any, Any]] = [
            ("chain_id", chain_id, self.chain_id),
            ("log_anchor", log_anchor, self.log_anchor),
            ("log_id", log_id, self.log_id),
            ("licence_registry", licence_registry, self.licence_registry),
            ("log_signer", log_signer, self.log_signer),
        ]
        for field, given, pinned in pairs:
            if given is None or given == pinned:
                continue
            if pinned is None:
                return f"{field}: the pinned log names none, the document names {_show(given)}"
            return f"{field}: the document names {_show(given)}, the pinned log has {_show(pinned)}"
        return None


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _show(value: Any) -> str:
    return _hex(value) if isinstance(value, bytes) else str(value)


def _bytes(obj: Mapping[str, Any], field: str, size: int) -> bytes:
    value = obj[field]
    if not isinstance(value, str) or len(value) != 2 + 2 * size or not _LOWER_HEX.fullmatch(value):
        raise IdentityError(
            field, f"must be 0x and {2 * size} lowercase hex digits, got {value!r:.80}"
        )
    return bytes.fromhex(value[2:])


def _int(obj: Mapping[str, Any], field: str, low: int, high: int) -> int:
    value = obj[field]
    if type(value) is not int or not low <= value <= high:
        raise IdentityError(field, f"must be an integer from {low} to {high}, got {value!r:.80}")
    return value


def parse_identity(data: bytes | str | Mapping[str, Any]) -> LogIdentity:
    """A log identity from its JSON text (or decoded object); IdentityError names what
    is wrong."""
    if isinstance(data, Mapping):
        obj: Any = dict(data)
    else:
        try:
            obj = load_strict(data, MAX_IDENTITY_BYTES, "the log identity")
        except StrictJsonError as error:
            raise IdentityError("", str(error)) from None
    if not isinstance(obj, dict):
        raise IdentityError("", f"must be a JSON object, got {type(obj).__name__}")
    if obj.get("format") != IDENTITY_FORMAT:
        raise IdentityError(
            "format",
            f"must be {IDENTITY_FORMAT!r}, got {obj.get('format')!r:.80}: not a log identity",
        )
    missing = [field for field in _FIELDS if field not in obj]
    if missing:
        raise IdentityError(missing[0], "is missing")
    unknown = sorted(set(obj) - set(_FIELDS) - set(_OPTIONAL) - {_NOTE_VKEY, *_WITNESSES})
    if unknown:
        raise IdentityError(
            unknown[0], "is not a field of this format (a newer model-ledger may know it)"
        )
    name = obj["name"]
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
        raise IdentityError(
            "name", f"must be a non-empty string of at most {MAX_NAME_LENGTH} characters"
        )
    registry = None if obj["licence_registry"] is None else _bytes(obj, "licence_registry", 20)
    urls: dict[str, str | None] = {}
    for field in _OPTIONAL:
        value = obj.get(field)
        if value is not None and (
            not isinstance(value, str) or len(value) > MAX_URL_LENGTH or not _URL.fullmatch(value)
        ):
            raise IdentityError(
                field,
                f"must be an http(s) URL of at most {MAX_URL_LENGTH} characters, got {value!r:.80}",
            )
        urls[field] = value
    vkey = obj.get(_NOTE_VKEY)
    if vkey is not None:
        if not isinstance(vkey, str) or len(vkey) > MAX_VKEY_LENGTH:
            raise IdentityError(
                _NOTE_VKEY, f"must be a verifier key of at most {MAX_VKEY_LENGTH} characters"
            )
        try:
            note_verifier(vkey)
        except NoteError as error:
            raise IdentityError(_NOTE_VKEY, str(error)) from None
    witnesses, quorum = _witnesses(obj)
    if vkey is None and witnesses:
        raise IdentityError("witnesses", WITNESSES_WITHOUT_NOTE_KEY)
    if vkey is not None and witnesses:
        try:
            shares_log_key(witness_policy(list(witnesses), quorum), [note_verifier(vkey)])
        except NoteError as error:
            raise IdentityError("witnesses", str(error)) from None
    return LogIdentity(
        name=name,
        chain_id=_int(obj, "chain_id", 1, 2**256 - 1),
        log_anchor=_bytes(obj, "log_anchor", 20),
        log_id=_bytes(obj, "log_id", 32),
        licence_registry=registry,
        log_signer=_bytes(obj, "log_signer", 20),
        deployment_block=_int(obj, "deployment_block", 0, 2**64 - 1),
        rpc_url=urls["rpc_url"],
        explorer=urls["explorer"],
        note_vkey=vkey,
        witnesses=witnesses,
        witness_quorum=quorum,
    )


WITNESSES_WITHOUT_NOTE_KEY = (
    "go with the log's note_vkey: a cosignature counts only on a note the log key signed"
)
"""Why an identity that lists witnesses but no note key is refused: without the note key
neither the note's log signature nor its origin could be checked."""


def _witnesses(obj: Mapping[str, Any]) -> tuple[tuple[str, ...], int]:
    """`witnesses` and `witness_quorum`: both or neither."""
    if "witnesses" not in obj and "witness_quorum" not in obj:
        return (), 0
    for field in _WITNESSES:
        if field not in obj:
            other = _WITNESSES[1 - _WITNESSES.index(field)]
            raise IdentityError(field, f"is missing: it goes with {other}")
    vkeys = obj["witnesses"]
    if (
        not isinstance(vkeys, list)
        or not 0 < len(vkeys) <= MAX_WITNESSES
        or not all(isinstance(v, str) and len(v) <= MAX_VKEY_LENGTH for v in vkeys)
    ):
        raise IdentityError(
            "witnesses", f"must be a list of 1 to {MAX_WITNESSES} witness verifier keys"
        )
    quorum = _int(obj, "witness_quorum", 1, len(vkeys))
    try:
        witness_policy(vkeys, quorum)
    except NoteError as error:
        raise IdentityError("witnesses", str(error)) from None
    return tuple(vkeys), quorum
