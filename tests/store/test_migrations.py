"""Alembic migrations: the head is the revision the code expects, and upgrading twice
is harmless, on both backends."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

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


def test_migration_0008_adds_checkpoint_notes_and_back(db_url: str) -> None:
    from alembic import command

    engine = create_db_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def alembic(action: str, revision: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)

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
