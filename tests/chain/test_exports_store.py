"""The auditor's reads on each backend (SQLite and PostgreSQL): exports in leaf index
order and evidence packs, the pack verified against the real Anvil chain."""

from __future__ import annotations

import json

import pytest

from ledger.core.records import parse_json
from ledger.errors import NotAnchoredError, NotFoundError
from ledger.formats.export_line import export_line
from ledger.formats.pack import PackQuery
from ledger.service.evidence_pack import build_pack
from ledger.store.exports import export_records
from ledger.verify.pack import verify_pack
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import ndjson_lines
from tests.chain.conftest import Setup


def test_exports_and_packs_on_each_backend(any_setup: Setup) -> None:
    setup = any_setup
    with pytest.raises(NotAnchoredError, match="no anchor is confirmed yet"):
        build_pack(setup.store, setup.repo, PackQuery())
    setup.grow(30)
    setup.anchorer().anchor_latest(60)
    setup.grow(12)
    entries = [parse_json(line) for line in ndjson_lines(42, seed=7)]

    end, lines = export_records(setup.store, 0, None)
    assert end == 42 and list(lines) == [(i, e.canonical) for i, e in enumerate(entries)]
    end, lines = export_records(setup.store, 25, 33)
    assert end == 33 and [i for i, _ in lines] == list(range(25, 33))
    for start, stop in ((0, 43), (5, 2), (-1, 3)):
        with pytest.raises(ValueError):
            export_records(setup.store, start, stop)
    assert (
        b"".join(export_line(i, r) for i, r in export_records(setup.store, 0, 3)[1]).count(b"\n")
        == 3
    )

    model = json.loads(entries[0].canonical)["body"]["model"]
    built = build_pack(setup.store, setup.repo, PackQuery(model=model))
    wanted = [i for i, e in enumerate(entries[:30]) if e.model == model]
    late = [e for e in entries[30:] if e.model == model]
    assert built.entries == len(wanted) and built.tree_size == 30 and built.unanchored == len(late)
    pack = json.loads(built.document)
    assert [e["leaf_index"] for e in pack["entries"]] == wanted
    with JsonRpcReader(setup.anvil.url) as chain:
        assert verify_pack(built.document, chain, setup.identity).valid
    accounts = tuple(e.account_id for e in entries[:3] if e.account_id)
    by_account = json.loads(
        build_pack(setup.store, setup.repo, PackQuery(account_ids=accounts)).document
    )
    assert {e["leaf_index"] for e in by_account["entries"]} >= {0, 1, 2}
    with pytest.raises(NotFoundError, match="no entry in the anchored tree of size 30 matches"):
        build_pack(setup.store, setup.repo, PackQuery(kind="licence"))
