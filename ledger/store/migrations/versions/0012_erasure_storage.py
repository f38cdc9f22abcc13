"""Erasure storage that costs less to write (erasing 100,000 entries, docs/privacy.md):

- The lookup indexes of entries (external_id, account_id, model) hold only entries that
  have the value. Erasure sets the three columns NULL; an index entry for each NULL was
  three more index insertions per erased entry, in index pages no query reads (every
  lookup is by value, which implies NOT NULL, so both databases' planners use the
  partial indexes).
- An erased entry's index key hashes (32 bytes each) are in its own row,
  `entries.key_hashes` (NULL unless erased), where the export reads them by seq; and
  `erased_postings` keeps them by key, one row per key and erasure with the erased seqs
  packed (8 bytes each, big endian, in no particular order: readers sort), where
  completeness proofs read them.
  They replace `erased_keys`, one row per key and erased entry with two indexes: two
  index insertions per posting, 200,000 postings for 100,000 interactions.

Existing erased entries' postings are moved; downgrade moves them back.

Revision ID: 0012
Revises: 0011
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LOOKUPS = (
    ("entries_external_id", ("external_id",)),
    ("entries_account_ts", ("account_id", "ts")),
    ("entries_model", ("model",)),
)
"""Index name, columns; the first column is the one an erasure sets NULL."""


def upgrade() -> None:
    for name, columns in LOOKUPS:
        op.drop_index(name, "entries")
        where = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(name, "entries", list(columns), postgresql_where=where, sqlite_where=where)
    comment = "an erased entry's index key hashes, 32 bytes each (null: not erased)"
    op.add_column("entries", sa.Column("key_hashes", sa.LargeBinary, comment=comment))
    op.create_table(
        "erased_postings",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seqs", sa.LargeBinary, nullable=False),
        comment="erased entries by index key hash: seqs 8 bytes each, big endian, any order",
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    by_seq: dict[int, list[bytes]] = defaultdict(list)
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for key, seq in bind.execute(sa.text("SELECT key_hash, seq FROM erased_keys ORDER BY seq")):
        by_seq[int(seq)].append(bytes(key))
        by_key[bytes(key)].append(int(seq))
    if by_key:
        bind.execute(
            sa.text("INSERT INTO erased_postings VALUES (:k, :f, :s)"),
            [
                {"k": key, "f": seqs[0], "s": b"".join(s.to_bytes(8, "big") for s in seqs)}
                for key, seqs in by_key.items()
            ],
        )
    if by_seq:
        bind.execute(
            sa.text("UPDATE entries SET key_hashes = :h WHERE seq = :s"),
            [{"h": b"".join(sorted(keys)), "s": seq} for seq, keys in by_seq.items()],
        )
    bind.execute(
        sa.text(
            "UPDATE entries SET key_hashes = :empty WHERE erased_at IS NOT NULL"
            " AND key_hashes IS NULL"
        ),
        {"empty": b""},
    )
    op.drop_index("erased_keys_seq", "erased_keys")
    op.drop_table("erased_keys")


def downgrade() -> None:
    op.create_table(
        "erased_keys",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        comment="index postings of erased entries: SHA-256 of the key string, entry seq",
        sqlite_with_rowid=False,
    )
    op.create_index("erased_keys_seq", "erased_keys", ["seq"])
    bind = op.get_bind()
    rows = [
        {"k": bytes(key), "s": int.from_bytes(seqs[i : i + 8], "big")}
        for key, _, seqs in bind.execute(sa.text("SELECT * FROM erased_postings"))
        for i in range(0, len(seqs), 8)
    ]
    if rows:
        bind.execute(sa.text("INSERT INTO erased_keys (key_hash, seq) VALUES (:k, :s)"), rows)
    op.drop_table("erased_postings")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("key_hashes")
    for name, columns in LOOKUPS:
        op.drop_index(name, "entries")
        op.create_index(name, "entries", list(columns))
