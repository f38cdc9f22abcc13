"""A live `ledger serve` read by Go's own tlog client: the Go program
(tests/interop/go/c2sp, op check-tiles) fetches GET /checkpoint and opens it with
golang.org/x/mod/sumdb/note, then reads the hash tiles over HTTP through
tlog.TileHashReader (which checks each tile against the tree) to recompute the root,
prove an entry's inclusion (tlog.ProveRecord, tlog.CheckRecord) and the tree's
consistency with an older checkpoint (tlog.ProveTree, tlog.CheckTree). Nothing of
ours runs on the Go side but the bytes the server sends."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.note import generate_signer, parse_signer
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server
from tests.interop.test_c2sp_go import go, run  # noqa: F401 - the built Go program

ORIGIN = "tiles.example/model-ledger"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("tiles-go") / "data"
    server = Server(data, "--seal-interval", "3600", "--public-host", "tiles.example")
    try:
        leaves: list[bytes] = []
        notes: list[str] = []
        with server.client(ADMIN_KEY) as admin:
            for start, end in ((0, 200), (200, 300), (300, 600)):
                entries = [interaction(i, seed=1415) for i in range(start, end)]
                created = admin.post("/v1/entries/batch", json={"entries": entries})
                assert created.status_code == 202, created.text
                leaves += [bytes.fromhex(r["leaf_hash"][2:]) for r in created.json()["receipts"]]
                admin.post("/v1/admin/seal").raise_for_status()
                notes.append(admin.get("/checkpoint").text)
        vkey = parse_signer((data / "note-key").read_text().strip()).vkey()
        yield {"url": server.url, "leaves": leaves, "notes": notes, "vkey": vkey}
    finally:
        assert server.stop() == 0


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check(go: Path, live: dict[str, Any], index: int, old: int, **changes: Any) -> dict[str, Any]:  # noqa: F811
    request = {
        "op": "check-tiles",
        "url": live["url"],
        "vkeys": [live["vkey"]],
        "origin": ORIGIN,
        "index": index,
        "leaf_hash": changes.pop("leaf_hash", None) or b64(live["leaves"][index]),
        "old_note": live["notes"][old],
    } | changes
    return run(go, **request)


def test_go_verifies_the_live_log_through_its_tiles(go: Path, live: dict[str, Any]) -> None:  # noqa: F811
    for index, old in ((0, 0), (199, 1), (256, 0), (511, 1), (599, 2)):
        answer = check(go, live, index, old)
        assert answer["ok"], answer
        assert answer["size"] == 600
        assert answer["root"] == live["notes"][2].split("\n")[2]
    tiles = set(check(go, live, 300, 0)["tiles"])
    assert tiles <= {"tile/0/000", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"}
    assert "tile/0/002.p/88" in tiles  # Go asks for the partial tile at the checkpoint's width


def test_go_refuses_what_does_not_match(go: Path, live: dict[str, Any]) -> None:  # noqa: F811
    wrong_leaf = check(go, live, 5, 0, leaf_hash=b64(live["leaves"][6]))
    assert not wrong_leaf["ok"] and "proof" in wrong_leaf["error"]
    stranger = generate_signer(ORIGIN).vkey()
    unsigned = check(go, live, 5, 0, vkeys=[stranger])
    assert not unsigned["ok"] and "verif" in unsigned["error"]
    other_origin = check(go, live, 5, 0, origin="other.example/model-ledger")
    assert not other_origin["ok"] and "origin" in other_origin["error"]
    beyond = check(go, live, 600, 0, leaf_hash=b64(bytes(32)))
    assert not beyond["ok"]
