"""Witness cosignatures: one row per checkpoint size and witness, the cosignature line a
witness (c2sp.org/tlog-witness) returned for the log's checkpoint note of that size.

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "witness_cosignatures",
        sa.Column("id", Seq, primary_key=True, autoincrement=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("witness", sa.String(1024), nullable=False),
        sa.Column("key_id", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("line", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        comment="cosignatures (c2sp.org/tlog-cosignature) witnesses returned for checkpoints",
    )
    op.create_index(
        "witness_cosignatures_size",
        "witness_cosignatures",
        ["tree_size", "witness", "key_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("witness_cosignatures_size", "witness_cosignatures")
    op.drop_table("witness_cosignatures")
