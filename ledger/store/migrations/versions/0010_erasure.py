"""Erasure: an entry's stored opening (record bytes and lookup values) can be destroyed
while its leaf hash stays. `entries.erased_at` and `erased_by` mark an erased entry (the
time and the leaf hash of the digest record that logged its erasure); `erased_keys`
keeps the index postings of erased entries by key hash, so completeness proofs still
verify (and by seq, for the erased export lines that carry them); `statements` keeps
the documents whose SHA-256 the log's erasure, hold and lift digest records commit to;
`legal_holds` lists holds that block erasure.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(
            sa.Column("erased_at", sa.String(24), nullable=True, comment="null: not erased")
        )
        batch.add_column(
            sa.Column(
                "erased_by",
                sa.LargeBinary(32),
                nullable=True,
                comment="leaf hash of the digest record that logged the erasure",
            )
        )
    op.create_table(
        "erased_keys",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        comment="index postings of erased entries: SHA-256 of the key string, entry seq",
        sqlite_with_rowid=False,  # one B-tree, not a table and its primary key index
    )
    # An export reads an erased entry's key hashes by seq (its erased line carries them).
    op.create_index("erased_keys_seq", "erased_keys", ["seq"])
    op.create_table(
        "statements",
        sa.Column("leaf_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        comment="documents the log commits to by digest record: erasure, hold, lift",
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("reason", sa.String(1024), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("added_by", sa.LargeBinary(32), nullable=False),
        sa.Column("lifted_at", sa.String(24), nullable=True),
        sa.Column("lifted_by", sa.LargeBinary(32), nullable=True),
        comment="legal holds: an account or licence whose entries must not be erased",
    )
    op.create_index("legal_holds_scope", "legal_holds", ["scope", "value"])


def downgrade() -> None:
    op.drop_index("legal_holds_scope", "legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("statements")
    op.drop_index("erased_keys_seq", "erased_keys")
    op.drop_table("erased_keys")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("erased_by")
        batch.drop_column("erased_at")
