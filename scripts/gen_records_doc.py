"""Write docs/records.md: every record kind and every request body, from the pydantic
models (`ledger.core.records`, `ledger.api.schemas.record_components`, the evidence
query), the very schemas the OpenAPI document serves.

    .venv/bin/python scripts/gen_records_doc.py          # writes docs/records.md
    .venv/bin/python scripts/gen_records_doc.py --check  # exit 1 if it differs

tests/test_docs.py fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.api.routes.evidence import EvidenceQuery
from ledger.api.schemas import MAX_BATCH, REF, record_components
from ledger.core.records import (
    KINDS,
    MAX_RECORD_BYTES,
    TIME_FORMS,
    TS_PATTERN,
    parse_object,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "records.md"

_PATTERNS = {
    r"^[0-9a-f]{64}$": "SHA-256, 64 lowercase hex",
    r"^[0-9a-f]{32}$": "32 lowercase hex",
    r"^[A-Za-z0-9_.:-]{1,64}$": "1-64 of A-Z a-z 0-9 _ . : -",
    r"^[a-z][a-z0-9-]{0,63}$": "a lowercase word: a-z, then a-z 0-9 -, at most 64",
    TS_PATTERN: "YYYY-MM-DDTHH:MM:SS.mmmZ",
}

KIND_NOTES = {
    "interaction": "Logged by gateways with an ingest key: `POST /v1/entries`,"
    " `POST /v1/entries/batch`, `mledger ingest`.",
    "licence": "Logged by the operator with an admin key: `POST /v1/licences` (grant, amend),"
    " `POST /v1/licences/{licence_id}/revoke`, `mledger licence grant|revoke`.",
    "model": "Logged by the operator with an admin key: `POST /v1/models`.",
    "digest": "Logged with an ingest key, like interactions.",
}

REQUESTS = [
    ("POST /v1/entries", "Record", "One record of any kind."),
    ("POST /v1/entries/batch", "BatchRequest", "Records of any kind, all or nothing."),
    (
        "POST /v1/licences",
        "LicenceRequest",
        (
            "A licence grant or amendment: the whole record (`LicenceGrantRecord`) or only"
            " its body (`LicenceGrant`)."
        ),
    ),
    (
        "POST /v1/licences/{licence_id}/revoke",
        "RevokeRequest",
        "Optional: the revocation's reason.",
    ),
    ("POST /v1/models", "ModelBody", "The body of a `model` record."),
    ("POST /v1/evidence", "EvidenceQuery", "Which anchored entries an evidence pack holds."),
]


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _anchor(name: str) -> str:
    return name.lower()


def describe_type(schema: dict[str, Any]) -> str:
    """A property's type in words, from its JSON schema."""
    if "$ref" in schema:
        name = _name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return " or ".join(describe_type(o) for o in options)
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None)
    kind = schema.get("type")
    if kind == "array":
        size = ""
        if "minItems" in schema or "maxItems" in schema:
            size = f" ({schema.get('minItems', 0)} to {schema.get('maxItems', 'any')})"
        return f"list of {describe_type(schema.get('items', {}))}{size}"
    if kind == "object" and schema.get("patternProperties"):
        ((pattern, values),) = schema["patternProperties"].items()
        keys = _PATTERNS.get(pattern, f"`{pattern}`")
        limit = f", at most {schema['maxProperties']} keys" if "maxProperties" in schema else ""
        return f"map of keys ({keys}) to {describe_type(values)}{limit}"
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"integer {low} to {high}"
        return "integer"
    if kind == "string":
        if schema.get("format") == "date-time":
            return "time (RFC 3339 UTC, see [Times](#times))"
        notes = []
        if "pattern" in schema:
            notes.append(_PATTERNS.get(schema["pattern"], f"pattern `{schema['pattern']}`"))
        if "minLength" in schema or "maxLength" in schema:
            notes.append(f"{schema.get('minLength', 0)}-{schema['maxLength']} characters")
        return "string" + (f" ({', '.join(notes)})" if notes else "")
    return str(kind or "any")


def field_table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        text = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        need = "yes" if name in required else "no"
        lines.append(f"| `{name}` | {describe_type(prop)} | {need} | {text} |")
    return lines


def schema_block(name: str, schema: dict[str, Any]) -> list[str]:
    return [
        f"<details><summary>JSON Schema of {name}</summary>",
        "",
        "```json",
        json.dumps(schema, indent=2, ensure_ascii=False),
        "```",
        "",
        "</details>",
    ]


def section(name: str, schema: dict[str, Any], level: str = "###") -> list[str]:
    description = " ".join(str(schema.get("description", "")).split())
    lines = [f"{level} {name}", "", description, ""]
    if "properties" in schema:
        lines += field_table(schema)
    else:
        options = [_name(o["$ref"]) for o in schema.get("oneOf", [])]
        lines.append("One of: " + ", ".join(f"[{o}](#{_anchor(o)})" for o in options) + ".")
    for example in schema.get("examples", []):
        lines += ["", "Example:", "", "```json", json.dumps(example, ensure_ascii=False), "```"]
    lines += ["", *schema_block(name, schema), ""]
    return lines


