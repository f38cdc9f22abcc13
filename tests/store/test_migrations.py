"""Alembic migrations: the head is the revision the code expects, and upgrading twice
is harmless, on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ledger.store.db import (
    MIGRATIONS,
    SCHEMA_REVISION,
    create_db_engine,
    migrate,
    normalize_url,
    schema_revision,
)


def test_schema_revision_is_the_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_migrate_creates_every_table_once(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert schema_revision(engine) is None
        migrate(engine)
        migrate(engine)
        assert schema_revision(engine) == SCHEMA_REVISION
        tables = set(inspect(engine).get_table_names())
        assert {"entries", "runs", "tiles", "checkpoints", "log_state", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_plain_postgres_urls_get_our_driver() -> None:
    assert (
        normalize_url("postgresql://postgres@127.0.0.1:5432/test")
        == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def _alembic(engine: Engine) -> Callable[[str, str], None]:
    """alembic(action, revision): run Alembic's upgrade or downgrade to a revision."""
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def alembic(action: str, revision: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)

    return alembic


def test_migration_0008_adds_checkpoint_notes_and_back(db_url: str) -> None:
    engine = create_db_engine(db_url)
    alembic = _alembic(engine)
    try:
        alembic("upgrade", "0006")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO checkpoints (tree_size, root, created_at, last_seq)"
                    " VALUES (7, :root, '2026-01-01T00:00:00.000Z', 7)"
                ),
                {"root": bytes(32)},
            )
        alembic("upgrade", "0008")
        with engine.connect() as connection:
            rows = list(connection.execute(text("SELECT tree_size, note FROM checkpoints")))
        assert [tuple(row) for row in rows] == [(7, None)]  # sealed before: signed on demand
        alembic("downgrade", "0006")
        columns = {column["name"] for column in inspect(engine).get_columns("checkpoints")}
        assert "note" not in columns and "tree_size" in columns
    finally:
        engine.dispose()


def test_migration_0012_moves_erased_postings_and_back(db_url: str) -> None:
    """0012 moves erased_keys (a row per key and entry) into entries.key_hashes and
    erased_postings (a row per key, seqs packed); downgrade moves them back."""
    from ledger.store.erasure import unpack_seqs

    engine = create_db_engine(db_url)
    alembic = _alembic(engine)
    a, b, c = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32
    kept = {(a, 1), (b, 1), (a, 3), (c, 3), (a, 4)}
    try:
        alembic("upgrade", "0011")
        with engine.begin() as connection:
            for seq in range(1, 6):
                erased = seq != 2
                connection.execute(
                    text(
                        "INSERT INTO entries (seq, leaf_hash, kind, ts, account_id, record,"
                        " erased_at, erased_by) VALUES (:seq, :leaf, :kind, 't', :acct, :rec,"
                        " :at, :by)"
                    ),
                    {
                        "seq": seq,
                        "leaf": bytes([seq]) * 32,
                        "kind": "digest" if seq == 5 else "interaction",
                        "acct": None if erased else "bob",
                        "rec": b"" if erased else b"{}",
                        "at": "2026-01-01T00:00:00.000Z" if erased else None,
                        "by": bytes(32) if erased else None,
                    },
                )
            connection.execute(
                text("INSERT INTO erased_keys (key_hash, seq) VALUES (:k, :s)"),
                [{"k": k, "s": s} for k, s in kept],
            )
        alembic("upgrade", "0012")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT seq, key_hashes FROM entries")).all()
            packed = connection.execute(text("SELECT * FROM erased_postings")).all()
        assert {int(s): None if h is None else bytes(h) for s, h in rows} == {
            1: a + b,
            2: None,
            3: a + c,
            4: a,
            5: b"",
        }
        assert sorted((bytes(k), int(f), unpack_seqs(bytes(s))) for k, f, s in packed) == [
            (a, 1, (1, 3, 4)),
            (b, 1, (1,)),
            (c, 3, (3,)),
        ]
        assert "erased_keys" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            sql = (
                "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
                if engine.dialect.name == "postgresql"
                else "SELECT sql FROM sqlite_master WHERE name = :n"
            )
            for name, column in (("entries_account_ts", "account_id"), ("entries_model", "model")):
                made = str(connection.execute(text(sql), {"n": name}).scalar())
                assert f"WHERE {column} IS NOT NULL" in made.replace("(", "").replace(")", "")
        alembic("downgrade", "0011")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT key_hash, seq FROM erased_keys")).all()
        assert {(bytes(k), int(s)) for k, s in back} == kept
        assert "key_hashes" not in {c["name"] for c in inspect(engine).get_columns("entries")}
    finally:
        engine.dispose()


def test_migration_0014_adds_scrub_pending_and_back(db_url: str) -> None:
    """0014 adds scrub_pending, which holds one row at most (id 1); downgrade drops it,
    and upgrading again brings it back empty."""
    engine = create_db_engine(db_url)
    alembic = _alembic(engine)
    row = {"by": bytes([7]) * 32, "since": "2026-01-01T00:00:00.000Z", "full": False}
    insert = text(
        "INSERT INTO scrub_pending (id, erased_by, since, vacuum_full)"
        " VALUES (:id, :by, :since, :full)"
    )
    try:
        alembic("upgrade", "0013")
        assert "scrub_pending" not in inspect(engine).get_table_names()
        alembic("upgrade", "0014")
        with engine.begin() as connection:
            connection.execute(insert, {"id": 1, **row})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"id": 2, **row})  # one row at most
        with engine.connect() as connection:
            found = connection.execute(text("SELECT * FROM scrub_pending")).all()
        assert [(i, bytes(b), s, bool(f)) for i, b, s, f in found] == [
            (1, row["by"], row["since"], False)
        ]
        alembic("downgrade", "0013")
        assert "scrub_pending" not in inspect(engine).get_table_names()
        assert "index_blocks" in inspect(engine).get_table_names()
        alembic("upgrade", "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM scrub_pending")).scalar() == 0
    finally:
        engine.dispose()
