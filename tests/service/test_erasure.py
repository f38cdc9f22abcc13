"""Erasure, legal holds and retention on a real SQLite file and a real PostgreSQL
database: openings destroyed, leaf hashes, tiles, roots and index postings kept, every
step logged by a digest record whose statement names no personal data."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from array import array
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

import ledger.service.erasure
from ledger.core.index.keys import STATEMENT_KEY, entry_keys, key_hash, record_keys
from ledger.core.merkle.batch import Packed
from ledger.core.records import now_ts, parse_object
from ledger.errors import ErasedError, InvalidRequestError, NotFoundError
from ledger.formats.export_line import Erased
from ledger.formats.pack import parse_query
from ledger.formats.statement import (
    erasure_statement,
    leaves_digest,
    leaves_root,
    statement_sha256,
)
from ledger.service.completeness import (
    ERASURE_TREES,
    ErasureTree,
    ErasureTrees,
    build_completeness,
)
from ledger.service.erasure import (
    MIN_RETENTION_DAYS,
    HoldError,
    _log_statement,
    add_hold,
    apply_retention,
    erase,
    lift_hold,
    list_holds,
)
from ledger.service.evidence import build_evidence
from ledger.service.evidence_pack import build_pack
from ledger.service.proofs import inclusion
from ledger.service.sequencer import seal
from ledger.store.anchors import AnchorRepository, Deployment
from ledger.store.erasure import ErasureStore, Target, seq_spans, unpack_seqs
from ledger.store.exports import export_records
from ledger.store.index import IndexStore
from ledger.store.repository import Store
from ledger.verify.completeness import verify_completeness
from ledger.verify.pack import verify_pack
from ledger.workload import interaction
from tests.api.conftest import ledger as mledger
from tests.conftest import POSTGRES_URL
from tests.service.test_window_blocks import NOW, anchored

SECRET = "alice-7f3e9c"
"""The account erased in these tests: its bytes must leave the database."""


def _fill(store: Store, count: int = 40) -> list[bytes]:
    """`count` interactions, every 4th of SECRET (old), the rest of bob (recent); sealed."""
    records = [
        interaction(
            i,
            seed=5,
            account=SECRET if i % 4 == 0 else "bob",
            ts="2020-01-01T00:00:00.000Z" if i % 2 == 0 else now_ts(),
        )
        for i in range(count)
    ]
    entries = [parse_object(record) for record in records]
    store.add_entries([entries])
    seal(store)
    return [entry.leaf_hash for entry in entries]


def test_erase_account_keeps_every_proof(store: Store) -> None:
    leaves = _fill(store)
    before = store.state()
    done = erase(store, "account", "GDPR art. 17 request 118", account=SECRET)
    erased = [leaf for i, leaf in enumerate(leaves) if i % 4 == 0]
    assert done.count == 10 and done.held == 0
    assert done.leaves_sha256 == leaves_digest(erased)
    assert done.statement is not None
    assert done.statement["leaves_root"] == leaves_root(zip(range(0, 40, 4), erased)).hex()
    assert done.statement is not None and SECRET not in json.dumps(done.statement)
    assert done.statement["criterion"] == "account" and done.statement["count"] == 10
    # The erasure is logged: a digest record committing to the statement, pending.
    assert done.record is not None
    with store.read() as conn:
        logged = store.find_entry(conn, done.record)
        assert logged is not None and logged.kind == "digest"
        assert json.loads(logged.record)["body"]["sha256"] == statement_sha256(done.statement)
        statement = ErasureStore(store).statement(conn, done.record)
    assert statement is not None and json.loads(statement[1]) == done.statement
    # Roots, proofs and the export keep every leaf hash; erased ones carry the marker.
    after = seal(store)
    assert after.tree_size == before.tree_size + 1
    proof = inclusion(store, erased[0], before.tree_size)
    assert proof.root == before.root
    _, lines = export_records(store, 0, None)
    exported = list(lines)
    markers = [record for _, record in exported if isinstance(record, Erased)]
    assert [m.leaf_hash for m in markers] == erased
    assert {m.erased_by for m in markers} == {done.record}
    # Evidence says when, and by which record.
    with pytest.raises(ErasedError, match="was erased at .* inclusion proof still verifies"):
        build_evidence(store, AnchorRepository(store), erased[0])
    # The index still finds the erased entries (by key hash); the key's text is gone.
    with store.read() as conn:
        postings = IndexStore(store).postings(conn, "account", SECRET, after.last_seq)
        assert postings == list(range(0, 40, 4))
        text = conn.exec_driver_sql(
            "SELECT key FROM index_keys WHERE key_hash = " + ("%s" if store.is_postgres else "?"),
            (key_hash(f"account:{SECRET}"),),
        ).scalar()
        assert text == ""
        left = conn.exec_driver_sql(
            "SELECT count(*) FROM entries WHERE account_id = 'bob' AND erased_at IS NULL"
        ).scalar()
    assert left == 30
    # Erasing again erases nothing and logs nothing.
    again = erase(store, "account", "again", account=SECRET)
    assert again.count == 0 and again.record is None


def test_holds_block_erasure_until_lifted(store: Store) -> None:
    leaves = _fill(store)
    hold = add_hold(store, "account", "bob", "litigation 2026-7")
    assert [h.id for h in list_holds(store, active_only=True)] == [hold.id]
    kept = erase(store, "before", "old entries", before="2021-01-01T00:00:00Z")
    assert (kept.count, kept.held) == (10, 10)  # only SECRET's old entries
    by_leaf = erase(store, "leaves", "one of bob's", leaves=[leaves[1]])
    assert (by_leaf.count, by_leaf.held) == (0, 1)
    with pytest.raises(HoldError, match="already lifted"):
        lift_hold(store, lift_hold(store, hold.id, "case closed").id, "twice")
    assert list_holds(store, active_only=True) == []
    done = erase(store, "before", "old entries", before="2021-01-01T00:00:00Z")
    assert (done.count, done.held) == (10, 0)
    # Holds and lifts are logged too.
    with store.read() as conn:
        kinds = [
            row[0]
            for row in conn.exec_driver_sql("SELECT kind FROM statements ORDER BY created_at")
        ]
    assert sorted(kinds) == ["erasure", "erasure", "hold", "lift"]


def test_bad_requests_change_nothing(store: Store) -> None:
    leaves = _fill(store, 8)
    model = parse_object(
        {
            "v": 1,
            "kind": "model",
            "body": {"model_id": "m", "version": "1", "artifact_sha256": "ab" * 32},
        }
    )
    store.add_entries([[model]])
    seal(store)
    state = store.state()
    with pytest.raises(InvalidRequestError, match="is a model record: only interaction and digest"):
        erase(store, "leaves", "r", leaves=[model.leaf_hash])
    with pytest.raises(InvalidRequestError, match="reason must not be empty"):
        erase(store, "account", "  ", account=SECRET)
    with pytest.raises(NotFoundError, match="no entry has leaf hash 0x" + "ab" * 32):
        erase(store, "leaves", "r", leaves=[leaves[0], b"\xab" * 32])
    with pytest.raises(InvalidRequestError, match="before: not a UTC time"):
        erase(store, "before", "r", before="yesterday")
    with pytest.raises(InvalidRequestError, match="hold scope must be one of account, licence"):
        add_hold(store, "model", "m", "r")
    with pytest.raises(NotFoundError, match="no legal hold has id 'hold-x'"):
        lift_hold(store, "hold-x", "r")
    with pytest.raises(InvalidRequestError, match="shorter than 183"):
        apply_retention(store, 30)
    assert store.pending_count() == 0 and store.state() == state
    with store.read() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM entries WHERE erased_at IS NOT NULL"
            ).scalar()
            == 0
        )


def test_retention_erases_what_is_older(store: Store) -> None:
    _fill(store, 8)
    done = apply_retention(store, MIN_RETENTION_DAYS)
    assert done.criterion == "retention" and done.count == 4  # the 2020 entries (even i)
    assert done.statement is not None and done.statement["reason"] == (
        f"retention period of {MIN_RETENTION_DAYS} days ended"
    )
    forced = apply_retention(store, 1, force=True)  # the rest are from today
    assert forced.criterion == "retention" and (forced.count, forced.record) == (0, None)


def _erased_values(count: int = 40) -> list[bytes]:
    """What an erasure of SECRET must remove: the account id, and each erased record's
    salt and request id."""
    values = [SECRET.encode()]
    for i in range(0, count, 4):
        record = interaction(i, seed=5, account=SECRET)
        values += [record["salt"].encode(), f'"{record["body"]["request_id"]}"'.encode()]
    return values


def test_erased_bytes_leave_the_sqlite_file(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        _fill(store)
        before = b"".join(path.read_bytes() for path in tmp_path.iterdir())
        assert all(value in before for value in _erased_values())
        done = erase(store, "account", "GDPR", account=SECRET)
        assert done.scrubbed == "PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on"
        files = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    finally:
        store.close()
    for name, data in files.items():
        for value in _erased_values():
            assert value not in data, f"{value!r} is still in {name}"
    assert b'"bob"' in files["ledger.db"] or b"bob" in files["ledger.db"]


@pytest.mark.postgres
def test_erased_bytes_leave_the_postgres_pages(postgres_url: str) -> None:
    """After an erasure with VACUUM FULL, no heap or index page of the tables that held
    the record (read raw with pageinspect) holds its bytes. (Plain VACUUM leaves them in
    the heap pages' free space: docs/privacy.md says so.)"""
    store = Store.open(postgres_url)
    try:
        _fill(store)
        # A transaction running meanwhile in another database of the cluster: VACUUM
        # FULL's own snapshot would keep every row version deleted after it began.
        with psycopg.connect(POSTGRES_URL) as elsewhere:
            elsewhere.execute("SELECT pg_current_xact_id()")
            done = erase(store, "account", "GDPR", account=SECRET, vacuum_full=True)
        assert done.scrubbed == "VACUUM FULL entries, index_keys"
    finally:
        store.close()
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        relations = [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
                " AND (c.relname LIKE 'entries%' OR c.relname LIKE 'index_keys%')"
            )
        ]
        pages = b""
        for relation in relations:
            blocks = conn.execute(
                "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
                (relation,),
            ).fetchone()
            assert blocks is not None
            for block in range(int(blocks[0])):
                row = conn.execute("SELECT get_raw_page(%s, %s)", (relation, block)).fetchone()
                assert row is not None
                pages += bytes(row[0])
    assert b"bob" in pages
    for value in _erased_values():
        assert value not in pages, f"{value!r} is still in a page of {relations}"


