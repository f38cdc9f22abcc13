"""The log: entries, runs of sequenced entries, tiles, checkpoints, log state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("seq", Seq, sa.Identity(), primary_key=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ts", sa.String(24), nullable=False),
        sa.Column("external_id", sa.String(256)),
        sa.Column("account_id", sa.String(256)),
        sa.Column("model", sa.String(256)),
        sa.Column("record", sa.LargeBinary, nullable=False),
    )
    op.create_index("entries_leaf_hash", "entries", ["leaf_hash"], unique=True)
    op.create_index("entries_external_id", "entries", ["external_id"])
    op.create_index("entries_account_id", "entries", ["account_id"])
    op.create_table(
        "runs",
        sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("first_index", sa.BigInteger, nullable=False),
    )
    op.create_index("runs_first_index", "runs", ["first_index"], unique=True)
    op.create_table(
        "tiles",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("width", sa.SmallInteger, nullable=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("log_state", "checkpoints", "tiles", "runs", "entries"):
        op.drop_table(table)
