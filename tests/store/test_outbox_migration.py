"""Migration 0006 moves every anchor and licence registry call into the chain outbox
(`chain_calls`), state, transaction and block as they were, on both backends; the
downgrade moves them back."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from ledger.store.anchors import AnchorRepository
from ledger.store.db import MIGRATIONS, SCHEMA_REVISION, create_db_engine, migrate, schema_revision
from ledger.store.licences import CallStatus, LicenceRepository
from ledger.store.repository import Store


def h(n: int) -> bytes:
    return bytes([n]) * 32


ANCHORS: list[dict[str, Any]] = [
    {
        "tree_size": 5,
        "root": h(1),
        "prev_size": 0,
        "status": "confirmed",
        "tx_hash": h(2),
        "nonce": 0,
        "block_number": 7,
        "block_hash": h(3),
        "block_timestamp": 1_780_000_000,
        "gas_used": 77_426,
        "attempts": 1,
        "last_error": None,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:01.000Z",
    },
    {
        "tree_size": 9,
        "root": h(4),
        "prev_size": 5,
        "status": "submitted",
        "tx_hash": h(5),
        "nonce": 1,
        "block_number": None,
        "block_hash": None,
        "block_timestamp": None,
        "gas_used": None,
        "attempts": 2,
        "last_error": "node unreachable",
        "created_at": "2026-01-01T00:00:02.000Z",
        "updated_at": "2026-01-01T00:00:03.000Z",
    },
    {
        "tree_size": 12,
        "root": h(6),
        "prev_size": None,
        "status": "pending",
        "tx_hash": None,
        "nonce": None,
        "block_number": None,
        "block_hash": None,
        "block_timestamp": None,
        "gas_used": None,
        "attempts": 0,
        "last_error": None,
        "created_at": "2026-01-01T00:00:04.000Z",
        "updated_at": "2026-01-01T00:00:04.000Z",
    },
]


def call(n: int, action: str, status: str, **values: Any) -> dict[str, Any]:
    return {
        "licence_id": f"lic-{n % 2}",
        "licensee": "acme",
        "action": action,
        "commitment": h(20 + n),
        "record_hash": h(40 + n),
        "valid_from": 1_700_000_000 if action == "grant" else None,
        "valid_until": 1_800_000_000 if action == "grant" else None,
        "status": status,
        "tx_hash": None,
        "nonce": None,
        "block_number": None,
        "attempts": 0,
        "last_error": None,
        "created_at": f"2026-01-02T00:00:0{n}.000Z",
        "updated_at": f"2026-01-02T00:00:0{n}.000Z",
    } | values


CALLS = [
    call(1, "grant", "confirmed", tx_hash=h(60), nonce=2, block_number=8, attempts=1),
    call(2, "grant", "submitted", tx_hash=h(61), nonce=3, attempts=1),
    call(3, "grant", "pending", last_error="transaction dropped", attempts=1, tx_hash=h(62)),
    call(4, "grant", "failed", last_error="the registry refuses it"),
    call(1, "revoke", "pending", commitment=h(21)),
]
CALLS[4]["record_hash"] = h(99)


def insert(engine: Engine, table: str, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for row in rows:
            names = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)


def select(engine: Engine, table: str, names: list[str], order: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}"))
        return [
            {
                name: bytes(value) if isinstance(value, memoryview) else value
                for name, value in zip(names, row, strict=True)
            }
            for row in rows
        ]


def alembic(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_migration_0006_moves_every_chain_call_and_back(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        alembic(engine, "upgrade", "0005")
        insert(engine, "anchors", ANCHORS)
        insert(engine, "licence_commitments", CALLS)
        migrate(engine)
        assert schema_revision(engine) == SCHEMA_REVISION  # 0006 and any migration after it
        # The former shapes stay readable, as views of the outbox.
        assert select(engine, "anchors", list(ANCHORS[0]), "tree_size") == ANCHORS
        assert select(engine, "licence_commitments", list(CALLS[0]), "id") == CALLS
        kinds = select(engine, "chain_calls", ["kind", "tree_size", "licence_id"], "id")
        assert [row["kind"] for row in kinds] == ["anchor"] * 3 + ["grant"] * 4 + ["revoke"]
    finally:
        engine.dispose()

    store = Store.open(db_url)
    try:
        anchors = AnchorRepository(store).anchors()
        assert [
            {name: getattr(anchor, name) for name in ANCHORS[0]} for anchor in anchors
        ] == ANCHORS
        licences = LicenceRepository(store)
        moved = licences.calls("lic-1") + licences.calls("lic-0")
        assert sorted(
            (
                {
                    name: getattr(found, name).value
                    if name in ("action", "status")
                    else getattr(found, name)
                    for name in CALLS[0]
                }
                for found in moved
            ),
            key=lambda row: row["created_at"] + row["action"],
        ) == sorted(CALLS, key=lambda row: row["created_at"] + row["action"])
        # The moved rows go on moving by compare-and-swap.
        submitted = licences.submitted()
        assert [c.commitment for c in submitted] == [h(22)]
        licences.confirm(submitted, h(61), 9, "2026-01-03T00:00:00.000Z")
        assert licences.count_by_status()[CallStatus.CONFIRMED] == 2
    finally:
        store.close()

    engine = create_db_engine(db_url)
    try:
        alembic(engine, "downgrade", "0005")
        assert select(engine, "anchors", list(ANCHORS[0]), "tree_size") == ANCHORS
        back = select(engine, "licence_commitments", list(CALLS[0]), "id")
        assert back[1] == CALLS[1] | {
            "status": "confirmed",
            "block_number": 9,
            "updated_at": "2026-01-03T00:00:00.000Z",
        }
        assert back[:1] + back[2:] == CALLS[:1] + CALLS[2:]
        assert schema_revision(engine) == "0005"
    finally:
        engine.dispose()