@pytest.mark.postgres
def test_the_postgres_scrub_waits_for_snapshots_that_see_the_erased_rows(
    postgres_url: str,
) -> None:
    """A reader of the same database whose snapshot is older than the erasure keeps
    VACUUM from removing the old row versions: the scrub waits for it to end, and says
    so when it outlasts the scrub's patience."""
    store = Store.open(postgres_url)
    try:
        _fill(store)
        with psycopg.connect(postgres_url) as reader:
            reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            reader.execute("SELECT count(*) FROM entries")
            done = erase(store, "account", "GDPR", account=SECRET, scrub_patience=0.3)
            assert done.count == 10  # kept: its 10 entries and its index key row
            assert done.scrubbed == (
                "VACUUM entries, index_keys; 11 old row versions are still visible to open"
                " transactions: run the erasure again later to remove them"
            )
            owed = ErasureStore(store).owed_scrub()  # not complete: still owed
            assert owed is not None and owed.erased_by == done.record
            ending = threading.Timer(1.0, reader.rollback)
            ending.start()
            started = time.monotonic()
            done = erase(store, "account", "GDPR", account="bob")
            ending.join()
        assert done.scrubbed == "VACUUM entries, index_keys"
        assert time.monotonic() - started >= 1.0
        assert ErasureStore(store).owed_scrub() is None
    finally:
        store.close()


