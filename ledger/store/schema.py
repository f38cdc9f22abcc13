"""SQL tables of the log (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

# SQLite makes an INTEGER PRIMARY KEY the rowid: contiguous, no gaps after a rollback.
Seq = BigInteger().with_variant(Integer(), "sqlite")


def _lookup_index(name: str, *columns: str) -> Index:
    """An index of entries by a lookup column, only of the entries that have a value (an
    erased entry's are NULL: migration 0012)."""
    where = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


entries = Table(
    "entries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True, comment="arrival order"),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ts", String(24), nullable=False, comment="RFC 3339 UTC, milliseconds"),
    Column("external_id", String(256)),
    Column("account_id", String(256)),
    Column("model", String(256)),
    Column("record", LargeBinary, nullable=False, comment="RFC 8785 canonical bytes"),
    Column("erased_at", String(24), comment="null: not erased"),
    Column(
        "erased_by",
        LargeBinary(32),
        comment="leaf hash of the digest record that logged the erasure",
    ),
    Column(
        "key_hashes",
        LargeBinary,
        comment="an erased entry's index key hashes, 32 bytes each (null: not erased)",
    ),
    Index("entries_leaf_hash", "leaf_hash", unique=True),
    _lookup_index("entries_external_id", "external_id"),
    _lookup_index("entries_account_ts", "account_id", "ts"),
    _lookup_index("entries_model", "model"),
    Index(
        "entries_erased_by",
        "erased_by",
        "seq",
        sqlite_where=text("erased_by IS NOT NULL"),
        postgresql_where=text("erased_by IS NOT NULL"),
    ),
)

runs = Table(
    "runs",
    metadata,
    Column("first_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("first_index", BigInteger, nullable=False),
    Index("runs_first_index", "first_index", unique=True),
    comment="contiguous runs of sequenced entries: leaf_index = first_index + seq - first_seq",
)

tiles = Table(
    "tiles",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("width", SmallInteger, nullable=False),
    Column("hashes", LargeBinary, nullable=False, comment="width * 32 bytes"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("created_at", String(24), nullable=False),
    Column("last_seq", BigInteger, nullable=False, comment="highest entry seq sequenced"),
    Column("note", Text, comment="the checkpoint as a C2SP signed note (null: not signed yet)"),
)

log_state = Table(
    "log_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    comment="one row: the latest checkpoint, replaced by compare-and-swap on tree_size",
)

deployment = Table(
    "deployment",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False, comment="always 1"),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", LargeBinary(20), nullable=False, comment="LogAnchor address"),
    Column("log_id", LargeBinary(32), nullable=False),
    Column("log_name", String(256), nullable=False),
    Column("deployer", LargeBinary(20), nullable=False),
    Column("block_number", BigInteger, nullable=False, comment="block of the deployment"),
    Column("created_at", String(24), nullable=False),
    Column("registry", LargeBinary(20), comment="LicenceRegistry address (null: not deployed yet)"),
    comment="one row: the chain, contract and log id this database anchors to",
)

chain_calls = Table(
    "chain_calls",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False, comment="anchor | grant | revoke: the call"),
    # How far the call got: the outbox's state machine (ledger.store.outbox).
    Column(
        "status", String(16), nullable=False, comment="pending | submitted | confirmed | failed"
    ),
    Column("tx_hash", LargeBinary(32)),
    Column("nonce", BigInteger),
    Column("block_number", BigInteger),
    Column("block_hash", LargeBinary(32)),
    Column("block_timestamp", BigInteger, comment="seconds since the epoch, from the block"),
    Column("gas_used", BigInteger),
    Column("attempts", Integer, nullable=False, comment="transactions built for this call"),
    Column("last_error", String(1000)),
    Column("created_at", String(24), nullable=False),
    Column("updated_at", String(24), nullable=False),
    # anchor(logId, size, root, proof, signature) on LogAnchor (ledger.store.anchors)
    Column("tree_size", BigInteger),
    Column("root", LargeBinary(32)),
    Column("prev_size", BigInteger, comment="the chain's anchored size the proof started from"),
    # grant or revoke of a commitment on LicenceRegistry (ledger.store.licences)
    Column("licence_id", String(256)),
    Column("licensee", String(256)),
    Column("commitment", LargeBinary(32), comment="leaf hash of a grant or amend record"),
    Column("record_hash", LargeBinary(32), comment="leaf hash of the record that asked"),
    Column("valid_from", BigInteger, comment="unix seconds (grant only)"),
    Column("valid_until", BigInteger, comment="unix seconds, excluded (grant only)"),
    Index("chain_calls_tree_size", "tree_size", unique=True),
    Index("chain_calls_commitment", "commitment", "kind", unique=True),
    Index("chain_calls_licence", "licence_id"),
    Index("chain_calls_status", "kind", "status"),
    comment="the chain outbox: contract calls on their way to the chain",
)

index_nodes = Table(
    "index_nodes",
    metadata,
    Column("position", LargeBinary(33), primary_key=True, comment="2**depth + prefix, big endian"),
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("node", LargeBinary(72), nullable=False, comment="interior hash, or k||u64 n||P"),
    comment="the index map's nodes, a version per log size they were written at",
)

index_keys = Table(
    "index_keys",
    metadata,
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("key", String(300), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False, comment="right edge of the postings tree"),
    comment="each index key's postings count and frontier at the newest indexed size",
)

index_roots = Table(
    "index_roots",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("map_root", LargeBinary(32), nullable=False),
    Column("index_root", LargeBinary(32), nullable=False),
    comment="R(S) of every checkpoint sealed with the index",
)

index_blocks = Table(
    "index_blocks",
    metadata,
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("block", BigInteger, primary_key=True, autoincrement=False),
    Column("last_leaf", BigInteger, nullable=False, comment="leaf index of its last posting"),
    Column("root", LargeBinary(32), nullable=False),
    comment="roots of the complete blocks of 256 postings of each key's postings tree",
    sqlite_with_rowid=False,
)

witness_cosignatures = Table(
    "witness_cosignatures",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("witness", String(1024), nullable=False, comment="the witness's key name"),
    Column("key_id", BigInteger, nullable=False, comment="the witness's key ID (uint32)"),
    Column("timestamp", BigInteger, nullable=False, comment="the cosignature's time, unix s"),
    Column("line", String(2048), nullable=False, comment="the note signature line, no newline"),
    Column("created_at", String(24), nullable=False),
    Index("witness_cosignatures_size", "tree_size", "witness", "key_id", unique=True),
    comment="cosignatures (c2sp.org/tlog-cosignature) witnesses returned for checkpoints",
)

erased_postings = Table(
    "erased_postings",
    metadata,
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("first_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("seqs", LargeBinary, nullable=False),
    comment="erased entries by index key hash: seqs 8 bytes each, big endian, any order",
    sqlite_with_rowid=False,
)

statements = Table(
    "statements",
    metadata,
    Column("leaf_hash", LargeBinary(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", String(24), nullable=False),
    Column("body", LargeBinary, nullable=False),
    comment="documents the log commits to by digest record: erasure, hold, lift",
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("scope", String(16), nullable=False),
    Column("value", String(256), nullable=False),
    Column("reason", String(1024), nullable=False),
    Column("created_at", String(24), nullable=False),
    Column("added_by", LargeBinary(32), nullable=False),
    Column("lifted_at", String(24)),
    Column("lifted_by", LargeBinary(32)),
    Index("legal_holds_scope", "scope", "value"),
    comment="legal holds: an account or licence whose entries must not be erased",
)
