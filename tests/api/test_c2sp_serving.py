"""A real `ledger serve` speaking C2SP: GET /checkpoint serves the latest checkpoint as a
signed note under the log's note key (origin <--public-host>/<log name>), and
/tile/... serves hash tiles (public) and entry bundles (auditors) at
c2sp.org/tlog-tiles paths, with the caching headers a CDN needs and 404 beyond the tree.

`TilesClient` below knows only those specifications: the checkpoint note, the tile
paths, the entry bundle format and RFC 9162's definitions of the Merkle tree hash,
PATH and SUBPROOF. From the tiles alone it rebuilds inclusion and consistency proofs,
which the log's own verifier and /v1/proofs agree with."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import Anvil
from ledger.core import merkle
from ledger.formats.identity import parse_identity
from ledger.formats.note import note_verifier, parse_signer
from ledger.formats.tlog_checkpoint import open_checkpoint
from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil

PUBLIC_HOST = "ledger.example.com"
ORIGIN = f"{PUBLIC_HOST}/model-ledger"
FIRST, SECOND = 300, 700
"""The two sealed sizes: 700 leaves fill level-0 tiles 0 and 1 and leave 188 in tile 2."""


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class TilesClient:
    """A tlog-tiles client written from the specifications alone (no ledger code)."""

    def __init__(self, http: httpx.Client, size: int) -> None:
        self.http, self.size = http, size
        self.fetched: list[str] = []
        self.tile = cache(self._tile)
        self.node = cache(self._node)

    def _tile(self, level: int, index: int, width: int) -> list[bytes]:
        digits = f"{index:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        path = "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])
        url = f"/tile/{level}/{path}" + ("" if width == 256 else f".p/{width}")
        response = self.http.get(url)
        assert response.status_code == 200, (url, response.text)
        assert len(response.content) == 32 * width
        self.fetched.append(url)
        return [response.content[i : i + 32] for i in range(0, 32 * width, 32)]

    def _node(self, height: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**height leaves starting at leaf
        index * 2**height, from the tile that holds it."""
        level, rest = divmod(height, 8)
        first = index << rest  # position among the hashes of tree level 8 * level
        tile_index, start = divmod(first, 256)
        width = min(256, (self.size >> (8 * level)) - 256 * tile_index)
        hashes = self.tile(level, tile_index, width)[start : start + (1 << rest)]
        assert len(hashes) == 1 << rest
        while len(hashes) > 1:
            hashes = [
                hashlib.sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest()
                for i in range(0, len(hashes), 2)
            ]
        return hashes[0]

    def mth(self, a: int, b: int) -> bytes:
        """MTH(D[a:b]) (RFC 9162 2.1.1) for the subtrees a proof names."""
        n = b - a
        if n & (n - 1) == 0 and a % n == 0:
            return self.node(n.bit_length() - 1, a // n)
        k = _largest_power_of_two_below(n)
        return hashlib.sha256(b"\x01" + self.mth(a, a + k) + self.mth(a + k, b)).digest()

    def inclusion(self, m: int, a: int = 0, b: int | None = None) -> list[bytes]:
        """PATH(m, D[a:b]) (RFC 9162 2.1.3.1), leaf's sibling first."""
        b = self.size if b is None else b
        if b - a == 1:
            return []
        k = _largest_power_of_two_below(b - a)
        if m - a < k:
            return self.inclusion(m, a, a + k) + [self.mth(a + k, b)]
        return self.inclusion(m, a + k, b) + [self.mth(a, a + k)]

    def consistency(
        self, m: int, a: int = 0, b: int | None = None, whole: bool = True
    ) -> list[bytes]:
        """SUBPROOF(m, D[a:b], whole) (RFC 9162 2.1.4.1)."""
        b = self.size if b is None else b
        n = b - a
        if m == n:
            return [] if whole else [self.mth(a, b)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return self.consistency(m, a, a + k, whole) + [self.mth(a + k, b)]
        return self.consistency(m - k, a + k, b, False) + [self.mth(a, a + k)]


def read_checkpoint_note(text: str) -> tuple[str, int, bytes]:
    """Origin, size and root: the first three lines of a tlog-checkpoint note."""
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root)


@pytest.fixture(scope="module")
def c2sp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("c2sp") / "data"
    server = Server(data, "--seal-interval", "3600", "--public-host", PUBLIC_HOST)
    try:
        records = [interaction(i, seed=1414) for i in range(SECOND)]
        leaves: list[bytes] = []
        notes: list[str] = []
        with server.client(ADMIN_KEY) as admin:
            for first, last in ((0, FIRST), (FIRST, SECOND)):
                for start in range(first, last, 100):
                    created = admin.post(
                        "/v1/entries/batch",
                        json={"entries": records[start : min(start + 100, last)]},
                    )
                    assert created.status_code == 202, created.text
                    leaves += [
                        bytes.fromhex(r["leaf_hash"][2:]) for r in created.json()["receipts"]
                    ]
                assert admin.post("/v1/admin/seal").json()["tree_size"] == last
                notes.append(admin.get("/checkpoint").text)
        yield {"server": server, "leaves": leaves, "notes": notes, "records": records}
    finally:
        assert server.stop() == 0


def test_the_note_key_is_kept_0600_and_names_the_origin(c2sp: dict[str, Any]) -> None:
    path = c2sp["server"].data_dir / "note-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = parse_signer(path.read_text().strip())
    assert key.name == ORIGIN
    secret = path.read_text().strip().split("+", 4)[4]
    with c2sp["server"].client() as public:
        for url in ("/checkpoint", "/v1/checkpoints/latest", "/metrics", "/openapi.json"):
            assert secret not in public.get(url).text


def test_checkpoint_is_a_signed_note_of_the_latest_size(c2sp: dict[str, Any]) -> None:
    vkey = parse_signer((c2sp["server"].data_dir / "note-key").read_text().strip()).vkey()
    with c2sp["server"].client() as public:
        response = public.get("/checkpoint")
        latest = public.get("/v1/checkpoints/latest").json()
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    opened = open_checkpoint(response.text, ORIGIN, [note_verifier(vkey)])
    assert opened.checkpoint.size == SECOND == latest["tree_size"]
    assert (
        opened.checkpoint.root
        == merkle.root_hash(c2sp["leaves"])
        == bytes.fromhex(latest["root"][2:])
    )
    assert response.text == c2sp["notes"][1]  # kept: the same bytes every time
    old = open_checkpoint(c2sp["notes"][0], ORIGIN, [note_verifier(vkey)])
    assert old.checkpoint.size == FIRST
    assert old.checkpoint.root == merkle.root_hash(c2sp["leaves"][:FIRST])


def test_a_tiles_only_client_rebuilds_inclusion_and_consistency_proofs(
    c2sp: dict[str, Any],
) -> None:
    leaves = c2sp["leaves"]
    with c2sp["server"].client() as public:
        _origin, size, root = read_checkpoint_note(public.get("/checkpoint").text)
        _origin, old_size, old_root = read_checkpoint_note(c2sp["notes"][0])
        client = TilesClient(public, size)
        assert client.mth(0, size) == root  # the tiles hash up to the checkpoint's root
        for index in (0, 1, 255, 256, 299, 511, 512, 699):
            proof = client.inclusion(index)
            merkle.verify_inclusion(index, size, leaves[index], proof, root)
        consistency = client.consistency(old_size)
        merkle.verify_consistency(old_size, size, consistency, old_root, root)
        served = public.get(
            "/v1/proofs/consistency", params={"first": old_size, "second": size}
        ).json()
        assert [bytes.fromhex(h[2:]) for h in served["proof"]] == consistency
        # A tree of the old size, read through the same tiles (they are wider now).
        old_client = TilesClient(public, old_size)
        assert old_client.mth(0, old_size) == old_root
        assert "/tile/0/001.p/44" in old_client.fetched
    with c2sp["server"].client(ADMIN_KEY) as auditor:
        served = auditor.get(f"/v1/proofs/inclusion/0x{leaves[511].hex()}").json()
    assert [bytes.fromhex(h[2:]) for h in served["proof"]] == client.inclusion(511)
    assert set(client.fetched) <= {
        "/tile/0/000",
        "/tile/0/001",
        "/tile/0/002.p/188",
        "/tile/1/000.p/2",
    }


def test_tiles_are_served_with_cache_headers_and_404_beyond_the_tree(
    c2sp: dict[str, Any],
) -> None:
    leaves = c2sp["leaves"]
    with c2sp["server"].client() as public:
        full = public.get("/tile/0/001")
        assert full.content == b"".join(leaves[256:512])
        assert full.headers["content-type"] == "application/octet-stream"
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        partial = public.get("/tile/0/002.p/188")
        assert partial.content == b"".join(leaves[512:700])
        assert partial.headers["cache-control"] == "public, max-age=60"
        narrower = public.get("/tile/0/002.p/5")  # an older tree's view of the same tile
        assert narrower.content == b"".join(leaves[512:517])
        assert public.get("/tile/0/000.p/7").content == b"".join(leaves[:7])
        level1 = public.get("/tile/1/000.p/2").content
        assert level1 == merkle.root_hash(leaves[:256]) + merkle.root_hash(leaves[256:512])
        for path, words in (
            ("/tile/0/002", "beyond the log's sealed tree"),
            ("/tile/0/002.p/189", "beyond the log's sealed tree"),
            ("/tile/0/003.p/1", "beyond the log's sealed tree"),
            ("/tile/1/000", "beyond the log's sealed tree"),
            ("/tile/1/000.p/3", "beyond the log's sealed tree"),
            ("/tile/2/000.p/1", "beyond the log's sealed tree"),
            ("/tile/0/1", "not a tlog-tiles path"),
            ("/tile/0/x000/001", "leading zero group"),
            ("/tile/0/000.p/256", "width is 1 to 255"),
            ("/tile/64/000", "above 63"),
            ("/tile/0/" + "x123/" * 300 + "000", "not a tlog-tiles path"),
        ):
            assert_problem(public.get(path), 404, words)


def test_entry_bundles_are_for_auditors_and_hash_to_the_tiles(c2sp: dict[str, Any]) -> None:
    server: Server = c2sp["server"]
    with server.client() as public:
        assert_problem(public.get("/tile/entries/000"), 401, "needs an API key")
        tile0 = public.get("/tile/0/000").content
        tile2 = public.get("/tile/0/002.p/188").content
    with server.client(server.key("ingest")) as ingest:
        assert_problem(ingest.get("/tile/entries/000"), 403, "needs auditor or admin")
    with server.client(server.key("auditor")) as auditor:
        full = auditor.get("/tile/entries/000")
        partial = auditor.get("/tile/entries/002.p/188")
        assert_problem(auditor.get("/tile/entries/002"), 404, "beyond the log's sealed leaves")
        assert_problem(auditor.get("/tile/entries/003.p/1"), 404, "beyond the log's sealed leaves")
        assert_problem(auditor.get("/tile/entries/000.p/0"), 404, "width is 1 to 255")
        # Bundles whose leaves lie past SQL's BIGINT (2**63 - 1): 404, not the driver's
        # overflow as a 500; the last is the highest index a tile path may name.
        for index in ("x036/x028/x797/x018/x963/967.p/255", "x036/x028/x797/x018/x963/968"):
            assert_problem(
                auditor.get(f"/tile/entries/{index}"), 404, "beyond the log's sealed leaves"
            )
        last = auditor.get("/tile/entries/x072/x057/x594/x037/x927/935")
        assert_problem(last, 404, "bundle 72057594037927935 of width 256 is beyond")
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == "private, no-store"
    assert partial.headers["cache-control"] == "private, no-store"
    for bundle, tile in ((full.content, tile0), (partial.content, tile2)):
        entries, at = [], 0
        while at < len(bundle):  # uint16 big-endian length, then the entry
            size = int.from_bytes(bundle[at : at + 2], "big")
            entries.append(bundle[at + 2 : at + 2 + size])
            at += 2 + size
        assert at == len(bundle)
        hashed = b"".join(hashlib.sha256(b"\x00" + entry).digest() for entry in entries)
        assert hashed == tile


def test_the_identity_names_the_note_key_and_anchoring_keeps_notes(
    tmp_path_factory: pytest.TempPathFactory,
    anvil_binary: Path,  # noqa: F811
) -> None:
    """On a deployed log: GET /v1/log and `ledger identity` carry `note_vkey`, whose
    name is the origin, and a checkpoint sealed without the note key (`ledger seal`)
    gets its note when the anchorer queues it."""
    with anchored_server(tmp_path_factory.mktemp("c2sp-chain"), anvil_binary) as (server, _):
        where = ["--data-dir", str(server.data_dir)]
        with server.client(ADMIN_KEY) as admin:
            published = admin.get("/v1/log")
            assert published.status_code == 200, published.text
            identity = parse_identity(published.content)
            created = admin.post("/v1/entries", json=interaction(0, seed=1416))
            assert created.status_code == 202, created.text
            ledger("seal", *where)  # the CLI has no note key: no note kept
            database = server.data_dir / "ledger.db"
            assert _notes(database) == [(1, None)]
            assert admin.post("/v1/admin/anchor").status_code == 200
            (kept,) = _notes(database)  # by the anchorer, before anything asked for it
            served = admin.get("/checkpoint").text
        assert (
            identity.note_vkey
            == parse_signer((server.data_dir / "note-key").read_text().strip()).vkey()
        )
        assert identity.origin == "localhost/model-ledger"  # no --public-host: the default
        printed = json.loads(ledger("identity", *where).stdout)
        assert printed["note_vkey"] == identity.note_vkey
        assert kept == (1, served)
        assert identity.origin is not None and identity.note_vkey is not None
        opened = open_checkpoint(served, identity.origin, [note_verifier(identity.note_vkey)])
        assert opened.checkpoint.size == 1


def _notes(database: Path) -> list[tuple[int, str | None]]:
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT tree_size, note FROM checkpoints ORDER BY tree_size")
        return [(int(size), note) for size, note in rows]


def test_the_origin_is_the_public_host_and_the_deployed_name_and_never_changes(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811
) -> None:
    node = Anvil(0, tmp_path / "anvil-state.json", tmp_path / "anvil.log", binary=anvil_binary)
    node.start()
    try:
        where = ["--data-dir", str(tmp_path / "data")]
        host = {"LEDGER_PUBLIC_HOST": "ledger.example.com:8443/logs"}
        ledger("deploy", *where, "--rpc-url", node.url, "--log-name", "Audit Log 2026", env=host)
        printed = json.loads(ledger("identity", *where, env=host).stdout)
        assert printed["name"] == "Audit Log 2026"
        assert printed["note_vkey"].startswith("ledger.example.com:8443/logs/Audit-Log-2026+")
        # Without a public host the key's own origin holds; another one is refused.
        assert json.loads(ledger("identity", *where).stdout)["note_vkey"] == printed["note_vkey"]
        moved = ledger("identity", *where, env={"LEDGER_PUBLIC_HOST": "other.example"}, check=False)
        assert moved.returncode != 0 and moved.stdout == ""
        assert "names the origin 'ledger.example.com:8443/logs/Audit-Log-2026'" in moved.stderr
        assert "a log's origin cannot change" in moved.stderr
        bad = ledger("identity", *where, env={"LEDGER_PUBLIC_HOST": "Ledger.Example"}, check=False)
        assert bad.returncode != 0 and "not a lowercase host name: 'Ledger.Example'" in bad.stderr
    finally:
        node.stop()