def test_the_logs_own_records_are_never_erased(store: Store) -> None:
    _fill(store, 8)
    hold = add_hold(store, "account", "bob", "r")
    seal(store)
    with pytest.raises(InvalidRequestError, match="is the log's own record of an erasure"):
        erase(store, "leaves", "r", leaves=[hold.added_by])
    model = parse_object(
        {
            "v": 1,
            "kind": "model",
            "body": {"model_id": "m", "version": "1", "artifact_sha256": "ab" * 32},
        }
    )
    store.add_entries([[model]])
    seal(store)
    done = erase(store, "before", "r", before="2100-01-01T00:00:00Z")
    # SECRET's; bob's are held; the hold record and the model record stay
    assert (done.count, done.held) == (2, 6)
    seal(store)
    assert erase(store, "before", "r", before="2100-01-01T00:00:00Z").count == 0
    with store.read() as conn:
        kept = store.find_entry(conn, hold.added_by)
    assert kept is not None and kept.erased_at is None


def test_seq_spans() -> None:
    """Erasure destroys runs of consecutive seqs by range: the runs cover exactly the
    seqs given."""
    assert seq_spans([]) == []
    assert seq_spans([7]) == [(7, 7)]
    assert seq_spans([1, 2, 3, 5, 6, 9]) == [(1, 3), (5, 6), (9, 9)]
    assert seq_spans(list(range(10, 100_010))) == [(10, 100_009)]


