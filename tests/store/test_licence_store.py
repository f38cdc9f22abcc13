"""Licence records and their registry calls in SQL, on both backends: all or nothing,
refusals store nothing, compare-and-swap moves; migration 0004 on an older database."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select

from ledger.core.records import RecordError, now_ts
from ledger.errors import LedgerError, NotFoundError
from ledger.service.licences import LicenceConflictError, grant, read_licence, revoke
from ledger.store.anchors import AnchorRepository
from ledger.store.db import MIGRATIONS, SCHEMA_REVISION, create_db_engine, migrate, schema_revision
from ledger.store.licences import (
    CallAction,
    CallStatus,
    IssuerState,
    LicenceRepository,
    StaleLicenceCallError,
)
from ledger.store.repository import Store, StoreError
from ledger.store.schema import deployment, entries


def licence(licence_id: str = "lic-1", **changes: Any) -> dict[str, Any]:
    body = {
        "action": "grant",
        "licence_id": licence_id,
        "licensee": "acme",
        "models": ["frontier-large"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": "2026-01-01T00:00:00.000Z",
        "valid_until": "2027-01-01T00:00:00.000Z",
    }
    return body | changes


def stored(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(entries)).scalar_one())


def test_grant_amend_revoke_queue_their_calls(store: Store) -> None:
    repo = LicenceRepository(store)
    first = grant(repo, licence(), now=now_ts())
    second = grant(
        repo, licence(action="amend", valid_until="2028-01-01T00:00:00.000Z"), now=now_ts()
    )
    assert second.seq == first.seq + 1
    revoked = revoke(repo, "lic-1", "breach", now=now_ts())
    calls = repo.calls("lic-1")
    assert [(c.action, c.commitment, c.record_hash) for c in calls] == [
        (CallAction.GRANT, first.entry.leaf_hash, first.entry.leaf_hash),
        (CallAction.GRANT, second.entry.leaf_hash, second.entry.leaf_hash),
        (CallAction.REVOKE, first.entry.leaf_hash, second.entry.leaf_hash),
        (CallAction.REVOKE, second.entry.leaf_hash, revoked.entry.leaf_hash),
    ]
    assert {c.status for c in calls} == {CallStatus.PENDING}
    assert (calls[1].valid_from, calls[1].valid_until) == (1767225600, 1830297600)
    current = read_licence(repo, "lic-1")
    assert current.commitment == second.entry.leaf_hash and current.revocation == calls[3]
    assert current.status(1767225600) == "revoked"
    assert stored(store) == 3


@pytest.mark.parametrize(
    ("setup", "request_", "error", "text"),
    [
        ([], licence(action="amend"), NotFoundError, "grant it first"),
        ([licence()], licence(), LicenceConflictError, "exists already"),
        (
            [licence()],
            licence(action="amend", licensee="other"),
            LicenceConflictError,
            "keeps the licensee",
        ),
        ([], licence(valid_until="2026-01-01T00:00:00.999Z"), RecordError, "one whole second"),
        ([], licence(action="revoke"), RecordError, "revoke the licence instead"),
        (
            [],
            {"v": 1, "kind": "digest", "body": {"sha256": "ab" * 32}},
            RecordError,
            "must be 'licence'",
        ),
        ([], licence(valid_until=None), RecordError, "valid_until is required"),
        ([], [licence()], RecordError, "must be a JSON object"),
    ],
    ids=[
        "amend-unknown",
        "grant-twice",
        "other-licensee",
        "window-under-a-second",
        "revoke-action",
        "other-kind",
        "missing-field",
        "not-an-object",
    ],
)
def test_refusals_store_nothing(
    store: Store, setup: list[Any], request_: Any, error: type[Exception], text: str
) -> None:
    repo = LicenceRepository(store)
    for document in setup:
        grant(repo, document, now=now_ts())
    before = (stored(store), repo.calls("lic-1"))
    with pytest.raises(error, match=text):
        grant(repo, request_, now=now_ts())
    assert (stored(store), repo.calls("lic-1")) == before


def test_revoked_licences_refuse_amend_and_revoke(store: Store) -> None:
    repo = LicenceRepository(store)
    grant(repo, licence(), now=now_ts())
    revoke(repo, "lic-1", now=now_ts())
    count = stored(store)
    with pytest.raises(LicenceConflictError, match="revoked already"):
        revoke(repo, "lic-1", now=now_ts())
    with pytest.raises(LicenceConflictError, match="cannot be amended"):
        grant(repo, licence(action="amend"), now=now_ts())
    with pytest.raises(NotFoundError, match="no licence has id 'lic-2'"):
        revoke(repo, "lic-2", now=now_ts())
    assert stored(store) == count


def test_the_same_record_twice_is_refused(store: Store) -> None:
    repo = LicenceRepository(store)
    grant(repo, licence(), now=now_ts())
    amendment = {
        "v": 1,
        "kind": "licence",
        "salt": "00" * 16,
        "ts": "2026-01-01T00:00:00.000Z",
        "body": licence(action="amend"),
    }
    grant(repo, amendment, now=now_ts())
    count, calls = stored(store), repo.calls("lic-1")
    with pytest.raises(LedgerError, match="in the log already"):
        grant(repo, amendment, now=now_ts())  # passes the licence's checks, not the log's
    assert (stored(store), repo.calls("lic-1")) == (count, calls)


def test_calls_move_by_compare_and_swap(store: Store) -> None:
    repo = LicenceRepository(store)
    grant(repo, licence(), now=now_ts())
    (pending,) = repo.pending_grants(10)
    (submitted,) = repo.submit([pending], b"\x01" * 32, 7, now_ts())
    assert (submitted.status, submitted.attempts, submitted.nonce) == (CallStatus.SUBMITTED, 1, 7)
    with pytest.raises(StaleLicenceCallError, match="no longer pending"):
        repo.submit([pending], b"\x02" * 32, 8, now_ts())
    with pytest.raises(StoreError, match="only pending"):
        repo.submit([submitted], b"\x02" * 32, 8, now_ts())
    assert repo.ready_revokes(10) == []
    (confirmed,) = repo.confirm([submitted], b"\x01" * 32, 42, now_ts())
    assert (confirmed.status, confirmed.block_number) == (CallStatus.CONFIRMED, 42)
    assert repo.count_by_status() == {
        CallStatus.PENDING: 0,
        CallStatus.SUBMITTED: 0,
        CallStatus.CONFIRMED: 1,
        CallStatus.FAILED: 0,
    }
    with pytest.raises(StoreError, match="a confirmed registry call cannot fail"):
        repo.fail([confirmed], "no", now_ts())
    revoke(repo, "lic-1", now=now_ts())
    assert [c.action for c in repo.ready_revokes(10)] == [CallAction.REVOKE]


def test_a_failed_call_stays_failed_and_strands_its_revokes(store: Store) -> None:
    """pending -> failed by compare-and-swap, with its reason; a revoke of a commitment
    whose grant failed is stranded (never ready), and the issuer's state counts both."""
    repo = LicenceRepository(store)
    grant(repo, licence(), now=now_ts())
    (pending,) = repo.pending_grants(10)
    assert repo.issuer_state() == IssuerState(pending=1, submitted=0, failed=0, last_error=None)
    (failed,) = repo.fail([pending], "the registry refuses it: because", now_ts())
    assert (failed.status, failed.last_error, failed.attempts) == (
        CallStatus.FAILED,
        "the registry refuses it: because",
        0,
    )
    with pytest.raises(StaleLicenceCallError, match="no longer pending"):
        repo.fail([pending], "again", now_ts())
    assert repo.pending_grants(10) == [] and repo.grant_of(failed.commitment) == failed
    assert repo.grant_of(b"\x00" * 32) is None
    revoke(repo, "lic-1", now=now_ts())
    assert repo.ready_revokes(10) == []
    (stranded,) = repo.stranded_revokes(10)
    assert (stranded.action, stranded.commitment) == (CallAction.REVOKE, failed.commitment)
    assert repo.issuer_state() == IssuerState(
        pending=1,
        submitted=0,
        failed=1,
        last_error="the registry refuses it: because",
        failing=1,
    )
    repo.note_error([stranded], "the chain is unreachable", now_ts())
    assert repo.issuer_state().last_error == "the chain is unreachable"  # the latest


