"""The documents point at what the repository holds: docs/records.md is what
scripts/gen_records_doc.py writes from the models; every relative link of README.md and
docs/*.md, and every file the OpenAPI document or the CLI's help cites, exists (and a
link's #anchor is a heading of its target)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
"""A Markdown link's target."""

CITED = re.compile(
    r"(?<![\w./-])((?:docs|ledger|scripts|tests|contracts)/[\w./-]*\w|[A-Z][A-Z_]*\.md)(?![\w/])"
)
"""A file of the repository cited in prose: a path from the root, or a top-level
UPPERCASE.md (README.md, DESIGN.md)."""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_records_doc", ROOT / "scripts" / "gen_records_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_records_doc_is_what_the_script_writes() -> None:
    written = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    assert written == _generator().render(), (
        "docs/records.md is stale: run .venv/bin/python scripts/gen_records_doc.py"
    )


def test_records_doc_shows_every_kind_and_request_body() -> None:
    from ledger.core.records import KINDS

    text = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    for kind in KINDS:
        title = kind.capitalize()
        assert f"### {title}Record" in text and f"### {title}Body" in text, kind
    for operation in (
        "POST /v1/entries",
        "POST /v1/entries/batch",
        "POST /v1/licences",
        "POST /v1/licences/{licence_id}/revoke",
        "POST /v1/models",
        "POST /v1/evidence",
    ):
        assert f"| `{operation}` |" in text, operation
    # The licence example is sent with ...T00:00:00Z; the doc shows it stored as .000Z.
    assert '"valid_from":"2026-01-01T00:00:00.000Z"' in text


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def relative_links(path: Path) -> Iterator[str]:
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield from LINK.findall(line)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in relative_links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = doc if not file else (doc.parent / file).resolve()
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{doc.relative_to(ROOT)}: {broken}"


def cited_files(text: str) -> set[str]:
    return {match.rstrip(".") for match in CITED.findall(text)}


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_file_cited_in_prose_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = sorted(name for name in cited_files(text) if not (ROOT / name).exists())
    assert not missing, f"{doc.relative_to(ROOT)} cites files the repository lacks: {missing}"


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def test_every_file_the_openapi_document_cites_exists(tmp_path: Path) -> None:
    from eth_account import Account

    from ledger.api.main import create_app
    from ledger.formats.eip712 import Domain
    from ledger.service.signer import LogSigner
    from ledger.store.repository import Store

    store = Store.open(f"sqlite:///{tmp_path / 'openapi.db'}")
    try:
        spec = create_app(store, LogSigner(Account.create(), Domain(b"\x07" * 32))).openapi()
    finally:
        store.close()
    cited = set().union(*(cited_files(text) for text in _strings(spec)))
    assert "docs/records.md" in cited  # the request bodies point at it
    missing = sorted(name for name in cited if not (ROOT / name).exists())
    assert not missing, f"the OpenAPI document cites files the repository lacks: {missing}"
    assert "DESIGN.md" not in json.dumps(spec)