@pytest.mark.postgres
def test_the_postgres_scrub_leaves_no_notice_handler_on_pooled_connections(
    postgres_url: str,
) -> None:
    """The scrub reads VACUUM VERBOSE's notices with a handler on a pooled connection:
    it is removed after, so erasures do not pile up handlers (each keeping its list of
    notices alive and appended to by every later notice on that connection)."""
    store = Store.open(postgres_url)
    try:
        _fill(store)
        for account in (SECRET, "bob", SECRET):
            erase(store, "account", "GDPR", account=account)
        held = []
        try:
            for _ in range(store.engine.pool.checkedin()):
                held.append(store.engine.connect())
            drivers = [conn.connection.driver_connection for conn in held]
            handlers = [h.__module__ for d in drivers for h in d._notice_handlers]
        finally:
            for conn in held:
                conn.close()
        # SQLAlchemy's own handler (which logs notices) stays; none of the scrub's.
        assert held and "ledger.store.erasure" not in handlers, handlers
    finally:
        store.close()


def test_erased_postings_are_the_entries_index_keys(store: Store) -> None:
    """The postings an erasure files (hashed by the server on PostgreSQL, in Python on
    SQLite) are exactly (key_hash(key), seq) of each erased entry's `entry_keys`, for
    non-ASCII values too, by time (one run of seqs) and by account (scattered seqs)."""
    records = [
        interaction(i, seed=3, account=["zoë-ß", "李", "bob"][i % 3], ts="2020-01-01T00:00:00.000Z")
        for i in range(30)
    ]
    for i, record in enumerate(records):
        record["body"]["model"] = f"modèle-{i % 2}"
    store.add_entries([[parse_object(record) for record in records]])
    seal(store)
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT seq, kind, external_id, account_id, model FROM entries ORDER BY seq"
        ).fetchall()
    expected = {(key_hash(key), row[0]) for row in rows for key in entry_keys(*row[1:])}
    by_account = {(h, seq) for h, seq in expected if rows[seq - 1][3] == "李"}
    assert len(by_account) == 20

    def filed() -> set[tuple[bytes, int]]:
        """The postings kept by key hash, checked against those kept in the rows."""
        with store.read() as conn:
            packed = conn.exec_driver_sql("SELECT key_hash, seqs FROM erased_postings").all()
            rows = conn.exec_driver_sql(
                "SELECT seq, key_hashes FROM entries WHERE erased_at IS NOT NULL"
            ).all()
        by_key = {(bytes(h), seq) for h, seqs in packed for seq in unpack_seqs(bytes(seqs))}
        in_rows = {(bytes(hashes[i : i + 32]), int(seq)) for seq, hashes in rows for i in (0, 32)}
        assert by_key == in_rows
        return by_key

    assert erase(store, "account", "r", account="李").count == 10
    assert filed() == by_account
    seal(store)
    assert erase(store, "before", "r", before="2021-01-01T00:00:00Z").count == 20
    assert filed() == expected


