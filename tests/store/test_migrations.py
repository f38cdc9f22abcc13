"""Alembic migrations: the head is the revision the code expects, and upgrading twice
is harmless, on both backends."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

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
