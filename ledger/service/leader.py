"""Leader election for the sequencer and the anchorer, through PostgreSQL advisory locks.

Several `mledger serve` processes may share one PostgreSQL log (on one machine or many).
Every one of them serves the API; the sequencer and the anchorer each run in exactly one
of them at a time, the process holding that role's session-level advisory lock. The
others are standbys: they try the lock every `poll` seconds and take over within about
that time after the leader's database session ends (a crash, SIGKILL, a lost network:
PostgreSQL releases a dead session's locks).

The lock is an optimisation, not the only guard: two sequencers cannot both commit a
seal (`log_state` moves by compare-and-swap), and the contract refuses any anchor that
is not a consistent extension of its latest one. So a leader that has not yet noticed
it lost its session (a network partition) wastes work but cannot fork the log.

SQLite has a single writer per file and no advisory locks: there, every process leads.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from ledger.store.repository import Store

ROLES = ("sequencer", "anchorer", "retention", "witnessing")


def lock_key(role: str) -> int:
    """The advisory lock key of a role: 64 bits of SHA-256, as PostgreSQL's signed bigint."""
    return int.from_bytes(
        hashlib.sha256(f"model-ledger/leader/{role}".encode()).digest()[:8], "big", signed=True
    )


class Leadership:
    """One role, held by at most one process of a PostgreSQL-backed log."""

    def __init__(self, store: Store, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        self.store = store
        self.role = role
        self.key = lock_key(role)
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this process held the role at the last acquire or check."""
        return not self.store.is_postgres or self._conn is not None

    def acquire(self) -> bool:
        """Take the role if no other process holds it; True if this process holds it now."""
        if not self.store.is_postgres:
            return True
        with self._lock:
            if self._conn is not None:
                return self._still_held()
            conn: Connection | None = None
            try:
                conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                won = bool(
                    conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
                    ).scalar_one()
                )
            except SQLAlchemyError:
                won = False
            if won:
                self._conn = conn
            elif conn is not None:
                conn.close()
            return won

    def check(self) -> bool:
        """Whether the role is still held: the session that holds the lock is alive."""
        if not self.store.is_postgres:
            return True
        with self._lock:
            return self._conn is not None and self._still_held()

    def _still_held(self) -> bool:
        # A session-level advisory lock lasts as long as its session: alive means held.
        assert self._conn is not None
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # the session may be dead: do not return it to the pool
            except SQLAlchemyError:
                pass

    def release(self) -> None:
        """Give the role up (ending the session releases the lock)."""
        with self._lock:
            self._drop()


def lead(
    leadership: Leadership,
    stop: threading.Event,
    work: Callable[[threading.Event], None],
    *,
    poll: float = 1.0,
    note: Callable[[str], None] = lambda _text: None,
) -> None:
    """Until `stop` is set: wait for the role, then run `work(term)`.

    `term` is set when `stop` is set or the role is lost; `work` must return soon after.
    A lost role is waited for again, so a former leader becomes a standby.
    """
    while not stop.is_set():
        if not leadership.acquire():
            stop.wait(poll)
            continue
        if leadership.store.is_postgres:
            note(f"leading as {leadership.role}")
        term = threading.Event()

        def watch(term: threading.Event = term) -> None:
            while not term.is_set():
                if stop.wait(poll) or not leadership.check():
                    term.set()

        watcher = threading.Thread(target=watch, name=f"{leadership.role}-lease", daemon=True)
        watcher.start()
        try:
            work(term)
        finally:
            term.set()
            watcher.join()
        if not stop.is_set():
            note(f"lost the {leadership.role} role; standing by")
    leadership.release()