def test_completeness_and_packs_prove_erased_markers(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evidence at a size that holds the erasure's record proves each erased entry's
    marker (its member proof, the erasure's record, statement and inclusion once); at a
    size before it, or for an erasure whose statement has no leaves_root (as those
    logged before it was added), the marker is left the operator's claim. Offline
    verification says which."""
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    _fill(store)
    first = anchored(store, anchors)
    done = erase(store, "account", "GDPR art. 17 request 118", account=SECRET)
    second = anchored(store, anchors)
    key = f"account:{SECRET}"
    before = build_completeness(store, anchors, key, first)
    assert "erasures" not in before
    assert all("member" not in e["erased"] for e in before["entries"])
    words = verify_completeness(json.dumps(before), None).checks
    assert "operator's claim" in next(c.detail for c in words if c.name == "record")
    after = build_completeness(store, anchors, key, second)
    ERASURE_TREES.clear()  # the erasure's tree read again: the same document
    assert build_completeness(store, anchors, key, second) == after
    assert [e["erased"]["member"]["position"] for e in after["entries"]] == list(range(10))
    [erasure] = after["erasures"]
    assert (erasure["leaf_index"], erasure["statement"]) == (40, done.statement)
    checks = verify_completeness(json.dumps(after), None).checks
    assert next(c.detail for c in checks if c.name == "record").endswith(
        "10 erased entries carry their leaf hash only, each proven erased by a logged erasure"
    )
    query = parse_query({"account_ids": [SECRET, "bob"], "kind": "interaction"})
    pack = json.loads(build_pack(store, anchors, query, anchor="latest", complete=True).document)
    assert pack["completeness"]["erasures"] == after["erasures"]
    result = verify_pack(json.dumps(pack), None)
    assert [(k.erased, k.proven) for k in result.complete_keys] == [(10, 10), (0, 0)]
    # An erasure logged as earlier versions did, without leaves_root: not proven.
    made = erasure_statement

    def old_statement(*args: Any) -> Any:
        return made(*args[:6])  # no root

    monkeypatch.setattr(ledger.service.erasure, "erasure_statement", old_statement)
    old = erase(store, "leaves", "old style", leaves=[_bob_leaf(store)])
    assert old.statement is not None and "leaves_root" not in old.statement
    third = anchored(store, anchors)
    legacy = build_completeness(store, anchors, "account:bob", third)
    assert "erasures" not in legacy
    [marker] = [e["erased"] for e in legacy["entries"] if "erased" in e]
    assert "member" not in marker
    assert verify_completeness(json.dumps(legacy), None).valid
    # An erasure whose record has a random salt, as versions before the statement salt
    # logged it: a verifier would not take it as the log's (check erasure), so not proven.
    monkeypatch.undo()
    monkeypatch.setattr(ledger.service.erasure, "statement_salt", lambda _: "cd" * 16)
    random = erase(store, "leaves", "random salt", leaves=[_bob_leaf(store)])
    assert random.statement is not None and "leaves_root" in random.statement
    fourth = anchored(store, anchors)
    salted = build_completeness(store, anchors, "account:bob", fourth)
    assert "erasures" not in salted
    assert [set(e["erased"]) for e in salted["entries"] if "erased" in e] == [{"at", "by"}] * 2
    assert verify_completeness(json.dumps(salted), None).valid


def _bob_leaf(store: Store) -> bytes:
    """The leaf hash of bob's first entry."""
    with store.read() as conn:
        found = conn.exec_driver_sql(
            "SELECT leaf_hash FROM entries WHERE account_id = 'bob' ORDER BY seq LIMIT 1"
        ).scalar()
    return bytes(found)


def test_erasure_trees_are_kept_up_to_their_limit(store: Store) -> None:
    """An erasure's tree is built once while kept; past the limit of members the least
    recently used erasure is dropped (and built again when asked)."""
    trees = ErasureTrees(limit=3)
    built: list[bytes] = []

    def tree(by: bytes, size: int) -> ErasureTree:
        def build() -> ErasureTree:
            built.append(by)
            return ErasureTree(array("Q", range(size)), (Packed([b"\x00" * 32] * size),))

        return trees.tree(store, by, build)

    first = tree(b"a", 2)
    assert tree(b"a", 2) is first and built == [b"a"]
    tree(b"b", 2)  # four members: "a", the least recently used, is dropped
    tree(b"b", 2)
    tree(b"a", 2)
    assert built == [b"a", b"b", b"a"]


def test_statement_records_are_filed_under_statement_log(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seal files the log's own statement records, and only them (not an erasure
    record with a random salt, as versions before the statement salt logged them), under
    statement:log; the postings the service proves it with are those (a completeness
    proof of the key verifies), before and after such a record is erased by hand, whose
    erased row and postings (hashed by the server on PostgreSQL) keep the key's hash.
    The service refuses to erase one by leaf hash, the statements table aside too."""
    anchors = AnchorRepository(store)
    anchors.record_deployment(
        Deployment(31337, b"\x5f" * 20, bytes(range(32)), "t", b"\x01" * 20, 1, NOW)
    )
    _fill(store, 12)
    hold = add_hold(store, "account", "bob", "case 4")
    done = erase(store, "account", "request 7", account=SECRET)
    assert done.record is not None
    monkeypatch.setattr(ledger.service.erasure, "statement_salt", lambda _: "cd" * 16)
    carol = parse_object(interaction(99, seed=9, account="carol"))
    store.add_entries([[carol]])
    seal(store)
    random = erase(store, "leaves", "random salt", leaves=[carol.leaf_hash])
    monkeypatch.undo()
    assert random.record is not None
    size = anchored(store, anchors)

    def proven(size: int) -> list[int]:
        document = build_completeness(store, anchors, STATEMENT_KEY, size)
        result = verify_completeness(json.dumps(document), None)
        assert result.valid and result.complete is not None
        return list(result.complete.leaf_indices)

    with store.read() as conn:
        statements = [
            found.leaf_index
            for leaf in (hold.added_by, done.record, random.record)
            if (found := store.find_entry(conn, leaf)) is not None
            and STATEMENT_KEY in record_keys(json.loads(found.record))
        ]
    assert statements == [12, 13] and size == 16  # the hold and the salted erasure
    assert proven(size) == statements
    for leaf in (hold.added_by, done.record):
        with pytest.raises(InvalidRequestError, match="is never erased"):
            erase(store, "leaves", "r", leaves=[leaf])
    # By hand: the salted erasure record erased (going around the refusal), and the
    # random-salt one. Only the first keeps statement:log's hash.
    erasures = ErasureStore(store)
    with store.transaction() as conn:
        rows = [
            conn.exec_driver_sql(
                "SELECT seq, leaf_hash, kind, external_id, account_id, model FROM entries"
                f" WHERE leaf_hash = {erasures.mark}",
                (leaf,),
            ).one()
            for leaf in (done.record, random.record)
        ]
        targets = [Target(int(r[0]), bytes(r[1]), *r[2:]) for r in rows]
        assert [t.leaf_hash for t in targets] == [done.record, random.record]
        members = [(13, done.record), (15, random.record)]
        statement = erasure_statement(
            "leaves",
            "tidy",
            2,
            leaves_digest(m for _, m in members),
            now_ts(),
            root=leaves_root(members),
        )
        logged = _log_statement(store, erasures, conn, "erasure", statement)
        erasures.erase(conn, targets, statement["ts"], logged)
    with store.read() as conn:
        kept = {
            leaf: conn.exec_driver_sql(
                f"SELECT key_hashes FROM entries WHERE leaf_hash = {erasures.mark}", (leaf,)
            ).scalar()
            for leaf in (done.record, random.record)
        }
        filed = erasures.erased_postings(conn, key_hash(STATEMENT_KEY), 10**9)
    assert {bytes(k): bytes(v) for k, v in kept.items()} == {
        done.record: key_hash(STATEMENT_KEY),
        random.record: b"",
    }
    assert filed == [targets[0].seq]
    assert proven(anchored(store, anchors)) == [*statements, 16]


def _files(folder: Path) -> str:
    """Which erased values of SECRET a file of `folder` holds ("file: value" each)."""
    return " ".join(
        f"{path.name}: {value!r}"
        for path in folder.iterdir()
        for value in _erased_values()
        if value in path.read_bytes()
    )


def test_an_erasure_killed_before_its_scrub_is_scrubbed_by_the_next_retention_run(
    db_url: str, tmp_path: Path
) -> None:
    """`mledger erase` SIGKILLed between its commit and its scrub (fault point
    ``erase.after_commit``) leaves the scrub owed, with the erasure's record; a retention
    run that finds nothing old enough runs it and forgets it, as does `mledger erase`
    choosing nothing after a second such crash. On SQLite, with this test's
    store holding the database open (so no closing connection checkpoints), the erased
    bytes are in the files until then and in none after."""
    sqlite = db_url.startswith("sqlite")
    where = ["--data-dir", str(tmp_path)] if sqlite else ["--database-url", db_url]
    fault = {"LEDGER_FAULT": "erase.after_commit"}
    store = Store.open(db_url)
    try:
        _fill(store)
        erasures = ErasureStore(store)
        assert erasures.owed_scrub() is None
        killed = mledger(
            "erase",
            "--account",
            SECRET,
            "--reason",
            "GDPR",
            *where,
            check=False,
            env=fault,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert "fault injected at erase.after_commit" in killed.stderr
        with store.read() as conn:
            erased = conn.exec_driver_sql(
                "SELECT DISTINCT erased_by FROM entries WHERE erased_by IS NOT NULL"
            ).all()
        owed = erasures.owed_scrub()
        assert owed is not None and [(owed.erased_by,)] == [(bytes(b),) for (b,) in erased]
        assert not owed.vacuum_full
        if sqlite:
            assert SECRET in _files(tmp_path)
        done = apply_retention(store, 365 * 30)  # nothing is 30 years old
        assert (done.count, done.record) == (0, None)
        scrub = (
            "PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on"
            if sqlite
            else "VACUUM entries, index_keys"
        )
        assert done.scrubbed == (
            f"nothing erased; the scrub owed since {owed.since} by an erasure's crash: {scrub}"
        )
        assert erasures.owed_scrub() is None
        if sqlite:
            assert _files(tmp_path) == ""
        again = apply_retention(store, 365 * 30)
        assert again.scrubbed == "nothing erased"  # nothing owed: nothing run
        # Killed again (bob's entries), then `mledger erase` choosing nothing runs it.
        mledger("erase", "--account", "bob", "--reason", "ask", *where, check=False, env=fault)
        assert erasures.owed_scrub() is not None
        nothing = ["--before", "1990-01-01T00:00:00Z", "--reason", "GDPR", *where]
        said = json.loads(mledger("erase", *nothing).stdout)["scrubbed"]
        assert said.startswith("nothing erased; the scrub owed since") and said.endswith(scrub)
        assert erasures.owed_scrub() is None
        assert json.loads(mledger("erase", *nothing).stdout)["scrubbed"] == "nothing erased"
    finally:
        store.close()


def test_a_blocked_sqlite_checkpoint_keeps_the_scrub_owed(tmp_path: Path) -> None:
    """A reader keeps the checkpoint from completing: the scrub stays owed (and the bytes
    in the WAL) until an erasure that finds nothing to erase runs it unblocked."""
    store = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        _fill(store)
        with closing(sqlite3.connect(tmp_path / "ledger.db")) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM entries").fetchone()
            done = erase(store, "account", "GDPR", account=SECRET)
            assert done.scrubbed == (
                "PRAGMA wal_checkpoint(TRUNCATE) blocked by a reader: run it again later"
            )
            owed = ErasureStore(store).owed_scrub()
            assert owed is not None and owed.erased_by == done.record
            assert SECRET in _files(tmp_path)
            reader.execute("COMMIT")
        later = erase(store, "account", "GDPR", account=SECRET)
        assert later.count == 0 and later.scrubbed.endswith(
            "by an erasure's crash: PRAGMA wal_checkpoint(TRUNCATE) with secure_delete on"
        )
        assert ErasureStore(store).owed_scrub() is None
        assert _files(tmp_path) == ""
    finally:
        store.close()


def test_a_scrub_forgets_only_what_it_read_as_owed(store: Store) -> None:
    """An erasure committed after a scrub read the owed record (so perhaps after its
    checkpoint or VACUUM) keeps its own scrub owed: the record is forgotten only if
    unchanged."""
    erasures = ErasureStore(store)
    with store.transaction() as conn:
        erasures.owe_scrub(conn, bytes([1]) * 32, "2026-01-01T00:00:00.000Z", False)
    read = erasures.owed_scrub()
    assert read is not None
    with store.transaction() as conn:
        erasures.owe_scrub(conn, bytes([2]) * 32, "2026-01-02T00:00:00.000Z", True)
    erasures._paid(read)
    kept = erasures.owed_scrub()
    assert kept is not None
    assert (kept.erased_by, kept.since, kept.vacuum_full) == (
        bytes([2]) * 32,
        "2026-01-01T00:00:00.000Z",  # the oldest erasure that owes it
        True,
    )
    erasures._paid(kept)
    assert erasures.owed_scrub() is None
