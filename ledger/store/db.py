"""Database URLs, engines and migrations.

SQLite (a file under the data dir, WAL, fsync on commit) is the embedded default;
PostgreSQL is reached with any SQLAlchemy URL or a plain ``postgresql://user@host/db``
as users write it (psycopg 3 is the driver).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ledger.core.errors import InputError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_FILE = "ledger.db"
SCHEMA_REVISION = "0014"
"""The newest Alembic revision (tests/store/test_migrations.py checks it is the head)."""


class DatabaseURLError(InputError):
    """A database URL this project cannot use."""


def normalize_url(url: str) -> str:
    """Map the URL forms users write onto the drivers we ship.

    >>> normalize_url("postgresql://postgres@127.0.0.1:5432/test")
    'postgresql+psycopg://postgres@127.0.0.1:5432/test'
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabaseURLError(f"not a database URL: {url!r} ({error})") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return parsed.render_as_string(hide_password=False)


def sqlite_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file in the data dir."""
    return f"sqlite:///{(data_dir / SQLITE_FILE).resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA page_size=16384")  # only takes effect on a new database
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB
    # Freed content is overwritten with zeros, so an erased record (ledger.store.erasure)
    # leaves no copy in the file: not in its old cell, nor in free or rebalanced pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str, *, writer: bool = True) -> Engine:
    """An engine for `url` with this project's settings (normalized first).

    On SQLite a writer engine opens every transaction with BEGIN IMMEDIATE, taking the
    write lock up front (so a read-then-write transaction never fails half-way on a
    busy database); a reader engine uses plain BEGIN, a consistent snapshot that never
    blocks or is blocked by the writer (WAL).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=8)
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        # Let SQLite's own BEGIN run (the driver's implicit one is off).
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent).

    A database already at SCHEMA_REVISION is left alone without loading Alembic, which
    keeps every CLI command's start-up short.
    """
    if schema_revision(engine) == SCHEMA_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