def render() -> str:
    components = record_components()
    components["EvidenceQuery"] = EvidenceQuery.model_json_schema(by_alias=True, ref_template=REF)
    out = [
        "# Records and request bodies",
        "",
        "<!-- Written by scripts/gen_records_doc.py from the pydantic models",
        "     (ledger/core/records.py, ledger/api/schemas.py): do not edit by hand.",
        "     tests/test_docs.py fails when this file differs from what the script writes. -->",
        "",
        "Every entry of the log is a record: an envelope",
        '`{"v": 1, "kind", "ts", "salt", "body"}` whose `kind` says which body it holds.',
        "The log stores it in its canonical form, RFC 8785 (JSON Canonicalization Scheme)",
        "bytes, and its leaf hash is `SHA-256(0x00 || canonical bytes)` (RFC 9162), which",
        "receipts, proofs and anchors commit to. Unknown kinds and unknown fields are",
        "refused, strings and lists are bounded, numbers are integers (no floats) up to",
        f"2^53 - 1, and a record is at most {MAX_RECORD_BYTES:,} bytes. Optional fields that",
        "are absent or null are left out of the canonical form. The schemas below are the",
        "ones the service's OpenAPI document (`/openapi.json`, `/docs`) names, under the same",
        "names, generated from the same models.",
        "",
        "## Times",
        "",
        "A record's `ts` and a licence's `valid_from` and `valid_until` are stored in one",
        "form, `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds), so that one instant is one",
        "leaf and times compare as text. Producers may send any RFC 3339 spelling of a UTC",
        f"instant: {TIME_FORMS}; `Z` or `z`, `+00:00` or `-00:00`; no",
        "fractional seconds or up to three (more only if the extra digits are zero). The",
        "log stores, hashes and answers with the one form: send `2026-01-01T00:00:00Z`,",
        "get back `2026-01-01T00:00:00.000Z`. Nothing is converted or rounded:",
        "",
        "- a time with another offset (`2026-06-05T14:00:00+02:00`) is refused, and the",
        "  error names the same instant in UTC (`2026-06-05T12:00:00.000Z`) to send instead;",
        "- a time finer than a millisecond (`...00.1234Z`) is refused;",
        "- a date alone, a leap second (`:60`) or a day the calendar lacks is refused.",
        "",
        "Verifiers (`mledger verify`, `mledger licence check`, the /verify page) read stored",
        "records exactly: a record whose time is spelled otherwise is not one the log stored.",
        "",
        "Query bounds (`from` and `to` of `GET /v1/entries` and `POST /v1/evidence`,",
        "`mledger audit report --from/--to`) take the same forms, or a date `YYYY-MM-DD`",
        "(midnight UTC); `from` is inclusive, `to` exclusive.",
        "",
        "## Kinds",
        "",
        "| kind | record | body | logged by |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        title = kind.capitalize()
        out.append(
            f"| `{kind}` | [{title}Record](#{_anchor(title)}record) |"
            f" [{title}Body](#{_anchor(title)}body) | {KIND_NOTES[kind]} |"
        )
    out += [
        "",
        "[Record](#record) is any of them, told apart by `kind` (a discriminated union:",
        "`oneOf` with a `discriminator` in the OpenAPI document).",
        "",
    ]
    out += section("Record", components["Record"])
    for kind in KINDS:
        title = kind.capitalize()
        record = components[f"{title}Record"]
        out += section(f"{title}Record", record)
        example = record["examples"][0]
        stored = parse_object(example)
        out += [
            "As stored (canonical bytes) and its leaf hash:",
            "",
            "```",
            stored.canonical.decode(),
            "leaf_hash = 0x" + stored.leaf_hash.hex(),
            "```",
            "",
        ]
        out += section(f"{title}Body", components[f"{title}Body"])
        for part in {"interaction": ["Client"], "model": ["Parent"]}.get(kind, []):
            out += section(part, components[part])
    out += [
        "## Request bodies",
        "",
        "What each operation that takes a body takes; every body is JSON. Routes read the",
        "body only after the API key is checked (docs/api.md), within their own size limit.",
        "",
        "| operation | body | |",
        "|---|---|---|",
    ]
    for operation, name, note in REQUESTS:
        out.append(f"| `{operation}` | [{name}](#{_anchor(name)}) | {note} |")
    out.append("")
    for name in (
        "BatchRequest",
        "LicenceRequest",
        "LicenceGrant",
        "LicenceGrantRecord",
        "RevokeRequest",
        "EvidenceQuery",
    ):
        out += section(name, components[name])
    out += [
        f"`POST /v1/entries/batch` takes at most {MAX_BATCH:,} records; `POST /v1/models`",
        "takes a [ModelBody](#modelbody), every parent registered first.",
        "",
    ]
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/records.md differs")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            sys.stderr.write("docs/records.md is stale: run scripts/gen_records_doc.py\n")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