def test_migration_0004_keeps_an_older_deployment_without_registry(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        with engine.begin() as connection:
            connection.execute(
                insert(deployment).values(
                    id=1,
                    chain_id=31337,
                    contract=b"\x01" * 20,
                    log_id=b"\x02" * 32,
                    log_name="model-ledger",
                    deployer=b"\x03" * 20,
                    block_number=1,
                    created_at="2026-01-01T00:00:00.000Z",
                )
            )
        migrate(engine)
        assert schema_revision(engine) == SCHEMA_REVISION
    finally:
        engine.dispose()
    opened = Store.open(db_url)
    try:
        repo = AnchorRepository(opened)
        found = repo.deployment()
        assert found is not None and found.registry is None and found.log_name == "model-ledger"
        assert repo.record_registry(b"\x04" * 20).registry == b"\x04" * 20
        with pytest.raises(StoreError, match="with a LicenceRegistry already"):
            repo.record_registry(b"\x05" * 20)
    finally:
        opened.close()


def test_failing_counts_the_failed_calls_that_still_matter(store: Store) -> None:
    """A failed grant counts until an amendment replaces its commitment; the revocation
    of a commitment never granted never counts; a failed revocation of a commitment the
    registry holds always counts (the chain says active, the log says revoked)."""
    repo = LicenceRepository(store)
    assert repo.failing_count() == 0 and repo.issuer_state().failing == 0
    grant(repo, licence("lic-a"), now=now_ts())
    (first,) = repo.pending_grants(10)
    repo.fail([first], "refused", now_ts())
    assert repo.failing_count() == 1
    grant(repo, licence("lic-a", action="amend"), now=now_ts())  # a new commitment ...
    (replacement,) = repo.pending_grants(10)
    (stranded,) = repo.stranded_revokes(10)  # ... and the revoke of the one never granted
    repo.fail([stranded], "nothing to revoke", now_ts())
    assert repo.failing_count() == 0  # both failures are moot
    repo.fail([replacement], "refused again", now_ts())
    assert repo.failing_count() == 1  # the current grant failed: it matters
    grant(repo, licence("lic-b"), now=now_ts())
    (granted,) = repo.pending_grants(10)
    (submitted,) = repo.submit([granted], b"\x03" * 32, 1, now_ts())
    repo.confirm([submitted], b"\x03" * 32, 5, now_ts())
    revoke(repo, "lic-b", now=now_ts())
    (revocation,) = repo.ready_revokes(10)
    repo.fail([revocation], "the registry refuses the revocation", now_ts())
    assert repo.failing_count() == 2
    state = repo.issuer_state()
    assert (state.failed, state.failing) == (4, 2)
