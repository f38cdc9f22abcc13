"""Model registrations in SQL, on both backends: a record and its registration stored
together or not at all, one registration per version even when the check is bypassed,
lineage reads registrations only; migration 0005 registers the first record of each
version an older log holds."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select

from ledger.core.records import Entry, parse_object
from ledger.errors import LedgerError
from ledger.service.provenance import (
    AlreadyRegisteredError,
    UnregisteredParentError,
    register_model,
)
from ledger.store.db import MIGRATIONS, SCHEMA_REVISION, create_db_engine, migrate, schema_revision
from ledger.store.models import ModelRepository, model_versions
from ledger.store.repository import Store
from ledger.store.schema import entries


def record(model_id: str, version: str, *parents: tuple[str, str], artefact: str = "w") -> Entry:
    body: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": hashlib.sha256(f"{model_id}@{version}/{artefact}".encode()).hexdigest(),
        "parents": [{"model_id": m, "version": v, "relation": "merge"} for m, v in parents],
    }
    return parse_object({"v": 1, "kind": "model", "body": body})


def counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(entries)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(model_versions)).scalar_one()),
        )


def test_a_record_and_its_registration_are_stored_together(store: Store) -> None:
    base = record("base", "1")
    seq = register_model(store, base)
    assert counts(store) == (1, 1)
    (found,) = ModelRepository(store).registrations(["base"], 10)
    assert (found.seq, found.leaf_hash, found.record, found.leaf_index) == (
        seq,
        base.leaf_hash,
        base.canonical,
        None,
    )
    for refused, error in [
        (record("base", "1", artefact="other"), AlreadyRegisteredError),
        (record("child", "1", ("base", "1"), ("base", "2")), UnregisteredParentError),
        (record("self", "1", ("self", "1")), UnregisteredParentError),
    ]:
        with pytest.raises(error):
            register_model(store, refused)
    assert counts(store) == (1, 1)  # nothing of a refusal


def test_one_registration_per_version_even_past_the_check(store: Store) -> None:
    """The primary key holds when two registrations race past the check."""
    repo = ModelRepository(store)
    register_model(store, record("m", "1"))
    with pytest.raises(LedgerError, match="model 'm' version '1' was registered meanwhile"):
        repo.register(record("m", "1", artefact="racer"), ("m", "1"), [], lambda _registered: None)
    assert counts(store) == (1, 1)


def test_model_records_that_register_nothing_are_not_read(store: Store) -> None:
    unregistered = record("m", "1", artefact="side door")
    store.add_entries([[unregistered]])  # as POST /v1/entries or `ledger ingest` store it
    assert ModelRepository(store).registrations(["m"], 10) == []
    registered = record("m", "1")
    register_model(store, registered)
    assert [r.leaf_hash for r in ModelRepository(store).registrations(["m"], 10)] == [
        registered.leaf_hash
    ]


def test_migration_0005_registers_the_first_record_of_each_version(db_url: str) -> None:
    engine = create_db_engine(db_url)
    first, again, second = (
        record("m", "1"),
        record("m", "1", artefact="later"),
        record("m", "2", ("m", "1")),
    )
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
        with engine.begin() as connection:
            connection.execute(
                entries.insert(),
                [
                    dict(
                        zip(
                            (
                                "leaf_hash",
                                "kind",
                                "ts",
                                "external_id",
                                "account_id",
                                "model",
                                "record",
                            ),
                            entry,
                            strict=True,
                        )
                    )
                    for entry in (first, again, second)
                ],
            )
        migrate(engine)
        assert schema_revision(engine) == SCHEMA_REVISION
    finally:
        engine.dispose()
    opened = Store.open(db_url)
    try:
        found = ModelRepository(opened).registrations(["m"], 10)
        assert [r.leaf_hash for r in found] == [first.leaf_hash, second.leaf_hash]
        with pytest.raises(AlreadyRegisteredError):
            register_model(opened, record("m", "2", artefact="third"))
    finally:
        opened.close()
