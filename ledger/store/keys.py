"""All SQL of API keys: create, find by presented secret, revoke.

Guarantees callers rely on:

- Only the SHA-256 of a key's secret is stored; the secret is returned once, by
  `create`, and never again.
- `authenticate` finds a key by the hash of the presented secret and compares the
  stored hash in constant time; a revoked key is never returned.
- Every write is its own committed transaction, durable once it returns.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.core.records import now_ts
from ledger.errors import InvalidRequestError, NotFoundError
from ledger.store.repository import Store
from ledger.store.schema import metadata

KEY_PREFIX = "mlk_"
"""Every generated key starts with this, so a leaked one is easy to recognise."""

MIN_KEY_LENGTH = 24
"""Shortest secret accepted for a bootstrap key chosen by an operator."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("licensee", String(256), comment="the licensee id a licensee key is scoped to"),
    Column("key_hash", LargeBinary(32), nullable=False, comment="SHA-256 of the secret"),
    Column("created_at", String(24), nullable=False),
    Column("revoked_at", String(24)),
    Index("api_keys_key_hash", "key_hash", unique=True),
)


class Role(StrEnum):
    """What a key may do. An admin key may do everything."""

    INGEST = "ingest"
    AUDITOR = "auditor"
    LICENSEE = "licensee"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    role: Role
    licensee: str | None
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class NewKey:
    """A key just created: `secret` is shown once and stored only as a hash."""

    key: ApiKey
    secret: str


def hash_secret(secret: str) -> bytes:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _check_role(role: str, licensee: str | None) -> Role:
    try:
        checked = Role(role)
    except ValueError:
        raise InvalidRequestError(
            f"unknown role {role!r}; expected one of {', '.join(r.value for r in Role)}"
        ) from None
    if checked is Role.LICENSEE and not licensee:
        raise InvalidRequestError("a licensee key needs --licensee ID")
    if checked is not Role.LICENSEE and licensee is not None:
        raise InvalidRequestError(
            f"only a licensee key is scoped to a licensee, not a {checked.value} key"
        )
    return checked


class KeyRepository:
    """The api_keys table on the log's store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _insert(self, key_id: str, role: Role, licensee: str | None, secret: str) -> ApiKey:
        created = now_ts()
        with self.store.transaction() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    role=role.value,
                    licensee=licensee,
                    key_hash=hash_secret(secret),
                    created_at=created,
                )
            )
        return ApiKey(key_id, role, licensee, created, None)

    def create(self, role: str, licensee: str | None = None) -> NewKey:
        """A new key with a random 32-byte secret."""
        checked = _check_role(role, licensee)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        return NewKey(self._insert("k_" + secrets.token_hex(8), checked, licensee, secret), secret)

    def ensure_admin(self, secret: str, key_id: str = "bootstrap") -> ApiKey:
        """Make sure an admin key with this operator-chosen secret exists (idempotent)."""
        if len(secret) < MIN_KEY_LENGTH:
            raise InvalidRequestError(
                f"a bootstrap admin key must be at least {MIN_KEY_LENGTH} characters"
            )
        found = self.authenticate(secret)
        if found is not None:
            if found.role is not Role.ADMIN:
                raise InvalidRequestError(
                    "the bootstrap key is already stored as key"
                    f" {found.id} with role {found.role.value}"
                )
            return found
        try:
            return self._insert(
                f"{key_id}_{hash_secret(secret)[:4].hex()}", Role.ADMIN, None, secret
            )
        except IntegrityError:  # created meanwhile, or revoked earlier
            found = self.authenticate(secret)
            if found is None:
                raise InvalidRequestError(
                    "the bootstrap admin key was revoked: choose another"
                ) from None
            return found

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key whose secret this is, or None."""
        presented = hash_secret(secret)
        with self.store.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == presented)).first()
        if (
            row is None
            or not hmac.compare_digest(bytes(row.key_hash), presented)
            or row.revoked_at is not None
        ):
            return None
        return ApiKey(row.id, Role(row.role), row.licensee, row.created_at, row.revoked_at)

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """Every key (live ones only unless `include_revoked`), oldest first; never a
        secret or its hash."""
        query = select(
            api_keys.c.id,
            api_keys.c.role,
            api_keys.c.licensee,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self.store.read() as conn:
            return [
                ApiKey(row.id, Role(row.role), row.licensee, row.created_at, row.revoked_at)
                for row in conn.execute(query)
            ]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key; refused for an unknown or already revoked id."""
        now = now_ts()
        with self.store.transaction() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
            if row is None:
                raise NotFoundError(f"no API key has id {key_id!r}")
            if row.revoked_at is not None:
                raise InvalidRequestError(
                    f"API key {key_id!r} was already revoked at {row.revoked_at}"
                )
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
        return ApiKey(row.id, Role(row.role), row.licensee, row.created_at, now)
